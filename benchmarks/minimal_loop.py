"""The minimal hand-written training loop the suite's trainer is measured against (issue #7).

It is what a user would write around a model's ``train_step`` with nothing else: the same data order as
:class:`bench.trainer.BatchStream` (epoch ``e`` is a ``randperm`` seeded by ``seed * 1_000_003 + e``, last
incomplete batch dropped) and the same seeding, but no logging, no checkpoints, no divergence checks and no
progress bar. It makes the trainer's kernel and layout choices of issue #29 (the native-kernel image-output
and image-input convolutions, and the per-model channels_last default, with the speed-ups on): they decide the
model's arithmetic, as the model's own layers do. ``tests/test_training_options.py`` asserts that it yields
bit-identical parameters to the trainer (so the trainer adds no hidden computation) and
``benchmarks/test_trainer_overhead.py`` times the two.
"""

from __future__ import annotations

import torch
from torch import Tensor

from bench.data.base import Split
from models.base import Model, speedups_enabled, use_native_output_convolutions


def minimal_loop(model: Model, split: Split, steps: int, seed: int, device: torch.device) -> None:
    """Train ``model`` for ``steps`` iterations of its paper's algorithm (its ``train_step``) on ``split``."""
    from bench.trainer import channels_last_default

    bs = model.cfg.batch_size
    n = len(split)
    if speedups_enabled() and device.type == "cpu":
        use_native_output_convolutions(model)
    layout = torch.channels_last if channels_last_default(model) else None
    if layout is not None:
        model.to(memory_format=layout)
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
        x = split.batch(perms[epoch][k * bs:(k + 1) * bs]).to(device)
        return x.contiguous(memory_format=layout) if layout is not None and x.dim() == 4 else x

    for step in range(steps):
        model.train()
        model.train_step(real, step)
