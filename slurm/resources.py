"""A sweep's ``slurm:`` section as submitit parameters, and its check against the cluster (``sinfo``).

:func:`check_slurm_resources` fails before anything is submitted, naming the field (``slurm.cpus_per_task``
…), when no node of the partition can ever satisfy the request — sbatch would otherwise accept some of
these and leave the job pending for ever.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from bench.errors import ConfigError
from bench.executors import ExecutorError
from bench.sweep import SlurmResources


def slurm_parameters(name: str, res: SlurmResources) -> dict[str, Any]:
    """submitit AutoExecutor parameters for ``res`` (generic names + ``slurm_``-prefixed ones)."""
    p: dict[str, Any] = {"name": f"hb-{name}", "timeout_min": res.time_min, "cpus_per_task": res.cpus_per_task,
                         "slurm_array_parallelism": res.array_parallelism}
    if res.gpus_per_node:
        p["gpus_per_node"] = res.gpus_per_node
    if res.mem_gb is not None:
        p["mem_gb"] = res.mem_gb
    for key in ("partition", "qos", "account"):
        if getattr(res, key) is not None:
            p[f"slurm_{key}"] = getattr(res, key)
    if res.sbatch:
        p["slurm_additional_parameters"] = {k.replace("-", "_"): v for k, v in res.sbatch.items()}
    if res.setup:
        p["slurm_setup"] = list(res.setup)
    return p


def time_limit_min(text: str) -> float | None:
    """sinfo's time limit (``infinite``, ``MM``, ``HH:MM:SS``, ``D-HH:MM:SS``) in minutes; None if unlimited."""
    text = text.strip()
    if text in ("infinite", "UNLIMITED", "n/a", ""):
        return None
    days = 0
    if "-" in text:  # days-hours[:minutes[:seconds]]
        d, text = text.split("-", 1)
        days = int(d)
        h, m, s = ([int(x) for x in text.split(":")] + [0, 0])[:3]
    else:
        parts = [int(x) for x in text.split(":")]
        h, m, s = {1: lambda: (0, parts[0], 0), 2: lambda: (0, parts[0], parts[1]), 3: lambda: tuple(parts)}[len(parts)]()
    return (days * 24 + h) * 60 + m + s / 60


def check_slurm_resources(res: SlurmResources, *, require_cluster: bool = True) -> str | None:
    """Compare the request with what the cluster's partitions offer (``sinfo``) and fail before
    submitting, naming the field (``slurm.cpus_per_task`` …), if no node of the partition can ever
    satisfy it. Without a reachable cluster (no ``sinfo``, or it fails) this is an error when
    ``require_cluster``, else (``--dry-run`` on a laptop) the reason it was skipped is returned."""
    if shutil.which("sinfo") is None:
        if require_cluster:
            raise ExecutorError("slurm executor: sinfo not found (start the local cluster with: make slurm-up)")
        return "no sinfo here: the request was not checked against a cluster"
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%R|%c|%m|%G|%l|%a"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except (subprocess.SubprocessError, OSError) as err:
        msg = f"slurm: sinfo failed ({' '.join(str(err).split())}); is the cluster up? (make slurm-up for the local one)"
        if require_cluster:
            raise ExecutorError(msg) from None
        return msg + ": the request was not checked against a cluster"
    parts: dict[str, dict[str, Any]] = {}
    for line in out.splitlines():
        name, cpus, mem, gres, limit, _avail = (line.split("|") + [""] * 6)[:6]
        gpus = sum(int(g.split(":")[-1].split("(")[0]) for g in gres.split(",") if g.startswith("gpu") and
                   g.split(":")[-1].split("(")[0].isdigit())
        p = parts.setdefault(name.rstrip("*"), {"cpus": 0, "mem": 0, "gpus": 0, "limit": None})
        p["cpus"] = max(p["cpus"], int(cpus.rstrip("+") or 0))
        p["mem"] = max(p["mem"], int("".join(ch for ch in mem if ch.isdigit()) or 0))
        p["gpus"] = max(p["gpus"], gpus)
        p["limit"] = time_limit_min(limit)
    if not parts:
        raise ExecutorError("slurm: sinfo lists no partition")
    if res.partition is not None and res.partition not in parts:
        raise ConfigError(f"slurm.partition: no partition {res.partition!r} (cluster has: {', '.join(sorted(parts))})")
    names = [res.partition] if res.partition else list(parts)
    best = {k: max(parts[n][k] for n in names) for k in ("cpus", "mem", "gpus")}
    where = f"partition {res.partition}" if res.partition else "any partition"
    if res.cpus_per_task > best["cpus"]:
        raise ConfigError(f"slurm.cpus_per_task: {res.cpus_per_task} requested but the largest node of {where} "
                          f"has {best['cpus']}")
    if res.mem_gb is not None and res.mem_gb * 1024 > best["mem"]:
        raise ConfigError(f"slurm.mem_gb: {res.mem_gb:g} GB requested but the largest node of {where} has "
                          f"{best['mem'] / 1024:.1f} GB")
    if res.gpus_per_node > best["gpus"]:
        raise ConfigError(f"slurm.gpus_per_node: {res.gpus_per_node} requested but the nodes of {where} have "
                          f"{best['gpus']} GPUs (gres)")
    if res.partition is not None:
        limit = parts[res.partition]["limit"]
        if limit is not None and res.time_min > limit:
            raise ConfigError(f"slurm.time_min: {res.time_min} min requested but partition {res.partition} "
                              f"allows {limit:g} min")
    return None
