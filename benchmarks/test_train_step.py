"""One training iteration of every registered model (``bench.registries.models()`` at run time), CPU.

Each model is built at width 16, batch 32, latent 32 on the offline 32 px ``shapes`` dataset, warmed up for 3
iterations, then one ``train_step`` (the paper's whole iteration: all its updates, in order) is timed for 5
rounds. Asserted: every logged value is finite and the timed steps changed the parameters. The FLOPs of one
iteration (``torch.utils.flop_counter``) are recorded beside the time (``extra_info``).
"""

from __future__ import annotations

import math

import pytest
import torch

from bench.registries import models
from bench.trainer import BatchStream
from benchmarks.common import build
from benchmarks.flops import count_step_flops

CPU = torch.device("cpu")


@pytest.mark.parametrize("name", models().names())
def test_train_step(benchmark, name: str, shapes) -> None:  # noqa: ANN001
    model = build(name, shapes.spec, steps=1000)
    model.optimizers = model.configure_optimizers()
    stream = BatchStream(shapes.train, model.cfg.batch_size, seed=0, device=CPU)
    state = {"step": 0, "out": {}}

    def one() -> None:
        state["out"] = model.train_step(stream, state["step"])
        state["step"] += 1

    for _ in range(3):
        one()
    before = [p.detach().clone() for p in model.parameters()]
    benchmark.pedantic(one, rounds=5, iterations=1, warmup_rounds=0)
    assert all(math.isfinite(float(v)) for v in state["out"].values()), state["out"]
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters(), strict=True))
    benchmark.extra_info.update(model=name, width=model.cfg.width, batch=model.cfg.batch_size,
                                image=list(shapes.spec.shape), flops_per_step=count_step_flops(model, stream, state["step"]))
