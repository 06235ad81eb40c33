"""summary.csv: long-format rows from run directories; stale runs excluded when ids are given."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bench.summary import mean_std_table, write_summary


def _run(root: Path, run_id: str, model: str, seed: int, metrics: dict) -> None:
    d = root / run_id
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"run_id": run_id, "spec": {
        "dataset": "digits", "model": model, "seed": seed, "protocol": "fair", "overrides": {"lr": 0.1}}}))
    (d / "metrics.json").write_text(json.dumps(metrics))


def test_rows_values_and_stale_runs(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _run(runs, "a", "vae", 0, {"status": "completed", "step": 5, "mse": 0.5, "mse.n": 10, "fid.unavailable": "x"})
    _run(runs, "b", "vae", 1, {"status": "completed", "step": 5, "mse": 0.7, "mse.n": 10})
    _run(runs, "c", "dcgan", 0, {"status": "diverged", "step": 3, "reason": "non-finite loss"})
    _run(runs, "old", "vae", 9, {"status": "completed", "step": 5, "mse": 99.0, "mse.n": 10})
    df = write_summary(runs, tmp_path / "summary.csv", "s", run_ids=["a", "b", "c"])
    back = pd.read_csv(tmp_path / "summary.csv")
    assert len(back) == len(df) == 3 and "old" not in set(back["run_id"])
    mse = back[back["metric"] == "mse"].sort_values("seed")
    assert mse["value"].tolist() == [0.5, 0.7] and mse["n_samples"].tolist() == [10, 10]
    assert back.loc[back["model"] == "dcgan", "status"].item() == "diverged"
    assert back["hp.lr"].dropna().unique().tolist() == [0.1]
    table = mean_std_table(df)
    # mean 0.6, sample std of (0.5, 0.7) = 0.1414
    assert "| vae | 0.6000 ± 0.1414 (2) |" in table
    assert len(write_summary(runs, tmp_path / "all.csv")) == 4
