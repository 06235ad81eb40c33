"""The job a Slurm array task executes: a run list, optionally packed, requeued on pre-emption.

:class:`SlurmWorker` extends :class:`bench.executors.RunWorker` (runs executed in order, each claimed with
its ``flock``, finished ones skipped) with the two things only a Slurm job needs:

* **packing**: ``concurrent`` > 1 starts that many child processes (``spawn``: each its own CUDA context on
  the job's GPU, so small models fill it together) which work through the same list, sharing it through
  the run claims exactly as the local executor's workers do; the job's CPU threads are split between
  them. Separate processes rather than CUDA streams in one process: no shared autograd or allocator state
  between runs, so each run computes exactly what it computes alone (measured throughput:
  ``benchmarks/gpu_throughput.py``).
* **requeue**: it is *checkpointable* in submitit's sense. On the pre-emption / time-limit signal (SIGUSR2
  under submitit) submitit calls :meth:`SlurmWorker.checkpoint`, which returns the same worker for
  requeueing; after the requeue, completed runs are skipped and the interrupted run resumes from its own
  ``checkpoint.pt`` (written every ``checkpoint_every`` steps), not from step 0.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.executors import ExecutorError, RunWorker, run_status


def _child_worker(runs: list[tuple[Any, str]], threads: int | None) -> None:
    """Entry point of one of a packed job's processes (imported by module path in the spawned child)."""
    RunWorker(runs, threads)()


class SlurmWorker(RunWorker):
    """A submitit Slurm job: execute ``runs`` (``(RunSpec, run_dir)`` pairs), ``concurrent`` at a time in
    separate processes; requeued by :meth:`checkpoint` on pre-emption."""

    def __init__(self, runs: list[tuple[Any, str]], threads: int | None = None, concurrent: int = 1) -> None:
        super().__init__(runs, threads)
        self.concurrent = concurrent

    def __call__(self) -> dict[str, str]:
        """Run everything; returns ``{run_id: status}`` for the runs of this job."""
        if self.concurrent > 1 and len(self.runs) > 1:
            return self._packed()
        return super().__call__()

    def _packed(self) -> dict[str, str]:
        """Run the list with ``concurrent`` child processes; statuses are read back from the run directories."""
        import multiprocessing

        k = min(self.concurrent, len(self.runs))
        threads = max(1, (self.threads or os.cpu_count() or 1) // k)
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_child_worker, args=(self.runs, threads)) for _ in range(k)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        crashed = [p.exitcode for p in procs if p.exitcode != 0]
        if crashed:
            raise ExecutorError(f"packed job: {len(crashed)} of {k} worker processes exited with {crashed}")
        return {spec.run_id(): str(run_status(Path(d))) for spec, d in self.runs}

    def checkpoint(self) -> Any:
        """submitit's pre-emption hook: requeue this same worker. Progress lives in the run
        directories (``checkpoint.pt`` every ``checkpoint_every`` steps), so nothing else to save."""
        import submitit

        return submitit.helpers.DelayedSubmission(SlurmWorker(self.runs, self.threads, self.concurrent))
