"""bench/report/equilibrium.py: k_t and M of BEGAN-style runs read from their committed logs (hand-written logs,
hand-read values)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bench.report.equilibrium import write_equilibrium


def write_run(results: Path, run_id: str, model: str, seed: int, rows: list[dict]) -> None:
    d = results / run_id
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"spec": {"model": model, "seed": seed}}))
    lines = [json.dumps(r) for r in rows] + [json.dumps({"event": "completed", "step": 150})]
    (d / "log.jsonl").write_text("\n".join(lines) + "\n")


def test_final_largest_and_first_nonzero_k_t_per_run(tmp_path: Path) -> None:
    results = tmp_path / "khan" / "results"
    write_run(results, "vae-began-s0", "vae-began", 0,
              [{"step": 50, "k_t": 0.0, "M": 0.30}, {"step": 100, "k_t": 0.004, "M": 0.25},
               {"step": 125, "curve.is_domain": 2.0}, {"step": 150, "k_t": 0.002, "M": 0.21}])
    write_run(results, "began-lsm-s1", "began-lsm", 1,
              [{"step": 50, "k_t": 0.0, "M": 0.4}, {"step": 100, "k_t": 0.0, "M": 0.35}])
    write_run(results, "dcgan-s0", "dcgan", 0, [{"step": 50, "d_loss": 1.0, "g_loss": 2.0}])
    files = write_equilibrium(tmp_path / "khan")
    assert [f.name for f in files] == ["equilibrium.csv", "equilibrium.png"] and files[1].stat().st_size > 1000
    df = pd.read_csv(files[0]).set_index("run_id")
    assert sorted(df.index) == ["began-lsm-s1", "vae-began-s0"]  # dcgan logs no k_t
    vb, bl = df.loc["vae-began-s0"], df.loc["began-lsm-s1"]
    assert (vb["model"], vb["seed"], vb["steps_logged"]) == ("vae-began", 0, 3)  # the curve line has no k_t
    assert vb["k_t_final"] == pytest.approx(0.002) and vb["k_t_max"] == pytest.approx(0.004)
    assert vb["first_step_k_t_above_0"] == 100 and vb["M_final"] == pytest.approx(0.21)
    assert bl["k_t_max"] == 0.0 and pd.isna(bl["first_step_k_t_above_0"]) and bl["M_final"] == pytest.approx(0.35)


def test_a_table_without_began_runs_gets_no_files(tmp_path: Path) -> None:
    write_run(tmp_path / "t" / "results", "vae-s0", "vae", 0, [{"step": 50, "loss": 1.0}])
    assert write_equilibrium(tmp_path / "t") == []
    assert not (tmp_path / "t" / "equilibrium.csv").exists()
