"""Shared test settings: small thread pools (CI has 2 cores), the repository root on sys.path, and the
order in which pytest-xdist hands out the test files (``make test`` runs 2 workers)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Up to 2 threads per process, and no more threads in all than cores: each pytest-xdist worker gets its share
# (two workers of 2 threads each on 2 cores spin against each other and run several times slower).
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
torch.set_num_threads(max(1, min(2, (os.cpu_count() or 1) // WORKERS)))
# Tests never reach the network: a missing dataset or weights file gives the offline one-line error, as on a
# compute node (tests/test_downloads.py lifts this around its own 127.0.0.1 server).
os.environ["BENCH_OFFLINE"] = "1"


@pytest.fixture
def one_thread() -> Iterator[None]:
    """For tests of tiny nets: one thread is several times faster than two on a shared 2-core runner."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def repo_root() -> Path:
    return ROOT


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the ``slow`` tests first. Under ``make test`` (pytest-xdist, ``--dist loadfile
    --no-loadscope-reorder``) a file is the unit of work, handed out in the order of its first test, so
    the files with the longest tests start first and overlap the rest of the suite instead of ending it.
    (A file runs whole on one worker, so module fixtures, such as the Slurm cluster's, start once.)"""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: order kept otherwise
