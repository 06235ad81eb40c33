"""The suite's trainer against a minimal hand-written loop for the same model (issue #7 target: <= 5 % on CPU).

For every registered model, one torch thread: the number of steps is chosen so that one loop lasts about
``TARGET_S`` seconds (from a 5-step probe; between ``MIN_STEPS`` and ``MAX_STEPS``), because the trainer's
one-off costs (run directory, final atomic checkpoint, ~10-30 ms) are amortised over 50k steps in a real run
and would otherwise dominate a 0.3 s loop of a fast model. Two identical models (same seed) then run that
many iterations each, ``REPEATS`` times with the order alternating (minimal first, then trainer first, ...).

- overhead: the median over repeats of trainer / minimal − 1 within each adjacent pair (the two runs of a
  pair share the machine's conditions, so slow drifts of the shared machine cancel); min/min is recorded too;
- outside_train_step: measured inside the trainer run itself (no second run to compare with, so no noise
  between runs): wall time outside the model's ``train_step`` (loop, logging, divergence checks, checkpoint)
  as a share of the time inside it.

The trainer runs as in a real run: logging every 50 steps to ``log.jsonl``, divergence checks, the final
atomic checkpoint (none in between: at the default ``checkpoint_every`` = 500 one costs ~20 ms per 500
steps), no progress bar. Both loops compute the same thing (bit-identical parameters, asserted here and in
tests/test_training_options.py). Asserted: outside_train_step <= 5 % (the trainer's own cost, the target), and
the between-run overhead <= 10 % (on this shared 2-core machine two identical loops differ by up to ±6 % from
run to run, so that figure cannot resolve 5 %; it is the check that the trainer adds no hidden work inside the
step, which would show as a larger gap). Results: ``results/perf/trainer_overhead-cpu.json``.
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from pathlib import Path

import pytest
import torch

from bench.registries import models
from bench.trainer import Trainer
from benchmarks.common import build
from benchmarks.conftest import OVERHEAD
from benchmarks.minimal_loop import minimal_loop

CPU = torch.device("cpu")
TARGET_S, MIN_STEPS, MAX_STEPS, PROBE_STEPS, REPEATS = 1.5, 20, 400, 5, 4
MAX_OVERHEAD, MAX_BETWEEN_RUNS = 0.05, 0.10


def steps_for(name: str, shapes) -> int:  # noqa: ANN001
    """Iterations for a loop of about ``TARGET_S`` seconds, from a short probe of the minimal loop."""
    probe = build(name, shapes.spec, steps=PROBE_STEPS)
    t0 = time.perf_counter()
    minimal_loop(probe, shapes.train, PROBE_STEPS, seed=0, device=CPU)
    per_step = (time.perf_counter() - t0) / PROBE_STEPS
    return max(MIN_STEPS, min(MAX_STEPS, math.ceil(TARGET_S / per_step)))


@pytest.fixture
def one_thread():  # noqa: ANN201
    """One torch thread: on the 2-core machine two threads wait on each other at every op, which turns any
    background activity into ±10 % noise between identical loops; one thread measures the loop itself."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("name", models().names())
def test_trainer_overhead(name: str, shapes, one_thread) -> None:  # noqa: ANN001
    steps = steps_for(name, shapes)
    t_min, t_tr = [], []

    def run_minimal() -> object:
        a = build(name, shapes.spec, steps=steps)
        t0 = time.perf_counter()
        minimal_loop(a, shapes.train, steps, seed=0, device=CPU)
        t_min.append(time.perf_counter() - t0)
        return a

    inside: list[float] = []  # per trainer run: seconds spent inside train_step

    def run_trainer() -> object:
        b = build(name, shapes.spec, steps=steps)
        step_fn, spent = b.train_step, [0.0]

        def timed_step(real, step):  # noqa: ANN001, ANN202
            t = time.perf_counter()
            out = step_fn(real, step)
            spent[0] += time.perf_counter() - t
            return out

        b.train_step = timed_step  # type: ignore[method-assign]
        with tempfile.TemporaryDirectory(prefix="perf-overhead-") as d:
            t0 = time.perf_counter()
            result = Trainer(b, shapes.train, Path(d), seed=0, steps=steps, device=CPU, log_every=50,
                             checkpoint_every=10**9, progress=False).fit()
            t_tr.append(time.perf_counter() - t0)
        del b.train_step
        inside.append(spent[0])
        assert result.status == "completed"
        return b

    for r in range(REPEATS):
        if r % 2 == 0:
            a, b = run_minimal(), run_trainer()
        else:
            b, a = run_trainer(), run_minimal()
        sa, sb = a.state_dict(), b.state_dict()  # type: ignore[attr-defined]
        assert all(torch.equal(sa[k], sb[k]) for k in sa), "trainer and minimal loop diverged"
    overhead = statistics.median(tr / mn for tr, mn in zip(t_tr, t_min, strict=True)) - 1.0
    outside = statistics.median((tr - ins) / ins for tr, ins in zip(t_tr, inside, strict=True))
    OVERHEAD[name] = {"steps": steps, "repeats": REPEATS, "minimal_s": min(t_min), "trainer_s": min(t_tr),
                      "minimal_all_s": t_min, "trainer_all_s": t_tr, "overhead": overhead,
                      "overhead_min_over_min": min(t_tr) / min(t_min) - 1.0, "outside_train_step": outside,
                      "torch_threads": torch.get_num_threads(), "per_step_ms": 1000 * min(t_min) / steps}
    assert outside <= MAX_OVERHEAD, f"{name}: trainer's own time {outside:.1%} of the steps' > {MAX_OVERHEAD:.0%}"
    assert overhead <= MAX_BETWEEN_RUNS, f"{name}: trainer vs minimal loop {overhead:.1%} > {MAX_BETWEEN_RUNS:.0%}"
