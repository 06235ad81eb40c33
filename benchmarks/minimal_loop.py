"""The minimal hand-written training loop the suite's trainer is measured against (issue #7).

It is what a user would write around a model's ``train_step`` with nothing else: the same data order as
:class:`bench.trainer.BatchStream` (epoch ``e`` is a ``randperm`` seeded by ``seed * 1_000_003 + e``, last
incomplete batch dropped) and the same seeding, but no logging, no checkpoints, no divergence checks and no
progress bar. ``tests/test_training_options.py`` asserts that it yields bit-identical parameters to the trainer
(so the trainer adds no hidden computation) and ``benchmarks/test_trainer_overhead.py`` times the two.
"""

from __future__ import annotations

import torch
from torch import Tensor

from bench.data.base import Split
from models.base import Model


def minimal_loop(model: Model, split: Split, steps: int, seed: int, device: torch.device) -> None:
    """Train ``model`` for ``steps`` iterations of its paper's algorithm (its ``train_step``) on ``split``."""
    bs = model.cfg.batch_size
    n = len(split)
    per_epoch = max(n // bs, 1)
    model.optimizers = model.configure_optimizers()
    torch.manual_seed(seed)
    perms: dict[int, Tensor] = {}
    position = 0

    def real() -> Tensor:
        nonlocal position
        epoch, k = divmod(position, per_epoch)
        if epoch not in perms:
            perms.clear()
            perms[epoch] = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
        position += 1
        return split.batch(perms[epoch][k * bs:(k + 1) * bs]).to(device)

    for step in range(steps):
        model.train()
        model.train_step(real, step)
