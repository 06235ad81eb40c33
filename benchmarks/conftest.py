"""Benchmark settings (``make perf``; never collected by ``make test``, whose testpaths are ``tests/``).

Small thread pools (CI has 2 cores), the repository root on sys.path, shared fixtures (the offline ``shapes``
dataset, random-initialised extractor weights), the provenance block added to pytest-benchmark's JSON, and
the trainer-overhead measurements written to ``results/perf/trainer_overhead-cpu.json`` at the end.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

from benchmarks.meta import header, save  # noqa: E402

OVERHEAD: dict[str, Any] = {}  # filled by test_trainer_overhead.py


@pytest.fixture(scope="session")
def shapes():  # noqa: ANN201
    from bench.data import load

    return load("shapes")


@pytest.fixture(scope="session")
def timing_weights() -> Path:
    from benchmarks.compare_eval import timing_weights_dir

    return timing_weights_dir()


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: list, output_json: dict) -> None:
    """Add the suite's provenance block (command, machine, device, versions, load) to the benchmark JSON."""
    output_json["hybrid_bench"] = header("cpu", command="python -m pytest " + " ".join(config.invocation_params.args))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if OVERHEAD:
        command = "python -m pytest " + " ".join(session.config.invocation_params.args)
        save("trainer_overhead-cpu", {**header("cpu", command=command),
                                      "models": OVERHEAD})
