"""The Slurm path for real: a single-node Slurm cluster on localhost (slurm/cluster.sh), the `smoke`
sweep submitted through submitit's Slurm executor as a job array, and a pre-empted job that
checkpoints, is requeued and resumes from its checkpoint to the same metrics as an uninterrupted run.

Skipped, with the reason printed, only where Slurm cannot be installed (no root, no apt mirror).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from bench import sweep as sweepmod
from bench.executors import SweepPaths, last_step, run_status, run_sweep
from bench.run import execute
from bench.status import counts, sweep_states

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module")
def cluster() -> object:
    """Start the single-node cluster (installing Slurm if needed); stop it at the end."""
    reason = None
    if os.name != "posix" or not hasattr(os, "geteuid") or os.geteuid() != 0:
        reason = "needs root to install and start the local Slurm cluster"
    elif shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        reason = "no apt-get to install Slurm and no Slurm installed"
    if reason:
        print(f"SKIP Slurm tests: {reason}")
        pytest.skip(reason)
    r = subprocess.run(["bash", str(ROOT / "slurm/cluster.sh"), "start"], capture_output=True, text=True, timeout=900)
    if r.returncode == 3:  # the script's code for "packages cannot be installed"
        print(f"SKIP Slurm tests: {r.stderr.strip()}")
        pytest.skip(f"Slurm cannot be installed here: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr[-2000:]
    yield
    subprocess.run(["bash", str(ROOT / "slurm/cluster.sh"), "stop"], capture_output=True, text=True, timeout=120)


def test_smoke_sweep_on_slurm(cluster: object, tmp_path: Path) -> None:
    sweep = sweepmod.load("smoke")
    # each array task runs its 5 runs with 2 worker processes at once (GPU packing, here on CPU)
    sweep = dataclasses.replace(sweep, slurm=dataclasses.replace(sweep.slurm, concurrent_runs=2))
    paths = SweepPaths(tmp_path / "smoke")
    result = run_sweep(sweep, paths, executor="slurm", progress=False)
    # one job array, runs_per_job runs per task
    assert len(result.jobs) == -(-len(sweep) // sweep.slurm.runs_per_job) == 2
    array_id = result.jobs[0].job_id.split("_")[0]
    assert [j.job_id for j in result.jobs] == [f"{array_id}_0", f"{array_id}_1"]
    # what each task unpickles on the node: the Slurm package's worker, by module path, with the packing asked for
    job_fn = result.jobs[0].submission().function
    assert (type(job_fn).__module__, type(job_fn).__name__, job_fn.concurrent) == ("slurm.worker", "SlurmWorker", 2)
    deadline = time.time() + 60  # submitit's done() reads the result file; the process may still be exiting
    while True:
        sacct = subprocess.run(["sacct", "-n", "-X", "-j", array_id, "-o", "JobID,State"], capture_output=True,
                               text=True, check=True).stdout.split()
        if sacct.count("COMPLETED") == 2 or time.time() > deadline:
            break
        time.sleep(0.5)
    assert sacct.count("COMPLETED") == 2, sacct
    c = counts(sweep_states(sweep, paths))
    assert c["completed"] == len(sweep) == 10, c
    # every run was executed by a Slurm array task, exactly once, by one of that task's two processes
    pids: dict[str, set[int]] = {}
    for run_dir in paths.runs.iterdir():
        attempts = [json.loads(ln) for ln in (run_dir / "attempts.jsonl").read_text().splitlines()]
        assert [a["event"] for a in attempts] == ["start", "end"]
        assert attempts[0]["job"].startswith(f"slurm:{array_id}_")
        pids.setdefault(attempts[0]["job"], set()).add(attempts[0]["pid"])
    assert sorted(len(p) for p in pids.values()) == [2, 2], pids
    df = pd.read_csv(paths.summary)
    ok = df[df["status"] == "completed"]
    per_cell = ok.groupby(["dataset", "model", "metric"])["seed"].nunique()
    assert set(per_cell.index.get_level_values("model")) == {"vae", "dcgan"}
    assert (per_cell == 5).all(), per_cell
    # the GAN has no reconstructions: its mse is absent, not zero
    assert set(ok[ok["model"] == "dcgan"]["metric"]) == {"sharpness"}
    assert set(ok[ok["model"] == "vae"]["metric"]) == {"mse", "cosine", "sharpness", "sharpness_recon"}


def test_preempted_job_resumes_from_checkpoint(cluster: object, tmp_path: Path) -> None:
    sweep = sweepmod.from_dict({
        "name": "preempt", "models": ["vae"], "datasets": ["digits"], "seeds": [3], "steps": 150,
        "set": {"width": 8, "latent_dim": 8, "batch_size": 32}, "eval": {"metrics": ["mse", "sharpness"], "n": 100},
        "log_every": 10, "checkpoint_every": 10,
        "slurm": {"cpus_per_task": 1, "time_min": 30}})  # > 10 min: a USR2 counts as pre-emption, not timeout
    paths = SweepPaths(tmp_path / "preempt")
    result = run_sweep(sweep, paths, executor="slurm", wait_for_jobs=False, progress=False)
    (job,) = result.jobs
    spec, run_dir = result.plan.todo[0]
    deadline = time.time() + 120
    while not ((run_dir / "checkpoint.pt").exists() and last_step(run_dir) >= 30):
        assert time.time() < deadline, "the job never reached step 30"
        assert run_status(run_dir) is None, "finished before it could be interrupted"
        time.sleep(0.2)
    job._interrupt()  # scancel --signal TERM, then USR2: submitit checkpoints and requeues the job
    deadline = time.time() + 180
    while run_status(run_dir) is None:
        assert time.time() < deadline, "the requeued job did not finish"
        time.sleep(0.5)
    log = [json.loads(ln) for ln in (run_dir / "log.jsonl").read_text().splitlines()]
    resumed = [r for r in log if r.get("event") == "resumed"]
    assert len(resumed) == 1 and resumed[0]["step"] >= 30, resumed
    assert log[-1]["step"] == 150
    attempts = [json.loads(ln) for ln in (run_dir / "attempts.jsonl").read_text().splitlines()]
    assert [a["event"] for a in attempts] == ["start", "start", "end"]  # killed once, then one clean attempt
    assert attempts[0]["job"] == attempts[1]["job"] == f"slurm:{job.job_id}"  # the same job, requeued
    restarts = subprocess.run(["sacct", "-n", "-X", "-j", str(job.job_id), "-o", "State", "-D"], capture_output=True,
                              text=True, check=True).stdout.split()
    assert "REQUEUED" in restarts or "PREEMPTED" in restarts or len(restarts) >= 2, restarts
    # an uninterrupted run of the same spec (same thread count as the job) ends with the same metrics
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        reference = execute(spec, tmp_path / "reference", progress=False)
    finally:
        torch.set_num_threads(threads)
    resumed_metrics = json.loads((run_dir / "metrics.json").read_text())
    assert resumed_metrics["status"] == reference["status"] == "completed"
    assert resumed_metrics["resumed_from"] == resumed[0]["step"] and reference["resumed_from"] == 0
    for key in ("mse", "sharpness", "step"):
        assert resumed_metrics[key] == pytest.approx(reference[key], rel=1e-6, abs=1e-9), key


@pytest.mark.parametrize(("flags", "field"), [
    (["--cpus", "64"], "slurm.cpus_per_task: 64 requested but the largest node of any partition has"),
    (["--mem-gb", "100000"], "slurm.mem_gb: 100000 GB requested"),
    (["--gpus", "1"], "slurm.gpus_per_node: 1 requested"),
    (["--partition", "gpu"], "slurm.partition: no partition 'gpu'"),
])
def test_impossible_request_fails_before_submitting(cluster: object, tmp_path: Path, capsys: pytest.CaptureFixture,
                                                    flags: list[str], field: str) -> None:
    from bench.cli import main

    before = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, check=True).stdout
    rc = main(["sweep", "smoke", "--executor", "slurm", "--out", str(tmp_path), *flags])
    err = capsys.readouterr().err
    assert rc == 2 and field in err and err.count("\n") == 1, err
    assert not (tmp_path / "smoke").exists()  # nothing written, nothing submitted
    assert subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, check=True).stdout == before


def test_request_refused_by_sbatch_is_one_line(cluster: object, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from bench.cli import main

    # passes the sinfo check, refused by sbatch itself (EnforcePartLimits=ALL: 2 nodes on a 1-node partition)
    rc = main(["sweep", "smoke", "--executor", "slurm", "--out", str(tmp_path), "--sbatch", "nodes=2", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1, err
    assert "slurm: sbatch refused the job array: sbatch: error: Batch job submission failed: Node count" in err
    assert not list((tmp_path / "smoke" / "runs").iterdir())  # no run started


def test_study_on_slurm(cluster: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`bench study --executor slurm`: two tables cut down to the run they share (dcgan, 1 seed, 20 steps, the
    smoke sweep's Slurm resources) go out as one job array; the run is trained once and copied."""
    from bench import study

    smoke = sweepmod.load("smoke")
    original = study.sweep_of

    def small(table: study.StudyTable) -> object:
        return dataclasses.replace(original(table), models=["dcgan"], seeds=[0], steps=20, per_model={},
                                   metrics=["is_domain"], set={"width": 8, "latent_dim": 4, "batch_size": 16},
                                   n_eval=60, log_every=10, curve_every=10, slurm=smoke.slurm)

    monkeypatch.setattr(study, "sweep_of", small)
    sp = study.run_study(study.select(["avae_table1", "alphagan"]), tmp_path, executor="slurm", progress=False)
    assert len(sp.plan.todo) == 1 and len(sp.copies) == 1
    jobs = json.loads((tmp_path / "_jobs" / "jobs.json").read_text())
    assert jobs["executor"] == "slurm" and len(jobs["job_ids"]) == 1
    for t in ("avae_table1", "alphagan"):
        df = pd.read_csv(tmp_path / t / "summary.csv")
        assert set(df["status"]) == {"completed"} and "is_domain" in set(df["metric"])
        assert pd.read_csv(tmp_path / t / study.CURVES_FILE)["step"].tolist() == [10, 20]
