"""The `hybrid-bench` console script is the same command line as `python -m bench`."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_console_script_points_at_the_cli_main() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, attr = scripts["hybrid-bench"].partition(":")
    assert getattr(importlib.import_module(module), attr) is importlib.import_module("bench.cli").main


def test_installed_script_prints_what_python_m_bench_prints() -> None:
    script = Path(sys.executable).parent / "hybrid-bench"
    assert script.exists(), f"{script} missing: re-run `make setup` (pip install -e .) after pyproject changes"
    ours = subprocess.run([str(script), "list", "models"], capture_output=True, text=True, timeout=120)
    ref = subprocess.run([sys.executable, "-m", "bench", "list", "models"], capture_output=True, text=True, timeout=120)
    assert ours.returncode == ref.returncode == 0
    assert ours.stdout == ref.stdout and "avae-s" in ours.stdout
