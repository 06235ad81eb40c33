"""``python -m bench perf estimate|report`` (issue #7) on hand-made measurement files.

Asserted: the GPU-hour estimate equals the hand-computed formula t_iter = max(FLOPs / (peak · u), ops · t_op)
(one FLOP-bound and one launch-bound group) plus the evaluation FLOPs at the evaluation utilisation; a measured
GPU time replaces the estimate (scaled by the FLOP ratio for another resolution) and the basis says so; the
report says plainly that no GPU was lent when no GPU file exists; a missing flops.json is one line, exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cli import main
from benchmarks.perf_report import estimate

INC = "inception-v3-compat (FID15 family, 299 px)"


def _flops(d: Path) -> None:
    groups = [
        {"model": "dcgan", "dataset": "celeba", "protocol": "fair", "runs": 5, "steps": 1000, "flops": 2e12, "ops": 500,
         "method": "meta", "counted_batch": 64, "batch": 64, "width": 128},
        {"model": "dcgan", "dataset": "cifar10", "protocol": "fair", "runs": 5, "steps": 1000, "flops": 1e11, "ops": 400,
         "method": "meta", "counted_batch": 64, "batch": 64, "width": 128},
    ]
    rec = {"command": "python -m benchmarks.flops", "extractor_flops_per_image": {INC: 1e10},
           "sweeps": {"toy": {"paper": "toy", "cells": 10, "metrics": ["fid", "mse"], "eval_samples": "paper",
                              "groups": groups}}}
    (d / "flops.json").write_text(json.dumps(rec))


def test_estimate_formula_and_measured_basis(tmp_path: Path) -> None:
    _flops(tmp_path)
    (row,) = estimate(tmp_path, peak_tflops=100.0, utilisation=0.5, op_us=10.0, eval_utilisation=0.1)
    # celeba: FLOP-bound 2e12 / 5e13 = 0.04 s > 500 · 10 µs; cifar10: launch-bound 400 · 10 µs = 4 ms > 1e11 / 5e13
    train_s = 5 * 1000 * 0.04 + 5 * 1000 * 0.004
    eval_s = (1e10 * 50_000 * 10 + 1e10 * 50_000 * 2) / (1e14 * 0.1)  # 10 runs + real statistics of 2 datasets
    assert row["train_gpu_h"] == pytest.approx(train_s / 3600, rel=1e-12)
    assert row["eval_gpu_h"] == pytest.approx(eval_s / 3600, rel=1e-12)
    assert row["basis"] == "estimate" and row["launch_bound_groups"] == 1 and row["iterations"] == 10_000
    assert row["extractors"] == [INC]

    gpu = {"device": "cuda: NVIDIA H100", "width": 128, "batch": 64, "res": 32, "packed": {},
           "models": {"dcgan": {"flops_per_iteration": 1e11, "fp32": {"ms_per_iteration": 5.0}}}}
    (tmp_path / "gpu_throughput-nvidia-h100.json").write_text(json.dumps(gpu))
    (row,) = estimate(tmp_path, peak_tflops=100.0, utilisation=0.5, op_us=10.0, eval_utilisation=0.1)
    # measured 5 ms at 1e11 FLOPs; celeba's 2e12 FLOPs scale it to 100 ms
    assert row["train_gpu_h"] == pytest.approx((5 * 1000 * 0.1 + 5 * 1000 * 0.005) / 3600, rel=1e-12)
    assert row["basis"] == "measured"


def test_report_says_no_gpu_and_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _flops(tmp_path)
    out = tmp_path / "PERFORMANCE.md"
    assert main(["perf", "report", "--perf-dir", str(tmp_path), "--out", str(out)]) == 0
    text = out.read_text()
    assert "No GPU was lent during this work" in text
    assert "| toy | dcgan | celeba | 2000.0 | 500 | meta |" in text
    assert main(["perf", "estimate", "--perf-dir", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "flops.json" in err and "python -m benchmarks.flops" in err
