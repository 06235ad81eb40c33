"""The local executor (submitit LocalExecutor workers sharing the to-do list through run claims):
20 runs written concurrently, idempotent re-submission, --retry-failed, a SIGKILLed sweep re-run to
completion with no run lost or duplicated, and a claimed run never executed twice."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from bench.cli import main
from bench.executors import RunWorker, SweepPaths, claim, make_plan, run_status, run_sweep
from bench.status import counts, run_state, sweep_states
from bench.sweep import from_dict
from slurm.worker import SlurmWorker

ROOT = Path(__file__).resolve().parents[1]
TINY = {"set": {"width": 4, "latent_dim": 4, "batch_size": 16}, "eval": {"metrics": ["mse", "sharpness"], "n": 50},
        "log_every": 5, "checkpoint_every": 5}
TWENTY = {"name": "twenty", "models": ["vae", "dcgan"], "datasets": ["digits"], "seeds": list(range(10)), "steps": 10,
          "local": {"parallel": 5}, **TINY}


def attempts(run_dir: Path) -> list[str]:
    path = run_dir / "attempts.jsonl"
    return [json.loads(ln)["event"] for ln in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def twenty(tmp_path_factory: pytest.TempPathFactory) -> SweepPaths:
    """A 20-run sweep executed once by 5 concurrent workers."""
    paths = SweepPaths(tmp_path_factory.mktemp("local") / "twenty")
    result = run_sweep(from_dict(TWENTY), paths, progress=False)
    assert len(result.jobs) == 5 and len(result.plan.todo) == 20
    return paths


def test_twenty_concurrent_runs_leave_twenty_valid_directories(twenty: SweepPaths) -> None:
    run_dirs = sorted(p for p in twenty.runs.iterdir() if p.is_dir())
    assert len(run_dirs) == 20
    expected_ids = {from_dict(TWENTY).run_spec(c).run_id() for c in from_dict(TWENTY).cells()}
    assert {p.name for p in run_dirs} == expected_ids
    for d in run_dirs:
        met = json.loads((d / "metrics.json").read_text())
        cfg = json.loads((d / "config.json").read_text())
        assert met["status"] == "completed" and met["step"] == 10 and cfg["run_id"] == d.name
        assert 0 <= met["sharpness"] < 1 and (cfg["spec"]["model"] == "dcgan" or 0 < met["mse"] < 1)
        assert torch.load(d / "checkpoint.pt", weights_only=False)["step"] == 10
        assert attempts(d) == ["start", "end"]  # each run executed exactly once
        assert not [f for f in d.iterdir() if f.name.endswith(".tmp")]  # no half-written file left
    # the workers shared the list (how many got work depends on how fast each one started)
    jobs = {json.loads((d / "attempts.jsonl").read_text().splitlines()[0])["job"] for d in run_dirs}
    assert 2 <= len(jobs) <= 5
    df = pd.read_csv(twenty.summary)
    assert df["run_id"].nunique() == 20 and (df["status"] == "completed").all()
    # vae: mse + sharpness; dcgan (no reconstructions): sharpness only → 10·2 + 10·1 rows
    assert len(df) == 30
    assert df.groupby("model")["seed"].nunique().to_dict() == {"dcgan": 10, "vae": 10}
    # summary values are exactly the run directories' values
    for _, row in df.iterrows():
        met = json.loads((twenty.runs / row["run_id"] / "metrics.json").read_text())
        assert row["value"] == pytest.approx(met[row["metric"]], rel=1e-12)


def test_rerunning_a_finished_sweep_runs_nothing(twenty: SweepPaths, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    before = {d.name: (d / "metrics.json").stat().st_mtime_ns for d in twenty.runs.iterdir()}
    sweep_file = tmp_path / "twenty.yaml"
    sweep_file.write_text(yaml.safe_dump(TWENTY))
    rc = main(["sweep", str(sweep_file), "--out", str(twenty.root.parent), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "0 run(s) submitted (0 resumed), 20 already finished" in out
    assert "20 runs: 20 completed, 0 running, 0 pending, 0 diverged, 0 failed" in out
    assert not list(twenty.submitit.glob("*/*_submitted.pkl"))[5:]  # still only the first 5 jobs
    after = {d.name: (d / "metrics.json").stat().st_mtime_ns for d in twenty.runs.iterdir()}
    assert after == before
    assert all(attempts(d) == ["start", "end"] for d in twenty.runs.iterdir())


def test_failed_runs_rerun_only_with_retry_failed(twenty: SweepPaths, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    paths = SweepPaths(tmp_path / "twenty")
    shutil.copytree(twenty.root, paths.root, ignore=shutil.ignore_patterns("submitit"))
    sweep = from_dict(TWENTY)
    victim = paths.runs / sweep.run_spec(sweep.cell(3)).run_id()
    good = json.loads((victim / "metrics.json").read_text())
    (victim / "metrics.json").write_text(json.dumps({"status": "failed", "reason": "RuntimeError: simulated crash"}))
    assert make_plan(sweep, paths).todo == []  # failed runs are not rerun by default
    rc = main(["status", str(paths.root)])
    out = capsys.readouterr().out
    assert rc == 0 and "19 completed" in out and "1 failed" in out
    line = next(ln for ln in out.splitlines() if ln.startswith(victim.name))
    assert "failed" in line and "RuntimeError: simulated crash" in line
    result = run_sweep(sweep, paths, retry_failed=True, progress=False)
    assert [d for _, d in result.plan.todo] == [victim] and result.plan.retried == 1
    assert json.loads((victim / "metrics.failed.json").read_text())["reason"] == "RuntimeError: simulated crash"
    again = json.loads((victim / "metrics.json").read_text())
    # it resumed from its final checkpoint (no retraining) and re-evaluated to the same numbers
    assert again["status"] == "completed" and again["resumed_from"] == 10
    assert again["mse"] == good["mse"] and again["sharpness"] == good["sharpness"]
    assert attempts(victim) == ["start", "end", "start", "end"]
    assert counts(sweep_states(sweep, paths))["completed"] == 20


def test_sigkilled_sweep_reruns_to_completion(tmp_path: Path) -> None:
    spec = {"name": "killme", "models": ["vae"], "datasets": ["digits"], "seeds": [0, 1, 2, 3, 4, 5], "steps": 60,
            "local": {"parallel": 2}, **TINY}
    sweep_file = tmp_path / "killme.yaml"
    sweep_file.write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "bench", "sweep", str(sweep_file), "--out", str(out), "--quiet"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    sweep = from_dict(spec)
    paths = SweepPaths(out / "killme")
    dirs = [paths.runs / sweep.run_spec(c).run_id() for c in sweep.cells()]
    deadline = time.time() + 120
    try:
        while True:  # mid-way: some runs finished, some with a checkpoint but unfinished
            done = [d for d in dirs if run_status(d) == "completed"]
            partial = [d for d in dirs if (d / "checkpoint.pt").exists() and run_status(d) is None]
            if done and partial:
                break
            assert proc.poll() is None and time.time() < deadline, "sweep ended before it could be killed"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep process and its workers, all at once
        proc.wait()
    time.sleep(0.5)
    finished_before = {d for d in dirs if run_status(d) == "completed"}
    assert 0 < len(finished_before) < len(dirs)
    states = {s.run_id: s for s in sweep_states(sweep, paths)}  # what `bench status` shows now
    assert counts(list(states.values()))["completed"] == len(finished_before)
    assert counts(list(states.values()))["running"] == 0  # the killed workers' claims died with them
    interrupted = [s for s in states.values() if s.reason.startswith("interrupted")]
    assert interrupted and all(s.state == "pending" and s.step > 0 for s in interrupted)
    result = run_sweep(sweep, paths, progress=False)
    assert len(result.plan.todo) == len(dirs) - len(finished_before)
    assert result.plan.resumable >= 1
    assert counts(sweep_states(sweep, paths)) == {"pending": 0, "running": 0, "completed": 6, "diverged": 0,
                                                  "failed": 0}
    resumed_steps = []
    for d in dirs:
        events = attempts(d)
        assert events.count("end") == 1  # executed to the end exactly once: nothing duplicated
        if d in finished_before:
            assert events == ["start", "end"]  # not touched by the re-run
        log = [json.loads(ln) for ln in (d / "log.jsonl").read_text().splitlines()]
        steps = [r["step"] for r in log if "event" not in r]
        assert steps == list(range(5, 61, 5))  # every logged step once, none lost, none repeated
        resumed_steps += [r["step"] for r in log if r.get("event") == "resumed"]
    assert resumed_steps and min(resumed_steps) > 0  # partial runs continued from their checkpoints
    df = pd.read_csv(paths.summary)
    assert sorted(df["seed"].unique()) == [0, 1, 2, 3, 4, 5] and len(df) == 12


def test_a_claimed_run_is_waited_for_not_run_twice(tmp_path: Path) -> None:
    sweep = from_dict({"name": "claims", "models": ["vae"], "datasets": ["digits"], "seeds": [0, 1], "steps": 5,
                       **TINY})
    specs = [sweep.run_spec(c) for c in sweep.cells()]
    dirs = [tmp_path / s.run_id() for s in specs]
    worker = RunWorker(list(zip(specs, [str(d) for d in dirs], strict=True)), threads=1)
    result: dict[str, str] = {}
    with claim(dirs[0], block=True):  # another process "runs" the first one
        t = threading.Thread(target=lambda: result.update(worker()))
        t.start()
        deadline = time.time() + 60
        while run_status(dirs[1]) is None:  # the worker skipped the claimed run and did the other
            assert time.time() < deadline
            time.sleep(0.05)
        time.sleep(0.3)
        assert t.is_alive() and run_status(dirs[0]) is None  # ... and now waits for the claim
        assert run_state(dirs[0], specs[0], {}).state == "running"  # `bench status` sees the claim
        assert run_state(dirs[1], specs[1], {}).state == "completed"
        (dirs[0] / "metrics.json").write_text(json.dumps({"status": "completed", "step": 5}))
    t.join(timeout=60)
    assert result == {specs[0].run_id(): "completed", specs[1].run_id(): "completed"}
    assert attempts(dirs[0]) == [] and attempts(dirs[1]) == ["start", "end"]
    assert not (dirs[0] / "checkpoint.pt").exists()  # the worker never trained the claimed run


def test_packed_job_runs_its_runs_concurrently_with_the_same_results(tmp_path: Path) -> None:
    """``concurrent_runs`` = 2: two child processes share a job's four runs through the claims; each run
    is executed once, the two processes overlap in time, and a run's result equals the same run executed
    alone (same seed, same CPU result)."""
    sweep = from_dict({"name": "packed", "models": ["vae"], "datasets": ["digits"], "seeds": [0, 1, 2, 3],
                       "steps": 30, **TINY})
    specs = [sweep.run_spec(c) for c in sweep.cells()]
    dirs = [tmp_path / "packed" / s.run_id() for s in specs]
    result = SlurmWorker(list(zip(specs, [str(d) for d in dirs], strict=True)), threads=2, concurrent=2)()
    assert result == {s.run_id(): "completed" for s in specs}
    spans: dict[int, list[tuple[float, float]]] = {}
    for d in dirs:
        assert attempts(d) == ["start", "end"]  # each run executed exactly once
        start, end = [json.loads(ln) for ln in (d / "attempts.jsonl").read_text().splitlines()]
        spans.setdefault(start["pid"], []).append((start["time"], end["time"]))
    assert len(spans) == 2 and os.getpid() not in spans  # two worker processes, neither of them this one
    (start_a, end_a), (start_b, end_b) = ((min(t[0] for t in v), max(t[1] for t in v)) for v in spans.values())
    assert start_a < end_b and start_b < end_a  # their working periods overlap: concurrent, not one after the other
    alone = tmp_path / "alone"
    RunWorker([(specs[2], str(alone))], threads=1)()
    packed_rec = json.loads((dirs[2] / "metrics.json").read_text())
    alone_rec = json.loads((alone / "metrics.json").read_text())
    assert {k: packed_rec[k] for k in ("mse", "sharpness")} == {k: alone_rec[k] for k in ("mse", "sharpness")}
