"""Sub-command ``bench`` (a plugin of :mod:`bench.cli`): the hybrid comparison at a budget.

``python -m bench bench [--budget quick|standard|paper] [--dataset NAME] [--dry-run]`` runs the budget's
sweep (``bench/sweeps/bench_<budget>.yaml``: models, dataset, schedule and metrics as plain data) on one
dataset, then prints a mean ± std table with a real-data row, the learning checks, a one-line ranking and
the path of the sample mosaic. ``quick`` (the default on CPU) is a short offline schedule whose numbers
are not comparable with the papers'; ``standard`` (the default with ``--device cuda``) is the fair
protocol at full width for 10k iterations; ``paper`` is the papers' schedule and sample counts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.cli import add_run_options, arguments, command, unavailable_lines
from bench.config import check_run_option
from bench.errors import ConfigError

DEFAULT_OUT = "results/sweeps"
BUDGETS = ("quick", "standard", "paper")
NOTES = {"quick": "short CPU schedule on small networks: its numbers are NOT comparable with the papers'",
         "standard": "the fair protocol at full width, on 10k iterations and 10k samples (the papers: 5e4 and 50k)",
         "paper": "the papers' schedule and sample counts"}
# the table's columns, in this order; any other metric a run computed (fid, lpips where weights are present) follows
COLUMNS = ("fd_domain", "is_domain", "recon_class_acc", "mse", "cosine", "sharpness", "ms_ssim_diversity", "critic_w")
RANK_BY = "fd_domain"
IS_BAR, RECON_BAR = 0.5, 0.6  # is_domain >= IS_BAR x real test data's; recon_class_acc >= RECON_BAR


def default_budget(device: str) -> str:
    """``standard`` on a GPU, ``quick`` elsewhere."""
    return "standard" if device.startswith("cuda") else "quick"


def budget_sweep(budget: str, dataset: str | None, sweep_file: str | None = None, *,
                 before_validation: Callable[[str], None] | None = None) -> Any:
    """The budget's sweep (or ``sweep_file``) restricted to one dataset (default: the file's first),
    named ``<sweep>-<dataset>`` so that each dataset has its own sweep directory. ``before_validation(dataset)``
    runs before the registries are loaded (e.g. the fast offline check, before torch is imported)."""
    from bench import sweep as sweepmod

    if budget not in BUDGETS:
        raise ConfigError(f"bad value for --budget: {budget!r} (choose from {', '.join(BUDGETS)})")
    base = sweepmod.load(sweep_file or f"bench_{budget}", check_names=False)
    dataset = dataset or base.datasets[0]
    if before_validation is not None:
        before_validation(dataset)
    steps = base.steps_for(dataset)
    sweep = dataclasses.replace(base, name=f"{base.name}-{dataset.replace('@', '-')}", datasets=[dataset], steps=steps)
    sweep.validate_names()
    return sweep


def describe_schedule(sweep: Any) -> str:
    """Steps, shared settings, per-model settings and evaluation of the sweep, one line each."""
    shared = ", ".join(f"{k}={v}" for k, v in sweep.set.items()) or "model defaults"
    lines = [f"schedule: {sweep.steps or 'model default'} iterations, protocol {'/'.join(sweep.protocols)}, "
             f"shared settings {shared} (every model alike), {len(sweep.seeds)} seeds"]
    for model, sub in sweep.per_model.items():
        own = {**sub.get("set", {}), **({"steps": sub["steps"]} if "steps" in sub else {})}
        if own:
            lines.append(f"  {model}: " + ", ".join(f"{k}={v}" for k, v in own.items()))
    n = f"{sweep.n_eval} images per metric" if sweep.n_eval else f"the {sweep.eval_samples} sample counts"
    lines.append(f"evaluation: {', '.join(sweep.resolved_metrics() or ['(default battery)'])} on {n}")
    return "\n".join(lines)


# ---- the table -----------------------------------------------------------------------------------
def _cell(values: list[float] | None) -> str:
    if not values:
        return "—"
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return f"{mean:.4g} ± {std:.2g} ({len(values)})"


def table_columns(values: dict[tuple[str, str], list[float]], names: list[str]) -> list[str]:
    """:data:`COLUMNS`, then the sweep's other metrics (``names``: e.g. fid, lpips), each where some run has it
    (not the spreads ``*_std`` nor the values of a model's extra reconstruction paths, ``mse_dec``…)."""
    present = {k for _, k in values}
    return [c for c in dict.fromkeys([*COLUMNS, *names]) if c in present]


def budget_table(values: dict[tuple[str, str], list[float]], models: list[str], reference: dict[str, float],
                 names: list[str]) -> str:
    """Markdown: one row per model (sweep order) + 'real data'; cells mean ± std (completed seeds)."""
    cols = table_columns(values, names)
    lines = ["| model | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for m in models:
        lines.append(f"| {m} | " + " | ".join(_cell(values.get((m, c))) for c in cols) + " |")
    lines.append("| real data | " + " | ".join(f"{reference[c]:.4g}" if c in reference else "—" for c in cols) + " |")
    return "\n".join(lines)


def means(values: dict[tuple[str, str], list[float]]) -> dict[tuple[str, str], float]:
    return {key: sum(v) / len(v) for key, v in values.items() if v}


def learning_check(mean: dict[tuple[str, str], float], models: list[str], reference: dict[str, float]) -> list[str]:
    """Models below a learning bar (mean over seeds): is_domain < ½ real test data's, recon_class_acc < 0.6."""
    failing = []
    is_bar = IS_BAR * reference["is_domain"] if "is_domain" in reference else None
    for m in models:
        why = []
        if is_bar is not None and (m, "is_domain") in mean and mean[(m, "is_domain")] < is_bar:
            why.append(f"is_domain {mean[(m, 'is_domain')]:.3g} < {is_bar:.3g}")
        if (m, "recon_class_acc") in mean and mean[(m, "recon_class_acc")] < RECON_BAR:
            why.append(f"recon_class_acc {mean[(m, 'recon_class_acc')]:.3g} < {RECON_BAR}")
        if why:
            failing.append(f"{m} ({', '.join(why)})")
    return failing


def ranking_line(mean: dict[tuple[str, str], float], models: list[str], reference: dict[str, float]) -> str:
    """One line: the models ordered by ``RANK_BY`` (mean over seeds, best first), with real data's value."""
    from bench.report.stats import direction

    have = [m for m in models if (m, RANK_BY) in mean]
    if not have:
        return f"ranking: no model has {RANK_BY}"
    lower = direction(RANK_BY) == "lower"
    ordered = sorted(have, key=lambda m: mean[(m, RANK_BY)] * (1 if lower else -1))
    real = f" (real test data: {reference[RANK_BY]:.3g})" if RANK_BY in reference else ""
    sep = " < " if lower else " > "
    return (f"ranking by {RANK_BY} ({'lower' if lower else 'higher'} is better, mean over seeds): "
            + sep.join(f"{m} {mean[(m, RANK_BY)]:.3g}" for m in ordered) + real)


def real_reference(dataset: Any, names: list[str], eval_samples: str, weights_dir: str | None) -> dict[str, float]:
    """The 'real data' row: the sample metrics of the test split, and ``recon_class_acc`` of a perfect
    reconstruction (the domain classifier's accuracy on the test images themselves)."""
    from bench.run import evaluate_real
    from metrics.base import EvalContext, evaluate

    real = evaluate_real(dataset, names, seed=0, eval_samples=eval_samples, weights_dir=weights_dir)
    if "recon_class_acc" in names and dataset.spec.n_classes is not None:
        real.update(evaluate(EvalContext(dataset, recon_fn=lambda x: x, sample_setting=eval_samples),  # type: ignore[arg-type]
                             ["recon_class_acc"]))
    keep = {"mse", "cosine", "sharpness_recon", "lpips"}  # a perfect reconstruction's are trivial: not shown
    return {k: float(v) for k, v in real.items() if "." not in k and isinstance(v, (int, float)) and k not in keep}


def unavailable(runs: Path, names: list[str]) -> dict[str, str]:
    """Metrics no run could compute, with the first reason recorded (e.g. missing weights)."""
    out: dict[str, str] = {}
    computed: set[str] = set()
    for met in sorted(runs.glob("*/metrics.json")):
        rec = json.loads(met.read_text())
        computed |= {n for n in names if n in rec}
        for n in names:
            why = rec.get(f"{n}.unavailable")
            if why and n not in out and not str(why).startswith("needs "):  # a model lacking the input: not the reason
                out[n] = str(why).splitlines()[0]
    return {n: why for n, why in out.items() if n not in computed}


def sample_mosaic(summary: Path, runs: Path, stem: Path) -> Path | None:
    """Every model's ``samples.png`` (first completed seed) in one figure; its PNG path (None: no run)."""
    from bench.report.load import aggregate, read_summary
    from bench.report.plots import mosaic

    written = mosaic(aggregate(read_summary(summary)), runs, "samples.png", stem, side_by_side=True)
    return next((p for p in written if p.suffix == ".png"), None)


# ---- the command -----------------------------------------------------------------------------------
def _bench_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--budget", default=None, choices=BUDGETS,
                   help="quick (CPU default: offline, short), standard (GPU default: fair protocol, w=128, 10k "
                        "iterations, 10k samples) or paper (5e4 iterations, 50k FID samples)")
    p.add_argument("--dataset", default=None, help="dataset (default: the budget's, digits)")
    p.add_argument("--sweep", default=None, help="a sweep file to run instead of the budget's (e.g. a shortened one)")
    p.add_argument("--dry-run", action="store_true", help="print the matrix, schedule and resources; run nothing")
    p.add_argument("--parallel", type=int, default=None, help="runs at a time (default: the sweep's)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"parent of the sweep directory (default {DEFAULT_OUT})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_run_options(p)


@command("bench", "the hybrid comparison at a budget (quick | standard | paper), then a mean ± std table")
@arguments(_bench_args)
def cmd_bench(args: argparse.Namespace) -> int:
    from bench.outpaths import check_folder

    if args.parallel is not None:
        check_run_option("parallel", args.parallel)
    check_run_option("threads", args.threads)
    check_folder(args.out, "--out")
    budget = args.budget or default_budget(args.device)

    def check_data(name: str) -> None:  # offline and missing: one line, before torch is imported
        from bench.data import check_offline

        check_offline(name, args.data_root)

    sweep = budget_sweep(budget, args.dataset, args.sweep, before_validation=None if args.dry_run else check_data)
    dataset_name = sweep.datasets[0]
    from bench.cli_sweep import data_notes, describe_resources, format_matrix, time_line
    from bench.executors import SweepPaths, check_sweep_dir, make_plan

    paths = SweepPaths.of(sweep.name, args.out)
    check_sweep_dir(sweep, paths)  # a user's folder or another sweep's directory: refused, nothing touched
    parallel = args.parallel or sweep.parallel
    note = NOTES[budget] + (f"; run from {args.sweep}, not the budget's sweep file" if args.sweep else "")
    header = (f"benchmark, budget {budget}: "
              f"{len(sweep.models)} models × {dataset_name} × {len(sweep.seeds)} seed(s) on {args.device}; {note}")
    if args.dry_run:
        plan = make_plan(sweep, paths, device=args.device, apply=False)
        print(header)
        print(format_matrix(sweep, {s.run_id() for s, _ in plan.todo}))
        print(describe_schedule(sweep))
        print(f"runs: {len(sweep)}; to run: {len(plan.todo)}; resources: "
              + describe_resources(sweep, len(plan.todo), "local", parallel, threads=args.threads)
              + f", device {args.device}")
        print(time_line(plan, parallel, args.device, args.threads))
        for line in data_notes(sweep.datasets, args.data_root):  # the dry run still exits 0
            print(line)
        print(f"sweep directory: {paths.root}")
        return 0
    return _run(args, sweep, paths, parallel, header)


def _run(args: argparse.Namespace, sweep: Any, paths: Any, parallel: int, header: str) -> int:
    import pandas as pd

    from bench.cli_sweep import _finish
    from bench.data import load as load_dataset
    from bench.executors import run_sweep

    dataset = load_dataset(sweep.datasets[0], args.data_root)  # a missing dataset fails here, before any run
    print(header, flush=True)
    print(describe_schedule(sweep), flush=True)
    print(f"sweep directory: {paths.root}", flush=True)
    result = run_sweep(sweep, paths, progress=not args.quiet, device=args.device, data_root=args.data_root,
                       weights_dir=args.weights_dir, parallel=parallel, threads=args.threads)
    df = pd.read_csv(paths.summary, dtype={"metric": str}, keep_default_na=False, na_values={"value": [""]})
    names = sweep.resolved_metrics() or sorted(df["metric"].dropna().unique())
    reference = real_reference(dataset, names, sweep.eval_samples, args.weights_dir)
    from bench.summary import seed_values

    values = seed_values(df)
    mean = means(values)
    print()
    print(f"### {header}")
    print(f"mean ± std over seeds (n completed); real data = {sweep.datasets[0]} test split")
    print(budget_table(values, sweep.models, reference, names))
    for line in unavailable_lines({f"{n}.unavailable": why for n, why in unavailable(paths.runs, names).items()}):
        print(f"- {line}")
    failing = learning_check(mean, sweep.models, reference)
    bars = (f"is_domain ≥ {IS_BAR:g} × real's"
            + (f" ({IS_BAR * reference['is_domain']:.3g})" if "is_domain" in reference else "")
            + f", recon_class_acc ≥ {RECON_BAR:g}")
    print(f"learning bars ({bars}): " + ("every model meets them" if not failing else
                                        "NOT met by " + "; ".join(failing)))
    print(ranking_line(mean, sweep.models, reference))
    png = sample_mosaic(paths.summary, paths.runs, paths.root / "mosaic-samples")
    print(f"sample mosaic: {png if png is not None else '(no completed run)'}")
    print(f"({len(result.plan.todo)} run(s) executed, {sum(result.plan.finished.values())} already finished)")
    return _finish(sweep, paths)
