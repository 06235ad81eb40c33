"""Reliability at the edges (issue 18): a run directory holds one run, every run option is checked once
(command line and sweep files alike), one run id per configuration, what a CPU result depends on is
recorded, Ctrl-C on a sweep, unavailable metrics, finished runs, and the small things a user trips on."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image

from bench.cli import build_parser, main, unavailable_lines
from bench.config import DEFAULT_THREADS
from bench.sweep import from_dict

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny nets (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--set", "width=8", "--set", "latent_dim=8", "--set", "batch_size=32", "--steps", "4", "--n-eval", "32",
        "--log-every", "2", "--checkpoint-every", "2", "--quiet"]


def train(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(["train", *argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) → sha256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def one_error_line(rc: int, out: str, err: str) -> str:
    assert rc == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert out == "" and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def dcgan_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny dcgan run (digits, 4 steps), made through ``train``."""
    out = tmp_path_factory.mktemp("dcgan") / "run"
    assert main(["train", "--model", "dcgan", "--dataset", "digits", *TINY, "--metrics", "mse,sharpness",
                 "--out", str(out)]) == 0
    return out


# ---- 1. a run directory belongs to one run ----------------------------------------------------------
def test_train_refuses_another_runs_directory_and_a_folder_of_images(dcgan_run: Path, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(dcgan_run)
    cases = {
        "another model": ["--model", "vae", "--dataset", "digits", *TINY, "--metrics", "sharpness"],
        "same model, another configuration": ["--model", "dcgan", "--dataset", "digits", *TINY, "--metrics",
                                              "mse,sharpness", "--set", "lr=0.01"],
        "another seed": ["--model", "dcgan", "--dataset", "digits", *TINY, "--metrics", "mse,sharpness",
                         "--seed", "1"],
    }
    for what, argv in cases.items():
        line = one_error_line(*train([*argv, "--out", str(dcgan_run)], capsys))
        assert "holds run dcgan-digits-s0-" in line and "choose another --out" in line, (what, line)
        assert snapshot(dcgan_run) == before, what
    images = tmp_path / "my-images"
    images.mkdir()
    for k in range(3):
        Image.new("RGB", (32, 32), (k, 2 * k, 3 * k)).save(images / f"{k}.png")
    mine = snapshot(images)
    line = one_error_line(*train(["--model", "dcgan", "--dataset", "digits", *TINY, "--out", str(images)], capsys))
    assert "is not empty and is not a run directory" in line
    assert snapshot(images) == mine


# ---- 9. a finished run is reported and skipped; --force re-evaluates ---------------------------------
def test_rerunning_a_finished_train_skips_it_and_force_re_evaluates(dcgan_run: Path, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "copy"
    run.mkdir()
    for p in dcgan_run.iterdir():
        (run / p.name).write_bytes(p.read_bytes())
    before = snapshot(run)
    argv = ["--model", "dcgan", "--dataset", "digits", *TINY, "--metrics", "mse,sharpness", "--out", str(run)]
    rc, out, err = train(argv, capsys)
    assert rc == 0 and "already finished (completed at step 4)" in err and "--force" in err
    assert snapshot(run) == before  # nothing rewritten, no "resumed" event
    stored = json.loads((run / "metrics.json").read_text())
    rc, out, err = train([*argv, "--force"], capsys)
    assert rc == 0
    again = json.loads((run / "metrics.json").read_text())
    assert again["sharpness"] == stored["sharpness"] and again["resumed_from"] == 4
    log = [json.loads(ln) for ln in (run / "log.jsonl").read_text().splitlines()]
    first = [json.loads(ln) for ln in (dcgan_run / "log.jsonl").read_text().splitlines()]
    assert log == [*first, {"step": 4, "event": "resumed"}]  # re-evaluated from the final checkpoint, not retrained
    assert (run / "checkpoint.pt").read_bytes() == (dcgan_run / "checkpoint.pt").read_bytes()


# ---- 2. every value checked once, the same way for the command line and sweep files ---------------
SWEEP = {"name": "v", "models": ["vae"], "datasets": ["digits"], "seeds": [0]}


@pytest.mark.parametrize(("argv", "sweep_patch", "message"), [
    (["--log-every", "0"], {"log_every": 0}, "bad value for log_every: 0 (must be >= 1)"),
    (["--checkpoint-every", "0"], {"checkpoint_every": 0}, "bad value for checkpoint_every: 0 (must be >= 1)"),
    (["--n-eval", "0"], {"eval": {"n": 0}}, "bad value for n_eval: 0 (must be >= 1)"),
    (["--n-eval", "-3"], {"eval": {"n": -3}}, "bad value for n_eval: -3 (must be >= 1)"),
    (["--steps", "0"], {"steps": 0}, "bad value for steps: 0 (must be >= 1)"),
    (["--seed", "-1"], {"seeds": [-1]}, "bad value for seed: -1 (must be >= 0)"),
    (["--set", "beta=-1"], {"set": {"beta": -1}}, "bad value for beta: -1.0 (must be >= 0)"),
    (["--set", "beta=nan"], {"set": {"beta": "nan"}}, "bad value for beta: nan (must be a finite number)"),
    (["--set", "lr=inf"], {"set": {"lr": "inf"}}, "bad value for lr: inf (must be a finite number)"),
    (["--set", "steps=5", "--steps", "20"], {"steps": 20, "set": {"steps": 5}}, "steps given twice"),
])
def test_bad_values_same_line_from_train_and_sweep_files(argv: list[str], sweep_patch: dict, message: str,
                                                         tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    tiny = ["--set", "width=8", "--set", "latent_dim=8", "--metrics", "sharpness", "--quiet",
            *([] if any("steps" in a for a in argv) else ["--steps", "2"])]  # (fails fast where not refused)
    line = one_error_line(*train(["--model", "vae", "--dataset", "digits", *tiny, *argv, "--out", str(out)], capsys))
    assert message in line and not out.exists()
    sweep_file = tmp_path / "v.yaml"
    sweep_file.write_text(yaml.safe_dump({**SWEEP, **sweep_patch}))
    rc = main(["sweep", str(sweep_file), "--out", str(tmp_path / "sweeps"), "--dry-run"])
    cap = capsys.readouterr()
    assert message in one_error_line(rc, cap.out, cap.err)
    assert not (tmp_path / "sweeps").exists()


# ---- 3. evaluate: 2-D points against images ---------------------------------------------------------
def test_evaluate_points_run_against_images_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ring = tmp_path / "ring"
    assert main(["train", "--model", "dcgan", "--dataset", "ring8", "--steps", "2", "--set", "batch_size=32",
                 "--metrics", "modes", "--n-eval", "64", "--quiet", "--out", str(ring)]) == 0
    capsys.readouterr()
    import numpy as np

    np.savez(tmp_path / "imgs.npz", images=np.zeros((4, 32, 32, 1), np.uint8))
    for fake, real in ((str(ring), "digits:test"), (str(tmp_path / "imgs.npz"), str(ring))):
        rc = main(["evaluate", "--fake", fake, "--real", real])
        cap = capsys.readouterr()
        line = one_error_line(rc, cap.out, cap.err)
        assert "cannot compare" in line and "2-D points (ring8)" in line and "(images)" in line


# ---- 5. one configuration, one run id -----------------------------------------------------------------
def test_train_and_sweep_file_give_the_same_run_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["train", "--model", "dcgan", "--dataset", "digits", "--seed", "2", "--steps", "2", "--set", "width=8",
                 "--set", "latent_dim=8", "--set", "batch_size=32", "--set", "lr=2e-4", "--set", "beta2=0.9",
                 "--metrics", "sharpness", "--n-eval", "32", "--quiet", "--out", str(out)]) == 0
    run_id = json.loads((out / "config.json").read_text())["run_id"]
    sweep = from_dict({"name": "same", "models": ["dcgan"], "datasets": ["digits"], "seeds": [2], "steps": 2,
                       "set": {"width": 8, "latent_dim": 8, "batch_size": 32, "lr": 0.0002, "beta2": 0.9},
                       "eval": {"metrics": ["sharpness"], "n": 32}})
    assert sweep.run_spec(sweep.cell(0)).run_id() == run_id
    # and a float field written as an integer in the file is the same value as on the command line
    a = from_dict({"name": "a", "models": ["vae"], "datasets": ["digits"], "set": {"beta": 4}})
    b = from_dict({"name": "b", "models": ["vae"], "datasets": ["digits"], "set": {"beta": 4.0}})
    assert a.run_spec(a.cell(0)).run_id() == b.run_spec(b.cell(0)).run_id()


# ---- 6 and 8. what a result depends on; unavailable metrics, in train and in a sweep ------------------
def test_config_records_threads_and_sweep_matches_train(dcgan_run: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    train_default = parser.parse_args(["train", "--model", "dcgan", "--dataset", "digits"]).threads
    sweep_default = parser.parse_args(["sweep", "smoke"]).threads
    assert train_default == sweep_default == DEFAULT_THREADS == 1
    runtime = json.loads((dcgan_run / "config.json").read_text())["runtime"]
    assert runtime["torch_threads"] == 1 and runtime["device"] == "cpu"
    assert runtime["deterministic_algorithms"] is torch.are_deterministic_algorithms_enabled()
    record = json.loads((dcgan_run / "metrics.json").read_text())
    assert record["mse.unavailable"] == "needs reconstructions (not available from these inputs)"  # 8, train
    # the same cell through a local sweep (a submitit worker process): same thread count, same numbers
    sweep_file = tmp_path / "one.yaml"
    sweep_file.write_text(yaml.safe_dump({
        "name": "one", "models": ["dcgan"], "datasets": ["digits"], "seeds": [0], "steps": 4,
        "set": {"width": 8, "latent_dim": 8, "batch_size": 32}, "eval": {"metrics": ["mse", "sharpness"], "n": 32},
        "log_every": 2, "checkpoint_every": 2, "local": {"parallel": 1}}))
    assert main(["sweep", str(sweep_file), "--out", str(tmp_path / "sweeps"), "--quiet"]) == 0
    capsys.readouterr()
    (run,) = (tmp_path / "sweeps" / "one" / "runs").iterdir()
    assert run.name == json.loads((dcgan_run / "config.json").read_text())["run_id"]  # 5: same id as train
    swept = json.loads((run / "metrics.json").read_text())
    assert json.loads((run / "config.json").read_text())["runtime"]["torch_threads"] == 1
    assert swept["sharpness"] == record["sharpness"]
    assert swept["mse.unavailable"] == record["mse.unavailable"]  # 8, sweep


def test_readme_reproducibility_sentence_names_what_it_depends_on() -> None:
    text = (ROOT / "README.md").read_text()
    sentence = next(s for s in text.replace("\n", " ").split(". ") if "same seed" in s.lower())
    for needed in ("thread", "device", "config.json"):
        assert needed in sentence, (needed, sentence)


# ---- 7. Ctrl-C on a sweep --------------------------------------------------------------------------------
@pytest.mark.slow  # two sweep processes (submitit workers): ~40 s on 2 shared cores
def test_ctrl_c_on_a_sweep_exits_130_without_tracebacks_and_resumes(tmp_path: Path) -> None:
    sweep_file = tmp_path / "cc.yaml"
    sweep_file.write_text(yaml.safe_dump({
        "name": "cc", "models": ["dcgan"], "datasets": ["digits"], "seeds": [0], "steps": 60,
        "set": {"width": 8, "latent_dim": 8, "batch_size": 32}, "eval": {"metrics": ["sharpness"], "n": 32},
        "log_every": 5, "checkpoint_every": 5, "local": {"parallel": 1}}))
    argv = [sys.executable, "-m", "bench", "sweep", str(sweep_file), "--out", str(tmp_path / "out"), "--quiet"]
    # a new session, as a terminal's foreground job: Ctrl-C sends SIGINT to the whole process group
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while not list((tmp_path / "out").glob("cc/runs/*/checkpoint.pt")) and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and [ln for ln in err.splitlines() if ln.strip()] == ["interrupted"], err
    (run,) = (tmp_path / "out" / "cc" / "runs").iterdir()
    assert not (run / "metrics.json").exists()
    again = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    record = json.loads((run / "metrics.json").read_text())
    assert record["status"] == "completed" and 0 < record["resumed_from"] < 60


# ---- 10. smaller things -----------------------------------------------------------------------------
def test_missing_weights_said_once_with_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for cache in ("TORCH_HOME", "XDG_CACHE_HOME", "BENCH_WEIGHTS_DIR"):  # no weights found in any cache either
        monkeypatch.setenv(cache, str(tmp_path / "empty-cache"))
    weights = tmp_path / "no-weights"
    argv = ["--model", "vae", "--dataset", "digits", *TINY, "--weights-dir", str(weights), "--out",
            str(tmp_path / "r"), "--metrics", "fid,kid,is,lpips,frd,sharpness,modes"]
    rc, out, err = train(argv, capsys)
    assert rc == 0
    lines = [ln for ln in out.splitlines() if ln.startswith("unavailable")]
    assert len(lines) == 2 and sum("weights" in ln for ln in lines) == 1 and out.count("fetch") == 1
    (missing,) = [ln for ln in lines if "weights" in ln]
    assert missing.startswith("unavailable: fid, kid, is, lpips, frd: missing weights (")
    assert missing.count("python -m bench weights") == 1
    assert "unavailable: modes: needs points" in out
    record = json.loads((tmp_path / "r" / "metrics.json").read_text())  # the file keeps one reason per metric
    assert all(f"{m}.unavailable" in record for m in ("fid", "kid", "is", "lpips", "frd", "modes"))


def test_other_unavailable_reasons_are_grouped_by_reason() -> None:
    lines = unavailable_lines({"a.unavailable": "why 1", "b.unavailable": "why 2", "c.unavailable": "why 1",
                               "a.n": 3, "d": 0.5})
    assert lines == ["unavailable: a, c: why 1", "unavailable: b: why 2"]


def test_train_prints_evaluation_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--model", "dcgan", "--dataset", "digits", *[a for a in TINY if a != "--quiet"],
            "--metrics", "mse,sharpness", "--out", str(tmp_path / "r")]
    rc, out, err = train(argv, capsys)
    assert rc == 0 and "evaluating" in err and "mse" in err and "sharpness" in err


def test_data_download_help_is_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["data", "download", "--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0 and out.startswith("usage: python -m bench data download") and "--data-root" in out


def test_report_without_summary_points_to_bench_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep_dir = tmp_path / "s"
    sweep_dir.mkdir()
    (sweep_dir / "sweep.yaml").write_text(yaml.safe_dump(SWEEP))
    rc = main(["report", str(sweep_dir)])
    cap = capsys.readouterr()
    line = one_error_line(rc, cap.out, cap.err)
    assert f"python -m bench status {sweep_dir}" in line and "write_summary" not in line


def test_status_problems_with_none_says_so(dcgan_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = from_dict({"name": "ok", "models": ["dcgan"], "datasets": ["digits"], "seeds": [0], "steps": 4,
                       "set": {"width": 8, "latent_dim": 8, "batch_size": 32}})
    root = tmp_path / "ok"
    (root / "runs").mkdir(parents=True)
    (root / "sweep.yaml").write_text(sweep.to_yaml())
    rc = main(["status", str(root), "--problems"])
    out = capsys.readouterr().out
    assert rc == 0 and out.splitlines()[0] == "no problems: no run is running, diverged or failed"
    assert "run_id" not in out  # no empty table


def test_sharpness_is_best_closest_to_the_real_data(tmp_path: Path) -> None:
    """Synthetic sweep of tests/test_report_tables.py (real data 1.20; dcgan 0.60 is the closest) plus a
    model at 2.50, the highest but 1.30 away from the real value: the closest is bold, not the highest;
    without the real-data row sharpness is not ranked."""
    import pandas as pd
    from test_report_tables import synthetic_rows

    from bench.report.layouts import generic
    from bench.report.load import aggregate, read_summary
    from bench.report.published import PublishedValues
    from bench.report.tables import build_table

    extra = [{"sweep": "synthetic", "run_id": f"began-lsm-digits-s{s}", "dataset": "digits", "model": "began-lsm",
              "seed": s, "protocol": "fair", "status": "completed", "step": 100, "params": "{}",
              "metric": "sharpness", "value": v, "n_samples": 100} for s, v in enumerate([2.4, 2.5, 2.6])]
    for with_real in (True, False):
        rows = [r for r in synthetic_rows() + extra if with_real or r["model"] != "real"]
        path = tmp_path / f"{with_real}" / "summary.csv"
        path.parent.mkdir()
        pd.DataFrame(rows).to_csv(path, index=False)
        t = build_table(generic("digits"), aggregate(read_summary(path)), PublishedValues([]))
        best = {m for m in ("vae", "avae", "vae-gan", "dcgan", "began-lsm") if t.cell(m, "sharpness").best}
        assert best == ({"dcgan"} if with_real else set())
        assert t.cell("vae", "mse").best  # the other metrics keep their direction


# ---- 11. the project's own protocol document ---------------------------------------------------------
def test_protocol_document_covers_every_model_and_metric() -> None:
    from bench.registries import metrics, models

    text = (ROOT / "docs" / "protocols.md").read_text()
    for section in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## 6."):
        assert section in text, section
    for name in models().names():
        assert f"`{name}`" in text, name
    for name in metrics().names():
        assert f"`{name}`" in text, name


def test_no_file_refers_to_the_shared_folder_or_its_digest() -> None:
    """The papers' digest outside the repository is not part of a user's clone: docs/protocols.md is."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    needles = ("../" + "shared/", "PROTOCOLS" + ".md")
    offending = []
    for name in files:
        path = ROOT / name
        if path.suffix in (".png", ".pt", ".npz", ".pdf") or not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        offending += [f"{name}: {n}" for n in needles if n in text]
    assert offending == []
