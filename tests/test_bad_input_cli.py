"""Scripted command-line mistakes (issue #28): every sub-command, each mistake exactly one line on stderr, exit code
2, no traceback, and nothing created or changed in the working directory or the output folders.

The command lines run in-process (``bench.cli.main`` with argv, standard error captured, ``SystemExit`` caught),
each in a working directory holding the inputs the mistakes need; a handful also run through the real entry
point (``python -m bench`` in a subprocess) to show it behaves the same."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from bench.cli import main

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

ROOT = Path(__file__).resolve().parents[1]
TINY_SWEEP = {"name": "tiny", "models": ["vae"], "datasets": ["digits@16"], "seeds": [0], "steps": 2,
              "set": {"width": 8, "latent_dim": 4, "batch_size": 16}, "eval": {"metrics": ["sharpness"], "n": 20}}
TRAIN = ["train", "--model", "vae", "--dataset", "digits@16", "--steps", "2", "--set", "latent_dim=4",
         "--set", "batch_size=16", "--metrics", "sharpness", "--n-eval", "20", "--quiet"]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` (hidden ones too) → sha256 of its bytes ('dir' for folders)."""
    return {str(p.relative_to(folder)): "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))}


def run_in_process(argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)``: exit code, standard output, standard error; an exception escaping is a failure (it
    would be a traceback on the user's terminal)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as done:
            rc = done.code if isinstance(done.code, int) else 1
        except Exception as exc:  # noqa: BLE001 (what the user would see as a traceback)
            pytest.fail(f"{argv}: {type(exc).__name__} escaped: {exc}")
    return int(rc), out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory holding every input the mistakes below need."""
    from PIL import Image

    from bench.run import RunSpec, execute

    d = tmp_path_factory.mktemp("bad-input")
    (d / "a-file").write_text("not a folder\n")
    (d / "empty").mkdir()
    (d / "no-data").mkdir()
    (d / "my-folder").mkdir()
    (d / "my-folder" / "notes.txt").write_text("mine\n")
    (d / "out-dir").mkdir()
    np.savez(d / "ok.npz", images=np.zeros((4, 16, 16, 1), np.uint8))
    whole = (d / "ok.npz").read_bytes()
    (d / "corrupt.npz").write_bytes(whole[: len(whole) // 2])  # a truncated download
    np.savez(d / "float.npz", images=np.zeros((4, 16, 16, 1), np.float32))
    (d / "notes.txt").write_text("hello\n")
    imgs = d / "images"
    imgs.mkdir()
    for k in range(3):
        Image.new("L", (16, 16), 10 * k).save(imgs / f"{k}.png")
    run = d / "run"
    execute(RunSpec(model="vae", dataset="digits@16", steps=2, overrides={"width": 8, "latent_dim": 4,
                                                                          "batch_size": 16},
                    metrics=["sharpness"], n_eval=20), run, progress=False)
    cut = d / "cut-run"
    cut.mkdir()
    for f in run.iterdir():
        (cut / f.name).write_bytes(f.read_bytes())
    ckpt = (cut / "checkpoint.pt").read_bytes()
    (cut / "checkpoint.pt").write_bytes(ckpt[: len(ckpt) // 2])  # a checkpoint cut short (disk full, copy stopped)
    sweeps = d / "sweeps"
    sweeps.mkdir()
    (sweeps / "tiny.yaml").write_text(yaml.safe_dump(TINY_SWEEP))
    (sweeps / "bad.yaml").write_text("models: [vae\n")
    (sweeps / "unknown-model.yaml").write_text(yaml.safe_dump({**TINY_SWEEP, "models": ["nosuch"]}))
    (sweeps / "neg-seed.yaml").write_text(yaml.safe_dump({**TINY_SWEEP, "seeds": [-1]}))
    (sweeps / "extra-key.yaml").write_text(yaml.safe_dump({**TINY_SWEEP, "epochs": 3}))
    (sweeps / "list.yaml").write_text(yaml.safe_dump([1, 2]))
    foreign = d / "foreign" / "tiny"  # a user's folder where the sweep directory would go
    foreign.mkdir(parents=True)
    (foreign / "summary.csv").write_text("my,own\n1,2\n")
    (foreign / "sweep.yaml").write_text("my: notes\n")
    rep = d / "reports"
    for name, text in (("empty", ""), ("header-only", "dataset,model,seed,status,metric,value\n"),
                       ("columns", "a,b\n1,2\n"), ("no-summary", None)):
        (rep / name).mkdir(parents=True)
        if text is not None:
            (rep / name / "summary.csv").write_text(text)
    ok = rep / "ok"
    ok.mkdir()
    (ok / "summary.csv").write_text("dataset,model,seed,status,metric,value,params,run_id\n"
                                    "digits,vae,0,completed,mse,0.1,{},vae-digits-s0\n")
    return d


def _cases() -> dict[str, tuple[list[str], str]]:
    """case → (argv with ``{d}`` for the inputs folder, a piece of the expected line)."""
    t = ["train", "--model", "vae", "--dataset", "digits@16"]
    ev = ["evaluate", "--fake", "{d}/ok.npz", "--real", "digits@16"]
    sw = ["sweep", "{d}/sweeps/tiny.yaml", "--out", "{d}/out-dir"]
    rp = ["report", "{d}/reports/ok", "--no-plots"]
    perf = ["--perf-dir", str(ROOT / "results" / "perf")]
    return {
        # the top level
        "no command": ([], "required: command"),
        "unknown command": (["nosuch"], "invalid choice: 'nosuch'"),
        "unknown top-level option": (["--nosuch", "list", "models"], "unrecognized arguments"),
        # list
        "list: nothing to list": (["list"], "required: what"),
        "list: unknown kind": (["list", "model"], "invalid choice: 'model'"),
        "list: extra argument": (["list", "models", "extra"], "unrecognized arguments: extra"),
        # train
        "train: no --model": (["train", "--dataset", "digits"], "required: --model"),
        "train: unknown model": (["train", "--model", "nosuch", "--dataset", "digits"], "unknown model 'nosuch'"),
        "train: unknown dataset": (["train", "--model", "vae", "--dataset", "nosuch"], "unknown dataset 'nosuch'"),
        "train: bad size": ([*t[:4], "digits@abc"], "digits@abc"),
        "train: seed not a number": ([*t, "--seed", "abc"], "invalid int value: 'abc'"),
        "train: negative seed": ([*t, "--seed", "-1"], "bad value for seed: -1"),
        "train: zero steps": ([*t, "--steps", "0"], "bad value for steps: 0"),
        "train: --set without =": ([*t, "--set", "width"], "--set expects key=value"),
        "train: unknown --set key": ([*t, "--set", "nosuch=1"], "unknown key 'nosuch'"),
        "train: --set bad type": ([*t, "--set", "width=abc"], "bad value for width: 'abc'"),
        "train: --set key twice": ([*t, "--set", "width=8", "--set", "width=16"], "--set width given twice"),
        "train: --set NaN": ([*t, "--set", "beta=nan"], "must be a finite number"),
        "train: unknown protocol": ([*t, "--protocol", "nosuch"], "bad value for protocol"),
        "train: unknown metric": ([*t, "--metrics", "nosuch"], "unknown metric 'nosuch'"),
        "train: eval-samples choice": ([*t, "--eval-samples", "huge"], "invalid choice: 'huge'"),
        "train: zero n-eval": ([*t, "--n-eval", "0"], "bad value for n_eval: 0"),
        "train: zero log-every": ([*t, "--log-every", "0"], "bad value for log_every: 0"),
        "train: precision": ([*t, "--precision", "fp16"], "bad value for precision: 'fp16'"),
        "train: eval precision": ([*t, "--eval-precision", "fp16"], "bad value for eval-precision: 'fp16'"),
        "train: device": ([*t, "--device", "tpu"], "bad value for device: 'tpu'"),
        "train: zero threads": ([*t, "--threads", "0"], "bad value for threads: 0"),
        "train: --out a file": ([*TRAIN, "--out", "{d}/a-file"], "is a file, not a folder"),
        "train: --out a user's folder": ([*TRAIN, "--out", "{d}/my-folder"], "is not empty and is not a run directory"),
        "train: missing data offline": (["train", "--model", "vae", "--dataset", "cifar10", "--offline", "--data-root",
                                         "{d}/no-data"], "dataset 'cifar10' not found in"),
        # data
        "data: no action": (["data"], "required: ACTION"),
        "data: unknown action": (["data", "nosuch"], "invalid choice: 'nosuch'"),
        "data download: no name": (["data", "download"], "required: name"),
        "data download: unknown dataset": (["data", "download", "nosuch"], "unknown dataset 'nosuch'"),
        "data check: no name": (["data", "check"], "required: name"),
        "data check: unknown dataset": (["data", "check", "nosuch"], "unknown dataset 'nosuch'"),
        "data check: odd padded size": (["data", "check", "fashion-mnist@33"], "28 plus an even number"),
        # evaluate
        "evaluate: no --fake": (["evaluate"], "required: --fake"),
        "evaluate: no such path": (["evaluate", "--fake", "{d}/missing", "--real", "digits"], "no such file"),
        "evaluate: empty folder": (["evaluate", "--fake", "{d}/empty", "--real", "digits"], "no images"),
        "evaluate: corrupt .npz": (["evaluate", "--fake", "{d}/corrupt.npz", "--real", "digits@16"],
                                   "cannot read --fake"),
        "evaluate: float .npz": (["evaluate", "--fake", "{d}/float.npz", "--real", "digits@16"], "must be uint8"),
        "evaluate: not an image file": (["evaluate", "--fake", "{d}/notes.txt", "--real", "digits"], "expected an image"),
        "evaluate: no --real": (["evaluate", "--fake", "{d}/ok.npz"], "--real PATH is required"),
        "evaluate: unknown real": ([*ev[:3], "--real", "nosuch"], "no such file, folder, run directory or dataset"),
        "evaluate: no split": (["evaluate", "--fake", "digits:nosplit", "--real", "digits"], "has no split 'nosplit'"),
        "evaluate: unknown metric": ([*ev, "--metrics", "nosuch"], "unknown metric 'nosuch'"),
        "evaluate: no metric names": ([*ev, "--metrics", ","], "no metric names given"),
        "evaluate: zero n-eval": ([*ev, "--n-eval", "0"], "bad value for n_eval: 0"),
        "evaluate: zero critic steps": ([*ev, "--critic-steps", "0"], "bad value for critic_steps: 0"),
        "evaluate: eval precision": ([*ev, "--eval-precision", "fp16"], "bad value for eval-precision"),
        "evaluate: --json a folder": ([*ev, "--metrics", "sharpness", "--json", "{d}/out-dir"], "is a folder, not a file"),
        "evaluate: --json under a file": ([*ev, "--metrics", "sharpness", "--json", "{d}/a-file/m.json"],
                                          "is a file, not a folder"),
        "evaluate: truncated checkpoint": (["evaluate", "--fake", "{d}/cut-run", "--metrics", "sharpness"],
                                           "checkpoint.pt is truncated"),
        "evaluate: images against 32 px": (["evaluate", "--fake", "{d}/images", "--real", "digits"],
                                           "16x16 px but real images are 32x32 px"),
        # sweep
        "sweep: no file": (["sweep"], "required: file"),
        "sweep: no such sweep": (["sweep", "nosuch"], "no sweep file 'nosuch'"),
        "sweep: invalid YAML": (["sweep", "{d}/sweeps/bad.yaml", "--dry-run"], "not valid YAML"),
        "sweep: not a mapping": (["sweep", "{d}/sweeps/list.yaml", "--dry-run"], "expected a mapping"),
        "sweep: unknown model": (["sweep", "{d}/sweeps/unknown-model.yaml", "--dry-run"], "unknown model 'nosuch'"),
        "sweep: negative seed": (["sweep", "{d}/sweeps/neg-seed.yaml", "--dry-run"], "bad value for seed: -1"),
        "sweep: unknown key": (["sweep", "{d}/sweeps/extra-key.yaml", "--dry-run"], "field 'epochs': unknown key"),
        "sweep: unknown executor": ([*sw, "--executor", "nosuch"], "invalid choice: 'nosuch'"),
        "sweep: zero parallel": ([*sw, "--parallel", "0"], "bad value for parallel: 0"),
        "sweep: zero threads": ([*sw, "--threads", "0"], "bad value for threads: 0"),
        "sweep: --out a file": (["sweep", "{d}/sweeps/tiny.yaml", "--out", "{d}/a-file"], "is a file, not a folder"),
        "sweep: --out under a file": (["sweep", "{d}/sweeps/tiny.yaml", "--out", "{d}/a-file/x"], "is a file"),
        "sweep: a user's folder": (["sweep", "{d}/sweeps/tiny.yaml", "--out", "{d}/foreign"],
                                   "is not empty and is not a sweep directory"),
        "sweep: --sbatch without =": ([*sw, "--executor", "slurm", "--dry-run", "--sbatch", "nodes"],
                                      "--sbatch expects key=value"),
        "sweep: --sbatch flag twice": ([*sw, "--executor", "slurm", "--dry-run", "--sbatch", "nodes=1", "--sbatch",
                                        "nodes=2"], "--sbatch nodes given twice"),
        "sweep: zero time limit": ([*sw, "--executor", "slurm", "--dry-run", "--time-min", "0"], "time_min"),
        # status
        "status: nothing": (["status"], "required: sweep"),
        "status: no such sweep": (["status", "nosuch"], "no sweep file 'nosuch'"),
        "status: not a sweep directory": (["status", "{d}/empty"], "is not a sweep directory"),
        "status: not a sweep file": (["status", "{d}/notes.txt"], "expected a mapping"),
        # report
        "report: nothing": (["report"], "required: sweep_dir"),
        "report: no such directory": (["report", "{d}/nosuch"], "no sweep directory"),
        "report: no summary": (["report", "{d}/reports/no-summary"], "no summary.csv"),
        "report: empty summary": (["report", "{d}/reports/empty"], "is empty"),
        "report: header-only summary": (["report", "{d}/reports/header-only"], "has no runs"),
        "report: wrong columns": (["report", "{d}/reports/columns"], "lacks column(s)"),
        "report: unknown format": ([*rp, "--format", "docx"], "bad value for --format"),
        "report: unknown table": ([*rp, "--tables", "nosuch"], "unknown table layout 'nosuch'"),
        "report: --out a file": ([*rp, "--out", "{d}/a-file"], "is a file, not a folder"),
        # bench
        "bench: unknown budget": (["bench", "--budget", "huge"], "invalid choice: 'huge'"),
        "bench: unknown dataset": (["bench", "--dataset", "nosuch", "--dry-run"], "unknown dataset 'nosuch'"),
        "bench: zero parallel": (["bench", "--parallel", "0"], "bad value for parallel: 0"),
        "bench: zero threads": (["bench", "--threads", "0"], "bad value for threads: 0"),
        "bench: no such sweep file": (["bench", "--sweep", "{d}/nosuch.yaml", "--dry-run"], "no sweep file"),
        "bench: missing data offline": (["bench", "--dataset", "cifar10", "--offline", "--data-root", "{d}/no-data",
                                         "--out", "{d}/out-dir"], "dataset 'cifar10' not found in"),
        "bench: --out a file": (["bench", "--out", "{d}/a-file", "--dry-run"], "is a file, not a folder"),
        # study (bench/study.py, bench/cli_study.py)
        "study: unknown table": (["study", "--tables", "nosuch", "--dry-run"], "nosuch"),
        "study: zero parallel": (["study", "--parallel", "0", "--dry-run"], "bad value for parallel: 0"),
        "study: unknown executor": (["study", "--executor", "nosuch"], "invalid choice: 'nosuch'"),
        "study: unknown edition": (["study", "--edition", "nosuch", "--dry-run"], "nosuch"),
        "study: --out a file": (["study", "--report-only", "--out", "{d}/a-file"], "is a file"),
        "study: report of nothing": (["study", "--report-only", "--out", "{d}/new-study"], "{d}/new-study"),
        # weights
        "weights: unknown name": (["weights", "--only", "nosuch", "--list"], "nosuch"),
        "weights: extra argument": (["weights", "extra"], "unrecognized arguments: extra"),
        # perf
        "perf: no action": (["perf"], "required: action"),
        "perf: unknown action": (["perf", "nosuch"], "invalid choice: 'nosuch'"),
        "perf: zero peak": (["perf", "estimate", "--peak-tflops", "0", *perf], "bad value for --peak-tflops: 0"),
        "perf: utilisation not a number": (["perf", "estimate", "--utilisation", "abc", *perf], "invalid float value"),
        "perf: no such perf dir": (["perf", "estimate", "--perf-dir", "{d}/nosuch"], "no {d}/nosuch/flops.json"),
        "perf: --out a folder": (["perf", "report", "--out", "{d}/out-dir", *perf], "is a folder, not a file"),
    }


CASES = _cases()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, inputs: Path) -> Path:
    """Run in the inputs folder, with every default output place inside it and the network off-switch reset
    (``--offline`` sets it for the process)."""
    monkeypatch.chdir(inputs)
    monkeypatch.delenv("BENCH_OFFLINE", raising=False)
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(inputs / "no-weights"))
    monkeypatch.setenv("BENCH_DATA_ROOT", str(inputs / "no-data"))
    monkeypatch.setenv("BENCH_CACHE_DIR", str(inputs / "cache"))
    return inputs


def check_one_line(argv: list[str], expected: str, where: Path, run: Callable[[list[str]], tuple[int, str, str]]) -> None:
    before = snapshot(where)
    rc, out, err = run(argv)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2, (argv, rc, err)
    assert len(lines) == 1 and "Traceback" not in err, (argv, err)
    assert out == "", (argv, out)
    assert expected in lines[0], (argv, expected, lines[0])
    assert snapshot(where) == before, (argv, "files were created or changed")


def test_at_least_sixty_mistakes_cover_every_sub_command() -> None:
    from bench.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")  # noqa: SLF001 (argparse keeps them there)
    covered = {argv[0] for argv, _ in CASES.values() if argv and not argv[0].startswith("-")}
    assert len(CASES) >= 60
    assert set(sub.choices) <= covered, set(sub.choices) - covered


@pytest.mark.parametrize("case", list(CASES))
def test_mistake_is_one_line_exit_2_nothing_written(case: str, clean_env: Path) -> None:
    argv, expected = CASES[case]
    if "--device" in argv and torch.cuda.is_available():  # pragma: no cover (a GPU machine)
        pytest.skip("needs a machine without the device")
    d = str(clean_env)
    check_one_line([a.replace("{d}", d) for a in argv], expected.replace("{d}", d), clean_env, run_in_process)


# an argparse error, a source that used to escape as a traceback, and a refusal that must leave a folder untouched
SUBPROCESS_CASES = ("unknown command", "evaluate: corrupt .npz", "sweep: a user's folder")


def test_the_real_entry_point_behaves_the_same(clean_env: Path) -> None:
    """The same lines through ``python -m bench`` (a new process: the real stderr, the real exit)."""
    d = str(clean_env)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(argv: list[str]) -> tuple[int, str, str]:
        r = subprocess.run([sys.executable, "-m", "bench", *argv], cwd=clean_env, env=env, capture_output=True,
                           text=True, timeout=120)
        return r.returncode, r.stdout, r.stderr

    for case in SUBPROCESS_CASES:
        argv, expected = CASES[case]
        check_one_line([a.replace("{d}", d) for a in argv], expected.replace("{d}", d), clean_env, run)


def test_snapshot_sees_a_new_file(tmp_path: Path) -> None:
    """The check itself: a file written, a file changed, or a folder made is seen."""
    (tmp_path / "a").write_text("1")
    before = snapshot(tmp_path)
    (tmp_path / "a").write_text("2")
    assert snapshot(tmp_path) != before
    (tmp_path / "a").write_text("1")
    (tmp_path / "new").mkdir()
    assert snapshot(tmp_path) != before
    assert json.dumps(before)  # plain data
