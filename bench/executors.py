"""Running a sweep's runs: on this machine (N at a time) or on Slurm (the :mod:`slurm` package), both
through submitit.

The unit of work is a :class:`RunWorker` — a small picklable callable that executes a list of runs,
one after the other, each with :func:`bench.run.execute` in its own directory. The Slurm job
(:class:`slurm.worker.SlurmWorker`) extends it with packing and requeueing on pre-emption; an
interrupted run resumes from its own ``checkpoint.pt`` (written every ``checkpoint_every`` steps), not
from step 0.

Each run is claimed with an exclusive ``flock`` on ``<run_dir>/.lock`` for as long as it executes,
so two workers — two array tasks, a re-submitted sweep beside a still-running one, or the orphaned
workers of a killed sweep process — never run the same run twice at the same time: a worker skips a
claimed run, finishes the others, then waits for the claim to end and re-checks. A run is finished
when its ``metrics.json`` says completed / diverged / failed; ``--retry-failed`` moves a failed
run's ``metrics.json`` aside (to ``metrics.failed.json``) so that it runs again (resuming).

Executors:

* ``local``: ``parallel`` workers through submitit's ``LocalExecutor``; every worker gets the whole
  to-do list and they share it through the claims (dynamic load balancing; torch is imported once
  per worker, not once per run).
* ``slurm``: :func:`slurm.executor.submit_slurm` — one job array of ``runs_per_job``-run chunks
  (``concurrent_runs`` of them at a time), with the sweep's ``slurm:`` resources checked against
  ``sinfo`` before anything is written.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.atomic import append_jsonl, write_json
from bench.config import DEFAULT_THREADS, check_run_option
from bench.errors import BenchError, ConfigError
from bench.sweep import Sweep, run_ids

TERMINAL = ("completed", "diverged", "failed")
LOCK = ".lock"
ATTEMPTS = "attempts.jsonl"


class ExecutorError(BenchError):
    """The executor cannot run or submit (no sbatch, a request the cluster refuses, a crashed worker)."""


class SweepDirectoryError(BenchError):
    """The sweep directory holds another sweep, or files that are not a sweep's: nothing was written."""


@dataclass(frozen=True)
class SweepPaths:
    """Where a sweep lives: ``<out>/<name>/{runs/<run_id>/, summary.csv, sweep.yaml, submitit/, jobs.json}``."""

    root: Path

    @classmethod
    def of(cls, sweep_name: str, out: str | Path = "results/sweeps") -> SweepPaths:
        return cls(Path(out).resolve() / sweep_name)

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def summary(self) -> Path:
        return self.root / "summary.csv"

    @property
    def sweep_file(self) -> Path:
        return self.root / "sweep.yaml"

    @property
    def submitit(self) -> Path:
        return self.root / "submitit"

    @property
    def jobs(self) -> Path:
        return self.root / "jobs.json"


def check_sweep_dir(sweep: Sweep, paths: SweepPaths, option: str = "--out") -> None:
    """Whether ``paths.root`` may hold ``sweep`` (the rule of ``train --out`` for run directories): it is absent
    or empty, or it is a sweep directory (``sweep.yaml`` and ``runs/``) of the same sweep — same name and the
    same runs (run ids). Anything else raises :class:`SweepDirectoryError` (one line) and nothing is touched:
    a user's files are never replaced, and one sweep's summary never mixes with another's runs."""
    from bench import sweep as sweepmod
    from bench.outpaths import check_folder

    root = paths.root
    check_folder(root.parent, option)
    if not root.exists():
        return
    if not root.is_dir():
        raise SweepDirectoryError(f"{root} is a file, not a sweep directory: choose another {option}")
    if not paths.sweep_file.is_file() or not paths.runs.is_dir():
        entries = sorted(p.name for p in root.iterdir())
        if not entries:
            return
        more = f" and {len(entries) - 1} more" if len(entries) > 1 else ""
        raise SweepDirectoryError(f"{root} is not empty and is not a sweep directory (it holds {entries[0]!r}{more}; "
                                  f"a sweep directory has sweep.yaml and runs/): choose another {option}")
    try:
        recorded = sweepmod.load(paths.sweep_file, check_names=False)
        recorded_ids = set(run_ids(recorded))
    except BenchError as err:
        raise SweepDirectoryError(f"{root} holds a sweep.yaml that is not a readable sweep ({err}): choose another "
                                  f"{option}") from None
    if recorded.name != sweep.name:
        raise SweepDirectoryError(f"{root} holds sweep {recorded.name!r}, not {sweep.name!r}: choose another {option}")
    wanted = set(run_ids(sweep))
    if recorded_ids != wanted:
        raise SweepDirectoryError(
            f"{root} holds sweep {sweep.name} with another matrix ({len(recorded_ids)} runs, {len(recorded_ids & wanted)} "
            f"of them in this one's {len(wanted)}): a sweep directory belongs to one sweep; choose another {option} "
            "(or another sweep name)")


# ---- claims -------------------------------------------------------------------------------
@contextlib.contextmanager
def claim(run_dir: Path, *, block: bool) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``run_dir/.lock``; yields False (without blocking) if another
    process holds it and ``block`` is False. The kernel drops the lock when the process dies."""
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def is_claimed(run_dir: Path) -> bool:
    """Whether some process is executing the run now (its lock is held)."""
    if not (run_dir / LOCK).exists():
        return False
    with claim(run_dir, block=False) as got:
        return not got


def run_status(run_dir: Path) -> str | None:
    """``completed`` / ``diverged`` / ``failed`` from ``metrics.json``, or None if not finished."""
    path = run_dir / "metrics.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text()).get("status")
    except (OSError, json.JSONDecodeError):  # cannot happen with atomic writes; treat as unfinished
        return None


def job_label() -> str:
    """Where this process runs: Slurm job (array) id, else the submitit local job id, else the PID."""
    env = os.environ
    if "SLURM_ARRAY_JOB_ID" in env:
        return f"slurm:{env['SLURM_ARRAY_JOB_ID']}_{env.get('SLURM_ARRAY_TASK_ID', '')}"
    if "SLURM_JOB_ID" in env:
        return f"slurm:{env['SLURM_JOB_ID']}"
    return f"local:{env.get('SUBMITIT_LOCAL_JOB_ID', os.getpid())}"


# ---- the job callable ------------------------------------------------------------------------
class RunWorker:
    """A submitit job: execute ``runs`` (``(RunSpec, run_dir)`` pairs) in order, skipping finished
    ones and ones another worker holds (waiting for those at the end)."""

    def __init__(self, runs: list[tuple[Any, str]], threads: int | None = None) -> None:
        self.runs = [(spec, str(Path(d).resolve())) for spec, d in runs]
        self.threads = threads

    def __call__(self) -> dict[str, str]:
        """Run everything; returns ``{run_id: status}`` for the runs this worker handled."""
        import torch

        threads_before = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            return self._run_all()
        finally:  # the calling process keeps its own setting (a worker may also be called in-process)
            torch.set_num_threads(threads_before)

    def _run_all(self) -> dict[str, str]:
        done: dict[str, str] = {}
        left = list(self.runs)
        while left:
            waiting = []
            for spec, d in left:
                status = self._try(spec, Path(d), block=False)
                if status is None:
                    waiting.append((spec, d))
                else:
                    done[spec.run_id()] = status
            if waiting:  # claimed elsewhere: wait for the first claim to end, then look again
                spec, d = waiting[0]
                status = self._try(spec, Path(d), block=True)
                done[spec.run_id()] = str(status)
                waiting = waiting[1:]
            left = waiting
        return done

    def _try(self, spec: Any, run_dir: Path, *, block: bool) -> str | None:
        """Execute one run if it is unfinished and unclaimed; its status, or None if claimed elsewhere."""
        from bench.run import execute

        status = run_status(run_dir)
        if status in TERMINAL:
            return status
        with claim(run_dir, block=block) as got:
            if not got:
                return None
            status = run_status(run_dir)  # finished while we waited for the claim
            if status in TERMINAL:
                return status
            append_jsonl(run_dir / ATTEMPTS, {"event": "start", "time": time.time(), "host": socket.gethostname(),
                                              "pid": os.getpid(), "job": job_label()})
            try:
                record = execute(spec, run_dir, progress=False)
                status = str(record.get("status"))
            except BenchError as err:  # e.g. the dataset is missing on this node: recorded, not fatal
                status = "failed"
                write_json(run_dir / "metrics.json", {"status": "failed", "reason": str(err)})
            except Exception:  # execute() recorded it in metrics.json; the other runs go on
                status = "failed"
                traceback.print_exc(file=sys.stderr)
            append_jsonl(run_dir / ATTEMPTS, {"event": "end", "time": time.time(), "status": status})
            print(f"{spec.run_id()}: {status}", flush=True)
            return status

# ---- planning --------------------------------------------------------------------------------
@dataclass
class Plan:
    """What a (re-)submission will do: the runs to execute and what is skipped."""

    todo: list[tuple[Any, Path]]
    finished: dict[str, int]  # status → count of runs skipped as finished
    resumable: int  # runs in ``todo`` that have a checkpoint
    retried: int  # failed runs that will run again (--retry-failed)


def make_plan(sweep: Sweep, paths: SweepPaths, *, retry_failed: bool = False, device: str = "cpu",
              data_root: str | None = None, weights_dir: str | None = None, apply: bool = True) -> Plan:
    """Sort the sweep's runs into finished (skipped) and to-do. With ``retry_failed`` and ``apply``,
    a failed run's ``metrics.json`` is moved to ``metrics.failed.json`` so that it runs again."""
    todo: list[tuple[Any, Path]] = []
    finished: dict[str, int] = {}
    resumable = retried = 0
    for cell in sweep.cells():
        spec = sweep.run_spec(cell, device=device, data_root=data_root, weights_dir=weights_dir)
        run_dir = paths.runs / spec.run_id()
        status = run_status(run_dir)
        if status == "failed" and retry_failed:
            retried += 1
            if apply:
                os.replace(run_dir / "metrics.json", run_dir / "metrics.failed.json")
            status = None
        if status in TERMINAL:
            finished[str(status)] = finished.get(str(status), 0) + 1
            continue
        resumable += (run_dir / "checkpoint.pt").exists()
        todo.append((spec, run_dir))
    return Plan(todo, finished, resumable, retried)


# ---- local -----------------------------------------------------------------------------------
def submit_local(plan: Plan, paths: SweepPaths, parallel: int, threads: int = DEFAULT_THREADS) -> list[Any]:
    """Start ``min(parallel, len(todo))`` workers on this machine through submitit's LocalExecutor, each
    running its runs at ``threads`` torch threads (the default of ``train`` too: same results)."""
    import submitit

    n = min(parallel, len(plan.todo))
    if n == 0:
        return []
    ex = submitit.LocalExecutor(folder=paths.submitit / "%j")
    # LocalExecutor kills a job after timeout_min (default 2 min): local runs have no time limit.
    ex.update_parameters(timeout_min=60 * 24 * 30)
    todo = [(spec, str(d)) for spec, d in plan.todo]
    with controller_stderr(paths.submitit / "controllers.err"):
        return [ex.submit(RunWorker(todo, threads)) for _ in range(n)]


@contextlib.contextmanager
def controller_stderr(log: Path) -> Iterator[None]:
    """Send the standard error of the processes started inside (submitit's local job controllers) to
    ``log``. On Ctrl-C the terminal interrupts the whole process group: the command exits with code 130
    and each controller stops its worker (the run resumes from its checkpoint next time), but a
    controller also prints its own ``KeyboardInterrupt`` traceback, which belongs in a log, not on the
    user's terminal. The workers' output already goes to submitit's per-job log files."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(fd, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)


# ---- waiting ---------------------------------------------------------------------------------
def last_step(run_dir: Path) -> int:
    """The last step logged in ``log.jsonl`` (0 if none) — cheap progress for the bar."""
    log = run_dir / "log.jsonl"
    try:
        with open(log, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 4096))
            lines = fh.read().decode(errors="ignore").strip().splitlines()
        return int(json.loads(lines[-1]).get("step", 0)) if lines else 0
    except (OSError, ValueError, IndexError):
        return 0


def wait(jobs: list[Any], plan: Plan, *, steps: dict[str, int], progress: bool = True, poll_s: float = 1.0) -> None:
    """Wait for ``jobs`` with a progress bar (runs finished, fractional by logged step); raise an
    :class:`ExecutorError` naming any job that crashed (not a run that failed: that is recorded)."""
    from tqdm import tqdm

    total = len(plan.todo)
    bar = tqdm(total=total, disable=not progress or total == 0, unit="run", dynamic_ncols=True,
               bar_format="{l_bar}{bar}| {n:.1f}/{total} runs [{elapsed}<{remaining}]")
    try:
        while True:
            finished = all(j.done() for j in jobs)
            value = 0.0
            for spec, d in plan.todo:
                if run_status(d) in TERMINAL:
                    value += 1
                else:
                    value += min(last_step(d) / max(steps.get(spec.run_id(), 1), 1), 0.99)
            bar.n = round(value, 2)
            bar.refresh()
            if finished:
                break
            time.sleep(poll_s)
    finally:
        bar.close()
    crashed = []
    for j in jobs:
        err = j.exception()
        if err is not None:
            crashed.append(f"job {j.job_id}: {' '.join(str(err).split())[-200:]}")
    if crashed:
        raise ExecutorError("; ".join(crashed) + f" (logs: {Path(jobs[0].paths.stdout).parent})")


def expected_steps(plan: Plan) -> dict[str, int]:
    """Training steps of each to-do run (the sweep's ``steps`` or the model config's default)."""
    from bench.registries import models

    out = {}
    for spec, _ in plan.todo:
        out[spec.run_id()] = spec.steps if spec.steps is not None else models().get(spec.model).Config().steps
    return out


def preflight(plan: Plan) -> None:
    """Before starting local workers: every (model, dataset, protocol) of the to-do list resolves
    (dataset on disk, device available, config valid), else one :class:`BenchError` line — the same
    checks :func:`bench.run.execute` makes, done once here instead of failing in every run."""
    from bench.run import prepare

    seen: set[tuple[str, str, str, str]] = set()
    for spec, _ in plan.todo:
        key = (spec.model, spec.dataset, spec.protocol, json.dumps(spec.overrides, sort_keys=True, default=str))
        if key not in seen:
            seen.add(key)
            prepare(spec)


# ---- the whole submission --------------------------------------------------------------------
@dataclass
class SweepResult:
    """What :func:`run_sweep` did."""

    plan: Plan
    jobs: list[Any]
    paths: SweepPaths
    waited: bool


def run_sweep(sweep: Sweep, paths: SweepPaths, *, executor: str = "local", retry_failed: bool = False,
              wait_for_jobs: bool = True, progress: bool = True, device: str = "cpu", data_root: str | None = None,
              weights_dir: str | None = None, parallel: int | None = None,
              threads: int = DEFAULT_THREADS) -> SweepResult:
    """Submit the unfinished runs of ``sweep`` (idempotent: finished runs are skipped, partial ones
    resume, failed ones only with ``retry_failed``), wait for them, and rebuild ``summary.csv``."""
    from bench.summary import write_summary

    if executor not in ("local", "slurm"):
        raise ConfigError(f"bad value for --executor: {executor!r} (local or slurm)")
    check_run_option("threads", threads)
    if executor == "slurm":  # before anything is written: a request no node can satisfy fails here
        from slurm import check_slurm_resources, require_sbatch

        require_sbatch()
        check_slurm_resources(sweep.slurm)
    check_sweep_dir(sweep, paths)  # another sweep's directory, or a user's folder: refused, nothing touched
    kw = {"device": device, "data_root": data_root, "weights_dir": weights_dir}
    if executor == "local":  # nothing is written before this passes
        preflight(make_plan(sweep, paths, retry_failed=retry_failed, apply=False, **kw))  # type: ignore[arg-type]
    paths.runs.mkdir(parents=True, exist_ok=True)
    from bench.atomic import atomic_path

    with atomic_path(paths.sweep_file) as tmp:
        tmp.write_text(sweep.to_yaml())
    plan = make_plan(sweep, paths, retry_failed=retry_failed, **kw)  # type: ignore[arg-type]
    if executor == "local":
        jobs = submit_local(plan, paths, parallel or sweep.parallel, threads)
    else:
        from slurm import submit_slurm

        jobs = submit_slurm(plan, paths, sweep, threads)
    if wait_for_jobs:
        wait(jobs, plan, steps=expected_steps(plan), progress=progress)
        write_summary(paths.runs, paths.summary, sweep.name, run_ids(sweep))
    return SweepResult(plan, jobs, paths, wait_for_jobs)
