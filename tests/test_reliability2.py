"""Reliability II (issue #28): a sweep directory belongs to one sweep, an existing file as ``--out``, learning
curves logged less often than the losses, the last tracebacks of ``evaluate`` and ``report``, and the smaller
things a user expects (an interrupted run's step and status, a repeated ``--set``, a dry run that says the data
is missing and how long the runs take, ``--version``, the default data root)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from bench.cli import main
from bench.sweep import from_dict

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny nets (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[1]
TINY = {"name": "tiny", "models": ["vae"], "datasets": ["digits@16"], "seeds": [0], "steps": 2,
        "set": {"width": 8, "latent_dim": 4, "batch_size": 16}, "eval": {"metrics": ["sharpness"], "n": 20},
        "local": {"parallel": 1}}


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` (hidden ones too) → sha256 of its bytes ('dir' for folders)."""
    return {str(p.relative_to(folder)): "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))}


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def one_error_line(rc: int, out: str, err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err and out == "", (rc, out, err)
    return lines[0]


@pytest.fixture
def offline_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--offline`` sets BENCH_OFFLINE for the process: restored after the test."""
    monkeypatch.delenv("BENCH_OFFLINE", raising=False)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 2-step vae run on digits@16."""
    from bench.run import RunSpec, execute

    run = tmp_path_factory.mktemp("run") / "run"
    execute(RunSpec(model="vae", dataset="digits@16", steps=2, overrides={"width": 8, "latent_dim": 4, "batch_size": 16},
                    metrics=["sharpness"], n_eval=20), run, progress=False)
    return run


# ---- 1. a sweep directory belongs to one sweep ------------------------------------------------------------
def test_sweep_refuses_a_users_folder_and_another_sweeps_directory(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    sweep_file = tmp_path / "tiny.yaml"
    sweep_file.write_text(yaml.safe_dump(TINY))
    other_matrix = from_dict({**TINY, "seeds": [0, 1]})
    other_name = from_dict({**TINY, "name": "mine"})
    folders = {  # X/tiny as a user may have it
        "hand-written summary.csv and sweep.yaml": {"summary.csv": "model,score\nmine,1\n", "sweep.yaml": "my: notes\n"},
        "files, no sweep.yaml": {"summary.csv": "model,score\nmine,1\n", "notes.md": "# mine\n"},
        "a sweep with another matrix": {"sweep.yaml": other_matrix.to_yaml(), "summary.csv": "run_id\nx\n",
                                        "runs/x/metrics.json": '{"status": "completed"}\n'},
        "a sweep of another name": {"sweep.yaml": other_name.to_yaml(), "runs/x/log.jsonl": "{}\n"},
    }
    messages = {"hand-written summary.csv and sweep.yaml": "is not empty and is not a sweep directory",
                "files, no sweep.yaml": "is not empty and is not a sweep directory",
                "a sweep with another matrix": "holds sweep tiny with another matrix (2 runs, 1 of them in this one's 1)",
                "a sweep of another name": "holds sweep 'mine', not 'tiny'"}
    for what, files in folders.items():
        out = tmp_path / what.replace(" ", "-")
        for rel, text in files.items():
            (out / "tiny" / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / "tiny" / rel).write_text(text)
        before = snapshot(out)
        for dry in ([], ["--dry-run"]):
            line = one_error_line(*cli(["sweep", str(sweep_file), "--out", str(out), "--quiet", *dry], capsys))
            assert messages[what] in line and "choose another --out" in line, (what, line)
            assert snapshot(out) == before, what  # every file byte-identical, nothing added
    # the sweep's own directory is its own: accepted (a re-run; test_executor_local runs one to the end)
    own = tmp_path / "own"
    (own / "tiny" / "runs").mkdir(parents=True)
    (own / "tiny" / "sweep.yaml").write_text(from_dict(TINY).to_yaml())
    rc, out, _ = cli(["sweep", str(sweep_file), "--out", str(own), "--dry-run"], capsys)
    assert rc == 0 and "to run: 1" in out


# ---- 4. an existing file as --out ---------------------------------------------------------------------------
def test_an_existing_file_as_out_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep_file = tmp_path / "tiny.yaml"
    sweep_file.write_text(yaml.safe_dump(TINY))
    sweep_dir = tmp_path / "s"
    sweep_dir.mkdir()
    (sweep_dir / "summary.csv").write_text("dataset,model,seed,status,metric,value,params,run_id\n"
                                           "digits,vae,0,completed,mse,0.1,{},vae-digits-s0\n")
    target = tmp_path / "results.txt"
    target.write_text("a user's file\n")
    before = snapshot(tmp_path)
    for argv in (["sweep", str(sweep_file), "--out", str(target), "--quiet"],
                 ["sweep", str(sweep_file), "--out", str(target), "--dry-run"],
                 ["report", str(sweep_dir), "--out", str(target)],
                 ["sweep", str(sweep_file), "--out", str(target / "sub"), "--quiet"],
                 ["report", str(sweep_dir), "--out", str(target / "sub")]):
        line = one_error_line(*cli(argv, capsys))
        assert str(target) in line and "is a file" in line, (argv, line)
        assert snapshot(tmp_path) == before, argv


# ---- 7. a learning curve logged every curve_every > log_every steps is drawn -----------------------------------
def test_learning_curve_logged_less_often_than_the_losses_is_a_line(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.report import plots
    from bench.report.load import aggregate, read_summary

    runs = tmp_path / "runs"
    curve = {0: {50: 2.0, 100: 3.0, 150: 3.5}, 1: {50: 2.4, 100: 3.4, 150: 3.9}}  # curve_every 50, log_every 10
    rows = []
    for seed in (0, 1):
        run_id = f"vae-digits-s{seed}"
        (runs / run_id).mkdir(parents=True)
        lines = []
        for step in range(10, 151, 10):
            rec = {"step": step, "loss": 1.0 / step}
            if step in curve[seed]:
                rec["curve.is_domain"] = curve[seed][step]
            lines.append(json.dumps(rec))
        (runs / run_id / "log.jsonl").write_text("\n".join(lines) + "\n")
        rows.append({"dataset": "digits", "model": "vae", "seed": seed, "status": "completed", "metric": "mse",
                     "value": 0.1, "params": "{}", "run_id": run_id})
    pd.DataFrame(rows).to_csv(tmp_path / "summary.csv", index=False)
    figures = []
    monkeypatch.setattr(plots, "save", lambda fig, stem: figures.append(fig) or [])
    plots.training_curves(aggregate(read_summary(tmp_path / "summary.csv")), "digits", runs, tmp_path / "curves")
    (fig,) = figures
    panel = next(ax for ax in fig.axes if "curve.is_domain" in ax.get_title())
    (line,) = panel.get_lines()
    xy = line.get_xydata()
    assert not np.isnan(xy).any()  # NaNs between the points leave matplotlib nothing to join: an empty panel
    assert xy[:, 0].tolist() == [50, 100, 150]
    assert xy[:, 1].tolist() == pytest.approx([2.2, 3.2, 3.7])  # mean over the two seeds, by hand
    loss = next(ax for ax in fig.axes if ax.get_title().startswith("vae: loss"))
    assert len(loss.get_lines()[0].get_xydata()) == 15  # the losses keep every logged step


# ---- 8. the last tracebacks ------------------------------------------------------------------------------------
def test_evaluate_corrupt_inputs_and_a_folder_as_json_are_one_line(tiny_run: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import bench.cli_eval as cli_eval

    np.savez(tmp_path / "ok.npz", images=np.zeros((4, 16, 16, 1), np.uint8))
    whole = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "corrupt.npz").write_bytes(whole[: len(whole) // 2])
    cut = tmp_path / "cut"
    cut.mkdir()
    for f in tiny_run.iterdir():
        (cut / f.name).write_bytes(f.read_bytes())
    ckpt = (cut / "checkpoint.pt").read_bytes()
    (cut / "checkpoint.pt").write_bytes(ckpt[: len(ckpt) // 2])
    (tmp_path / "out").mkdir()
    before = snapshot(tmp_path)
    cases = {"cannot read --fake": ["--fake", str(tmp_path / "corrupt.npz"), "--real", "digits@16"],
             "checkpoint.pt is truncated": ["--fake", str(cut), "--metrics", "sharpness"]}
    for expected, argv in cases.items():
        line = one_error_line(*cli(["evaluate", *argv], capsys))
        assert expected in line, line
    computed = []  # --json is checked before any metric is computed
    monkeypatch.setattr(cli_eval, "evaluate_paths", lambda *a, **k: computed.append(a) or {})
    line = one_error_line(*cli(["evaluate", "--fake", str(tmp_path / "ok.npz"), "--real", "digits@16", "--json",
                                str(tmp_path / "out")], capsys))
    assert "--json" in line and "is a folder, not a file" in line and computed == []
    assert snapshot(tmp_path) == before


def test_report_of_an_empty_summary_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "summary.csv").write_text("")
    (tmp_path / "sweep.yaml").write_text(from_dict(TINY).to_yaml())
    before = snapshot(tmp_path)
    line = one_error_line(*cli(["report", str(tmp_path)], capsys))
    assert "summary.csv is empty" in line and f"python -m bench status {tmp_path}" in line
    assert snapshot(tmp_path) == before


# ---- smaller: evaluate of an interrupted run -------------------------------------------------------------------
def test_evaluate_records_the_step_and_status_of_a_run(tiny_run: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(["evaluate", "--fake", str(tiny_run), "--metrics", "sharpness", "--n-eval", "20"], capsys)
    done = json.loads(out)
    assert rc == 0 and (done["step"], done["status"], done["steps"]) == (2, "completed", 2) and "note" not in err
    # the same checkpoint in a run of 6 steps interrupted at step 2: config.json says 6, no metrics.json yet
    cut = tmp_path / "interrupted"
    cut.mkdir()
    for f in tiny_run.iterdir():
        if f.name != "metrics.json":
            (cut / f.name).write_bytes(f.read_bytes())
    cfg = json.loads((cut / "config.json").read_text())
    cfg["spec"]["steps"], cfg["model_config"]["steps"] = 6, 6
    (cut / "config.json").write_text(json.dumps(cfg))
    rc, out, err = cli(["evaluate", "--fake", str(cut), "--metrics", "sharpness", "--n-eval", "20"], capsys)
    result = json.loads(out)
    assert rc == 0 and (result["step"], result["status"], result["steps"]) == (2, "unfinished", 6)
    assert "unfinished run" in err and "step 2 of 6" in err
    assert result["sharpness"] == done["sharpness"]  # the same checkpoint, the same images


# ---- smaller: a repeated --set key ------------------------------------------------------------------------------
def test_a_repeated_set_key_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    line = one_error_line(*cli(["train", "--model", "vae", "--dataset", "digits@16", "--steps", "2", "--set", "width=8",
                                "--set", "width=16", "--out", str(out)], capsys))
    assert "--set width given twice (width=8 and width=16)" in line and not out.exists()
    from bench.config import parse_assignments

    assert parse_assignments(["width=8", "beta=2"]) == {"width": "8", "beta": "2"}  # distinct keys still fine


# ---- smaller: a dry run says the data is missing and how long the runs take ---------------------------------------
def test_offline_dry_run_says_the_data_is_missing_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              offline_reset: None) -> None:
    rc, out, err = cli(["bench", "--dataset", "cifar10", "--offline", "--dry-run", "--data-root", str(tmp_path),
                        "--out", str(tmp_path / "sweeps")], capsys)
    assert rc == 0
    note = next(ln for ln in out.splitlines() if ln.startswith("note:"))
    assert "offline" in note and f"dataset 'cifar10' not found in {tmp_path}" in note
    assert f"python -m bench data download cifar10 --data-root {tmp_path}" in note
    assert list(tmp_path.iterdir()) == []  # a dry run writes nothing


def test_online_dry_run_says_the_data_will_be_downloaded(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         offline_reset: None) -> None:
    rc, out, _ = cli(["sweep", "smoke", "--dry-run", "--out", str(tmp_path / "s"), "--data-root", str(tmp_path)], capsys)
    assert rc == 0 and "note:" not in out  # the smoke sweep's data is built in
    sweep_file = tmp_path / "c.yaml"
    sweep_file.write_text(yaml.safe_dump({**TINY, "datasets": ["cifar10"]}))
    rc, out, _ = cli(["sweep", str(sweep_file), "--dry-run", "--out", str(tmp_path / "s"), "--data-root",
                      str(tmp_path)], capsys)
    assert rc == 0 and f"note: dataset 'cifar10' is not in {tmp_path} yet: the run downloads it first" in out


def test_expected_time_lays_the_runs_out_on_the_workers() -> None:
    from bench.estimate import expected_time
    from bench.run import RunSpec

    configs = [{"dataset": "digits@16", "protocol": "fair", "set": {"width": 32, "latent_dim": 16, "batch_size": 32},
                "models": {"vae": {"ms_per_step": 10.0}, "dcgan": {"ms_per_step": 30.0}}}]
    shape = {"width": 32, "latent_dim": 16, "batch_size": 32}
    todo = [(RunSpec(model=m, dataset="digits@16", seed=s, overrides=dict(shape)), 6000)
            for m in ("vae", "dcgan") for s in (0, 1)]
    # by hand: 60 s, 60 s, 180 s, 180 s in order on 2 workers → 240 s each; 480 s of CPU
    line = expected_time(todo, 2, "cpu", 1, configs)
    assert line.startswith("expected time: about 4.0 min of training for 4 run(s) (8.0 min of CPU")
    # a configuration not measured, and a GPU, give no number (and say so)
    other = [(RunSpec(model="vae", dataset="digits@16", overrides={**shape, "width": 64}), 100)]
    assert "no estimate" in expected_time(other, 2, "cpu", 1, configs)
    assert "no estimate on cuda" in expected_time(todo, 2, "cuda", 1, configs)
    mixed = expected_time([*todo, *other], 2, "cpu", 1, configs)
    assert "4 run(s)" in mixed and "no measured step time for 1 other run(s) (vae)" in mixed


def test_bench_dry_run_states_the_time_from_the_committed_step_times(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    measured = json.loads((ROOT / "results" / "perf" / "step_times-cpu.json").read_text())["configs"]["quick"]
    sweep = yaml.safe_load((ROOT / "bench" / "sweeps" / "bench_quick.yaml").read_text())
    assert {k: sweep["set"][k] for k in ("width", "latent_dim", "batch_size")} == \
        {k: measured["set"][k] for k in ("width", "latent_dim", "batch_size")}
    cpu_s = sum(len(sweep["seeds"]) * sweep["steps"] * measured["models"][m]["ms_per_step"] / 1000
                for m in sweep["models"])
    rc, out, _ = cli(["bench", "--dry-run", "--out", str(tmp_path)], capsys)
    line = next(ln for ln in out.splitlines() if ln.startswith("expected time:"))
    assert rc == 0 and f"for {len(sweep['models']) * len(sweep['seeds'])} run(s)" in line
    assert f"({cpu_s / 60:.1f} min of CPU" in line or f"({cpu_s / 60:.0f} min of CPU" in line, (cpu_s, line)
    assert "step_times-cpu.json" in line and "evaluation not included" in line


# ---- smaller: --version and the default data root -------------------------------------------------------------
def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert capsys.readouterr().out.strip() == f"hybrid-bench {project['version']}"  # the version pyproject declares


def test_default_data_root_in_help_and_readme(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.data.layout import default_root

    monkeypatch.delenv("BENCH_DATA_ROOT", raising=False)
    assert default_root() == os.path.expanduser("~/.cache/hybrid-bench/data")
    for argv in (["--help"], ["train", "--help"], ["sweep", "--help"], ["bench", "--help"], ["evaluate", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        text = re.sub(r"\s+", " ", capsys.readouterr().out)
        assert "~/.cache/hybrid-bench/data" in text, argv
    readme = (ROOT / "README.md").read_text()
    assert "~/.cache/hybrid-bench/data" in readme and "--version" in readme
