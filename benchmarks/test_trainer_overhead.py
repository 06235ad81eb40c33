"""The suite's trainer against a minimal hand-written loop for the same model (issue #7 target: <= 5 % on CPU).

For every registered model: two identical models (same seed), ``STEPS`` iterations each, timed interleaved
(minimal, trainer, minimal, trainer, ...) ``REPEATS`` times; the fastest of each is kept (the minimum is the
estimate least disturbed by other processes). The trainer runs as in a real run: logging every 50 steps to
``log.jsonl``, divergence checks, the final atomic checkpoint (no intermediate one), no progress bar.
The two loops compute the same thing (tests/test_training_options.py asserts bit-identical parameters).
Asserted: the overhead (trainer / minimal − 1) is at most 5 % and both loops ended with equal parameters.
Results: ``results/perf/trainer_overhead-cpu.json``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest
import torch

from bench.registry import models
from bench.trainer import Trainer
from benchmarks.common import build
from benchmarks.conftest import OVERHEAD
from benchmarks.minimal_loop import minimal_loop

CPU = torch.device("cpu")
STEPS, REPEATS, MAX_OVERHEAD = 20, 2, 0.05


@pytest.mark.parametrize("name", models().names())
def test_trainer_overhead(name: str, shapes) -> None:  # noqa: ANN001
    t_min, t_tr = [], []
    for _ in range(REPEATS):
        a = build(name, shapes.spec, steps=STEPS)
        t0 = time.perf_counter()
        minimal_loop(a, shapes.train, STEPS, seed=0, device=CPU)
        t_min.append(time.perf_counter() - t0)
        b = build(name, shapes.spec, steps=STEPS)
        with tempfile.TemporaryDirectory(prefix="perf-overhead-") as d:
            t0 = time.perf_counter()
            result = Trainer(b, shapes.train, Path(d), seed=0, steps=STEPS, device=CPU, log_every=50,
                             checkpoint_every=10**9, progress=False).fit()
            t_tr.append(time.perf_counter() - t0)
        assert result.status == "completed"
        sa, sb = a.state_dict(), b.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa), "trainer and minimal loop diverged"
    overhead = min(t_tr) / min(t_min) - 1.0
    OVERHEAD[name] = {"steps": STEPS, "repeats": REPEATS, "minimal_s": min(t_min), "trainer_s": min(t_tr),
                      "minimal_all_s": t_min, "trainer_all_s": t_tr, "overhead": overhead,
                      "per_step_ms": 1000 * min(t_min) / STEPS}
    assert overhead <= MAX_OVERHEAD, f"{name}: trainer overhead {overhead:.1%} > {MAX_OVERHEAD:.0%}"
