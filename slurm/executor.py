"""Submitting a sweep's to-do list to Slurm as one submitit job array.

The list is cut into chunks of ``runs_per_job`` runs, each chunk one array task running a
:class:`slurm.worker.SlurmWorker` (``concurrent_runs`` of its runs at a time, in separate processes);
``slurm_array_parallelism`` caps the tasks running at once. Partition, GPUs, CPUs, memory, time limit,
QoS, account and extra sbatch flags come from the sweep file's / command line's ``slurm:`` section
(:func:`slurm.resources.slurm_parameters`). ``jobs.json`` in the sweep directory records the job ids and
which runs each task holds.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import time
from collections.abc import Iterator
from typing import Any

from bench.atomic import write_json
from bench.config import DEFAULT_THREADS
from bench.executors import ExecutorError, Plan, SweepPaths
from bench.sweep import Sweep
from slurm.resources import check_slurm_resources, slurm_parameters
from slurm.worker import SlurmWorker


def require_sbatch() -> None:
    """One :class:`ExecutorError` line when this machine cannot submit (no ``sbatch`` on the PATH)."""
    if shutil.which("sbatch") is None:
        raise ExecutorError("slurm executor: sbatch not found (start the local cluster with: make slurm-up)")


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """submitit prints sbatch's refusal to ``sys.stderr`` and also puts it in the exception, which
    we turn into one line: silence the print while submitting."""
    with contextlib.redirect_stderr(io.StringIO()):
        yield


def submit_slurm(plan: Plan, paths: SweepPaths, sweep: Sweep, threads: int = DEFAULT_THREADS) -> list[Any]:
    """Submit the to-do list as one Slurm job array (``runs_per_job`` runs per task, each run at
    ``threads`` torch threads: a packed job's ``concurrent_runs`` processes get that many each)."""
    import submitit

    require_sbatch()
    res = sweep.slurm
    check_slurm_resources(res)
    if not plan.todo:
        return []
    ex = submitit.AutoExecutor(folder=paths.submitit / "%j", cluster="slurm")
    ex.update_parameters(**slurm_parameters(sweep.name, res))
    k = res.runs_per_job
    todo = [(spec, str(d)) for spec, d in plan.todo]
    chunks = [todo[i:i + k] for i in range(0, len(todo), k)]
    try:
        with _quiet_stderr(), ex.batch():
            jobs = [ex.submit(SlurmWorker(chunk, threads * res.concurrent_runs, res.concurrent_runs)) for chunk in chunks]
    except Exception as err:  # sbatch refused the request (EnforcePartLimits) → one line
        msg = " ".join(str(err).split())
        raise ExecutorError(f"slurm: sbatch refused the job array: {msg[-300:]}") from None
    write_json(paths.jobs, {"executor": "slurm", "time": time.time(), "job_ids": [j.job_id for j in jobs],
                            "runs": [[spec.run_id() for spec, _ in c] for c in chunks]})
    return jobs
