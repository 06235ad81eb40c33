"""Sub-commands ``sweep`` and ``status`` (a plugin of :mod:`bench.cli`).

* ``python -m bench sweep FILE [--executor local|slurm] [--dry-run] [--retry-failed] ...``
* ``python -m bench status SWEEP`` (a sweep directory, file, or shipped name)
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from bench.cli import add_run_options, arguments, command
from bench.config import check_run_option
from bench.errors import ConfigError

DEFAULT_OUT = "results/sweeps"


# ---- helpers -----------------------------------------------------------------------------
def _slurm_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("slurm resources (override the sweep file's `slurm:` section)")
    g.add_argument("--partition", default=None)
    g.add_argument("--gpus", type=int, default=None, help="GPUs per node (gres)")
    g.add_argument("--cpus", type=int, default=None, help="CPUs per task")
    g.add_argument("--mem-gb", type=float, default=None)
    g.add_argument("--time-min", type=int, default=None, help="time limit per job, minutes")
    g.add_argument("--qos", default=None)
    g.add_argument("--account", default=None)
    g.add_argument("--array-parallelism", type=int, default=None, help="array tasks running at once")
    g.add_argument("--runs-per-job", type=int, default=None, help="runs packed into one job")
    g.add_argument("--concurrent-runs", type=int, default=None,
                   help="of a job's runs, how many execute at once (separate processes on the same GPU)")
    g.add_argument("--sbatch", action="append", default=[], metavar="FLAG=VALUE", help="extra sbatch flag")
    g.add_argument("--setup", action="append", default=[], metavar="LINE", help="shell line run before the job")


def apply_cli_resources(sweep: Any, args: argparse.Namespace) -> Any:
    """The sweep with the command line's Slurm options applied (validated like the file's)."""
    from bench.config import parse_assignments
    from bench.sweep import parse_slurm

    raw = dataclasses.asdict(sweep.slurm)
    for opt, key in (("partition", "partition"), ("gpus", "gpus_per_node"), ("cpus", "cpus_per_task"),
                     ("mem_gb", "mem_gb"), ("time_min", "time_min"), ("qos", "qos"), ("account", "account"),
                     ("array_parallelism", "array_parallelism"), ("runs_per_job", "runs_per_job"),
                     ("concurrent_runs", "concurrent_runs")):
        if getattr(args, opt, None) is not None:
            raw[key] = getattr(args, opt)
    if getattr(args, "sbatch", None):
        raw["sbatch"] = {**raw["sbatch"], **parse_assignments(args.sbatch, "--sbatch")}
    if getattr(args, "setup", None):
        raw["setup"] = [*raw["setup"], *args.setup]
    return dataclasses.replace(sweep, slurm=parse_slurm(sweep.name, raw))


def describe_resources(sweep: Any, n_todo: int, executor: str, parallel: int, folder: str = "FOLDER",
                       threads: int = 1) -> str:
    """What the submission will ask for (local workers, or the Slurm array and its #SBATCH lines)."""
    from slurm import slurm_parameters

    if executor == "local":
        n = min(parallel, n_todo)
        return f"local: {n} worker process(es) at a time, {threads} torch thread(s) each"
    res = sweep.slurm
    n_jobs = -(-n_todo // res.runs_per_job)
    lines = [f"slurm: job array of {n_jobs} task(s) ({res.runs_per_job} run(s) per task, {res.concurrent_runs} at a time, "
             f"{threads} torch thread(s) per run), "
             f"at most "
             f"{min(res.array_parallelism, max(n_jobs, 1))} at once; per task: partition={res.partition or '(default)'} "
             f"gpus_per_node={res.gpus_per_node} cpus_per_task={res.cpus_per_task} "
             f"mem_gb={res.mem_gb if res.mem_gb is not None else '(default)'} time_min={res.time_min} "
             f"qos={res.qos or '-'} account={res.account or '-'} extra={res.sbatch or '-'}"]
    try:  # the exact #SBATCH header submitit will write (private helper of the pinned submitit 1.5.4)
        from submitit.auto.auto import AutoExecutor  # noqa: F401  (parameter names below are AutoExecutor's)
        from submitit.slurm.slurm import _make_sbatch_string

        params = slurm_parameters(sweep.name, res)
        conv = {"timeout_min": "time", "name": "job_name", "gpus_per_node": "gpus_per_node",
                "cpus_per_task": "cpus_per_task", "mem_gb": "mem"}
        sb: dict[str, Any] = {}
        for k, v in params.items():
            if k.startswith("slurm_"):
                sb[k[len("slurm_"):]] = v
            else:
                sb[conv[k]] = f"{int(v * 1024)}MB" if k == "mem_gb" else v
        if n_jobs > 1:
            sb["map_count"] = n_jobs
        text = _make_sbatch_string(command=f"python -u -m submitit.core._submit {folder}", folder=folder, **sb)
        lines += [ln for ln in text.splitlines() if ln.startswith("#SBATCH")]
    except Exception as err:  # only a preview; the submission itself goes through submitit's public API
        lines.append(f"(no #SBATCH preview: {err})")
    return "\n".join(lines)


def format_matrix(sweep: Any, plan_ids: set[str]) -> str:
    """The expanded matrix: one line per cell (index, model, dataset, protocol, seed, grid point, steps, run id)."""
    rows = [("#", "model", "dataset", "protocol", "seed", "hp", "steps", "run_id", "todo")]
    for c in sweep.cells():
        spec = sweep.run_spec(c)
        steps = spec.steps or c.overrides.get("steps") or "default"  # the sweep's steps win over a model's set
        rows.append((str(c.index), c.model, c.dataset, c.protocol, str(c.seed),
                     ",".join(f"{k}={v}" for k, v in c.hp.items()) or "-", str(steps),
                     spec.run_id(), "yes" if spec.run_id() in plan_ids else "done"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def data_notes(datasets: list[str], data_root: str | None) -> list[str]:
    """For a dry run: one line per downloadable dataset that is not on disk — the run would download it first,
    or, offline (``--offline`` / ``BENCH_OFFLINE=1``), stop with the one-line error given here."""
    from bench.data import layout, parse_sized
    from bench.data.download import offline

    notes = []
    for name in datasets:
        missing = layout.missing_offline(parse_sized(name)[0], data_root)
        if missing is None:
            continue
        if offline():
            notes.append(f"note: offline and the data is missing: the run would stop with: {missing}")
        else:
            notes.append(f"note: dataset {name!r} is not in {missing.root} yet: the run downloads it first "
                         f"(python -m bench data download {parse_sized(name)[0]} --data-root {missing.root} does "
                         "it ahead)")
    return notes


def time_line(plan: Any, parallel: int, device: str, threads: int) -> str:
    """The dry run's expected training time of the plan's to-do runs (:mod:`bench.estimate`)."""
    from bench.estimate import expected_time
    from bench.executors import expected_steps

    steps = expected_steps(plan)
    return expected_time([(spec, steps[spec.run_id()]) for spec, _ in plan.todo], parallel, device, threads)


def _finish(sweep: Any, paths: Any) -> int:
    from bench.status import counts, format_counts, format_table, sweep_states

    states = sweep_states(sweep, paths)
    c = counts(states)
    problems = [s for s in states if s.state in ("failed", "diverged")]
    if problems:
        print(format_table(problems))
    print(format_counts(c))
    print(f"summary: {paths.summary}")
    print(f"run directories: {paths.runs}/")
    return 1 if c["failed"] else 0


# ---- sweep -------------------------------------------------------------------------------
def _sweep_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a sweep YAML file or the name of a shipped one (bench/sweeps/NAME.yaml)")
    p.add_argument("--executor", default="local", choices=["local", "slurm"])
    p.add_argument("--dry-run", action="store_true", help="print the expanded matrix and the resources; submit nothing")
    p.add_argument("--retry-failed", action="store_true", help="run failed runs again (they resume from checkpoints)")
    p.add_argument("--parallel", type=int, default=None, help="local executor: runs at a time (default: the sweep's)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"parent of the sweep directory (default {DEFAULT_OUT})")
    p.add_argument("--no-wait", action="store_true", help="slurm: return after submitting (see `bench status`)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _slurm_options(p)
    add_run_options(p)


@command("sweep", "run a sweep file (models × datasets × seeds × grid) locally or on Slurm, idempotently")
@arguments(_sweep_args)
def cmd_sweep(args: argparse.Namespace) -> int:
    from bench import sweep as sweepmod
    from bench.executors import SweepPaths, check_sweep_dir, make_plan, run_sweep
    from bench.outpaths import check_folder
    from slurm import check_slurm_resources

    if args.parallel is not None:
        check_run_option("parallel", args.parallel)
    check_run_option("threads", args.threads)
    check_folder(args.out, "--out")
    sweep = apply_cli_resources(sweepmod.load(args.file), args)
    paths = SweepPaths.of(sweep.name, args.out)
    check_sweep_dir(sweep, paths)  # a user's folder or another sweep's directory: refused (the dry run says so too)
    parallel = args.parallel or sweep.parallel
    if args.dry_run:
        unchecked = check_slurm_resources(sweep.slurm, require_cluster=False) if args.executor == "slurm" else None
        plan = make_plan(sweep, paths, retry_failed=args.retry_failed, device=args.device, apply=False)
        print(format_matrix(sweep, {s.run_id() for s, _ in plan.todo}))
        done = ", ".join(f"{n} {k}" for k, n in plan.finished.items()) or "none"
        print(f"sweep {sweep.name}: {len(sweep)} runs; to run: {len(plan.todo)} ({plan.resumable} resume from a "
              f"checkpoint, {plan.retried} failed retried); finished, skipped: {done}")
        print(f"metrics: {', '.join(sweep.resolved_metrics() or ['(default battery)'])}")
        print(describe_resources(sweep, len(plan.todo), args.executor, parallel, str(paths.submitit / "%j"),
                                 args.threads))
        if args.executor == "local":
            print(time_line(plan, parallel, args.device, args.threads))
        if unchecked:
            print(f"note: {unchecked}")
        for line in data_notes(sweep.datasets, args.data_root):
            print(line)
        print(f"sweep directory: {paths.root}")
        return 0
    result = run_sweep(sweep, paths, executor=args.executor, retry_failed=args.retry_failed,
                       wait_for_jobs=not args.no_wait, progress=not args.quiet, device=args.device,
                       data_root=args.data_root, weights_dir=args.weights_dir, parallel=parallel,
                       threads=args.threads)
    skipped = sum(result.plan.finished.values())
    print(f"sweep {sweep.name}: {len(result.plan.todo)} run(s) submitted ({result.plan.resumable} resumed), "
          f"{skipped} already finished")
    if not result.waited:
        print(f"submitted job(s): {', '.join(str(j.job_id) for j in result.jobs) or 'none'}; "
              f"follow with: python -m bench status {paths.root}")
        return 0
    return _finish(sweep, paths)


# ---- status ------------------------------------------------------------------------------
def _status_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("sweep", help="a sweep directory (results/sweeps/NAME), a sweep file, or a shipped sweep name")
    p.add_argument("--out", default=DEFAULT_OUT, help="parent of the sweep directory when SWEEP is a file or name")
    p.add_argument("--problems", action="store_true", help="list only running, diverged and failed runs")


def resolve_sweep_dir(target: str, out: str = DEFAULT_OUT) -> tuple[Any, Any]:
    """``(Sweep, SweepPaths)`` from a sweep directory (its saved ``sweep.yaml``), a file, or a name."""
    from bench import sweep as sweepmod
    from bench.executors import SweepPaths

    p = Path(target)
    if not p.exists() and (Path(out) / target / "sweep.yaml").is_file():  # a sweep's name: results/sweeps/NAME
        p = Path(out) / target
    if p.is_dir():
        if not (p / "sweep.yaml").is_file():
            raise ConfigError(f"{p} is not a sweep directory (no sweep.yaml; it is written when a sweep is submitted)")
        sweep = sweepmod.load(p / "sweep.yaml", check_names=False)
        return sweep, SweepPaths(p.resolve())
    sweep = sweepmod.load(target, check_names=False)
    paths = SweepPaths.of(sweep.name, out)
    if paths.sweep_file.is_file():  # what was actually submitted (command-line overrides included)
        sweep = sweepmod.load(paths.sweep_file, check_names=False)
    return sweep, paths


@command("status", "table of a sweep's runs: pending / running / completed / diverged / failed (+ reasons)")
@arguments(_status_args)
def cmd_status(args: argparse.Namespace) -> int:
    from bench import sweep as sweepmod
    from bench.status import PROBLEMS, counts, format_counts, format_table, sweep_states
    from bench.summary import write_summary

    sweep, paths = resolve_sweep_dir(args.sweep, args.out)
    states = sweep_states(sweep, paths)
    if args.problems and not any(s.state in PROBLEMS for s in states):
        print(f"no problems: no run is {', '.join(PROBLEMS[:-1])} or {PROBLEMS[-1]}")
    else:
        print(format_table(states, only_problems=args.problems))
    print(format_counts(counts(states)))
    if paths.runs.is_dir():
        write_summary(paths.runs, paths.summary, sweep.name, sweepmod.run_ids(sweep))
        print(f"summary (rebuilt): {paths.summary}")
    return 0
