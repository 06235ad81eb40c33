"""``python -m bench bench``: budgets, the dry run, and the quick table's shape on a shortened schedule.

The shortened run is the quick budget's own sweep file with 2 models (one with reconstructions, one
without), 1 seed and 30 steps, run offline through the local executor; the table it prints must have the
budget in its header, the quick budget's columns in order (fd_domain and is_domain among them, offline),
one row per model plus real data's, the values of the runs' metrics.json, the learning bars, the ranking
line and a sample mosaic PNG in the sweep directory.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from bench.cli import main
from bench.cli_bench import COLUMNS, default_budget
from bench.sweep import SWEEPS_DIR

pytestmark = pytest.mark.usefixtures("one_thread")

TABLE_I = ["vae", "dcgan", "vae-gan", "bigan", "avae-xi-a", "avae-a", "avae"]  # AVAE Table I (docs/protocols.md §4)
ONE_PER_PAPER = ["avae", "vae-began", "idvae", "alpha-gan", "avae-s"]


def budget_file(budget: str) -> dict:
    return yaml.safe_load((SWEEPS_DIR / f"bench_{budget}.yaml").read_text())


def test_budget_files_hold_the_issue_s_models_and_schedules() -> None:
    quick, standard, paper = (budget_file(b) for b in ("quick", "standard", "paper"))
    assert set(quick["models"]) == {"vae", "dcgan", *ONE_PER_PAPER} and len(quick["seeds"]) == 5
    assert "per_model" not in quick and "grid" not in quick  # one schedule for every model alike
    for b in (standard, paper):
        assert b["models"][:7] == TABLE_I and set(ONE_PER_PAPER) <= set(b["models"])
        assert b["set"] == {"width": 128, "batch_size": 64} and b["protocol"] == "fair"
        assert b["eval"]["samples"] == "paper"
    assert standard["steps"] == 10_000 and standard["eval"]["n"] == 10_000
    assert paper["steps"] == 50_000 and "n" not in paper["eval"]  # the papers' counts: 50k for FID
    assert default_budget("cpu") == "quick" and default_budget("cuda") == default_budget("cuda:1") == "standard"


def test_standard_dry_run_needs_no_data(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = main(["bench", "--dataset", "cifar10", "--budget", "standard", "--dry-run", "--out", str(tmp_path),
               "--data-root", str(tmp_path / "nothing"), "--offline"])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.splitlines()[0].startswith("benchmark, budget standard: 11 models × cifar10 × 5 seed(s)")
    matrix = [ln.split() for ln in out.splitlines() if ln.split(" ")[0].isdigit()]
    assert len(matrix) == 11 * 5 and {r[1] for r in matrix} == set(TABLE_I + ONE_PER_PAPER)
    assert {r[2] for r in matrix} == {"cifar10"} and {r[6] for r in matrix} == {"10000"}
    assert "width=128, batch_size=64" in out and "on 10000 images per metric" in out
    assert "local: 2 worker process(es)" in out
    assert not (tmp_path / "nothing").exists() and not any(tmp_path.iterdir())


def test_bad_budget_is_one_line(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--budget", "huge", "--dry-run"])
    assert exc.value.code == 2 and capsys.readouterr().err.count("\n") == 1


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


@pytest.mark.slow  # 15 s measured on a lightly loaded 2-core machine, 47-59 s under heavy load (2 runs + classifier)
def test_quick_table_on_a_short_schedule(tmp_path: Path, capsys: pytest.CaptureFixture,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))  # the domain classifier is trained here
    short = {**budget_file("quick"), "models": ["vae", "dcgan"], "seeds": [0], "steps": 30, "log_every": 10,
             "checkpoint_every": 30}
    sweep_file = tmp_path / "bench_quick_short.yaml"
    sweep_file.write_text(yaml.safe_dump(short))
    rc = main(["bench", "--budget", "quick", "--sweep", str(sweep_file), "--out", str(tmp_path / "out"), "--quiet",
               "--offline"])
    out = capsys.readouterr().out
    print(out)
    assert rc == 0, out
    lines = out.splitlines()
    title = next(ln for ln in lines if ln.startswith("### "))
    assert "budget quick" in title and "NOT comparable with the papers'" in title
    table = [ln for ln in lines if ln.startswith("|")]
    header, rows = cells(table[0]), [cells(ln) for ln in table[2:]]
    assert header[0] == "model" and header[1:9] == list(COLUMNS)  # fd_domain, is_domain first: offline
    assert [r[0] for r in rows] == ["vae", "dcgan", "real data"] and all(len(r) == len(header) for r in rows)
    col = {name: i for i, name in enumerate(header)}
    vae, dcgan, real = rows
    run_dir = next((tmp_path / "out").glob("bench_quick-digits-16/runs/vae-*"))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for name in COLUMNS:  # every column of the vae row is its single run's value (std 0 over 1 seed)
        assert vae[col[name]] == f"{metrics[name]:.4g} ± 0 (1)", name
    assert dcgan[col["mse"]] == dcgan[col["recon_class_acc"]] == "—"  # no reconstructions
    assert re.fullmatch(r"[-0-9.e+]+ ± 0 \(1\)", dcgan[col["fd_domain"]])
    assert real[col["mse"]] == "—" and 0.9 <= float(real[col["recon_class_acc"]]) <= 1.0  # classifier accuracy
    assert float(real[col["is_domain"]]) > 5.0 and float(real[col["fd_domain"]]) < float(vae[col["fd_domain"]].split()[0])
    assert any(ln.startswith("learning bars (is_domain ≥ 0.5 × real's") for ln in lines)
    rank = next(ln for ln in lines if ln.startswith("ranking by fd_domain (lower is better"))
    assert "vae " in rank and "dcgan " in rank
    mosaic = Path(next(ln for ln in lines if ln.startswith("sample mosaic: ")).split(": ", 1)[1])
    assert mosaic.suffix == ".png" and mosaic.is_file() and mosaic.parent.name == "bench_quick-digits-16"
