"""Helpers shared by the training tests: the run log, finiteness, and test parameters marked ``slow``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest


def params(runs: dict[str, object], slow: set[str]) -> list[object]:
    """The models of ``runs`` as test parameters, the long ones marked ``slow`` (their file is started first
    under pytest-xdist, see conftest.py)."""
    return [pytest.param(m, marks=pytest.mark.slow) if m in slow else m for m in sorted(runs)]


def read_log(run_dir: Path) -> list[dict[str, float]]:
    """The records of a run's ``log.jsonl``."""
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines() if line.strip()]


def all_finite(record: dict[str, object]) -> bool:
    """Whether every float in ``record`` is finite."""
    return all(math.isfinite(v) for v in record.values() if isinstance(v, float))
