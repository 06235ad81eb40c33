"""The Slurm integration of hybrid-bench: a sweep's runs as one submitit job array.

- :mod:`slurm.worker`: :class:`SlurmWorker`, the job an array task executes — a
  :class:`bench.executors.RunWorker` that packs ``concurrent_runs`` processes on the job's GPU and, on
  pre-emption or the time-limit signal, requeues itself (the runs resume from their ``checkpoint.pt``).
- :mod:`slurm.resources`: the submitit parameters of a sweep's ``slurm:`` section and the check of that
  request against the cluster's partitions (``sinfo``) before anything is submitted.
- :mod:`slurm.executor`: :func:`submit_slurm`, which cuts the to-do list into ``runs_per_job`` chunks and
  submits them as one job array.

``bench.executors.run_sweep(..., executor="slurm")`` dispatches here. The local single-node cluster used by
the tests is ``slurm/cluster.sh``; ``slurm/README.md`` is the guide for a real cluster, ``slurm/NOTES.md``
what was learnt setting it up. Job functions are pickled by module path (``slurm.worker.SlurmWorker``), so
the compute nodes import this package from the same installation (``pip install -e .`` on a shared file
system).
"""

from slurm.executor import require_sbatch, submit_slurm
from slurm.resources import check_slurm_resources, slurm_parameters
from slurm.worker import SlurmWorker

__all__ = ["SlurmWorker", "check_slurm_resources", "require_sbatch", "slurm_parameters", "submit_slurm"]
