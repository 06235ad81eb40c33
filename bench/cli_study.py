"""Sub-command ``study`` (a plugin of :mod:`bench.cli`): the five paper tables' offline editions.

``python -m bench study [--tables a,b] [--executor local|slurm] [--parallel N] [--dry-run] [--report-only]``
trains what is missing of every table's sweep (``bench/sweeps/study_*.yaml``) into ``results/study/<table>/``
(resumable: finished runs are skipped; a run two tables share is trained once), then writes the report
(``results/study/report.{md,html}``, ``summary.csv``, ``agreement.csv``, curves and mosaics). ``--report-only``
rebuilds the report from the committed ``summary.csv`` / ``curves.csv`` files without training.
"""

from __future__ import annotations

import argparse

from bench.cli import add_run_options, arguments, command
from bench.config import check_run_option


def _study_args(p: argparse.ArgumentParser) -> None:
    from bench.study import DEFAULT_OUT, table_names

    p.add_argument("--tables", default="", help=f"comma-separated subset of: {', '.join(table_names())} (default all)")
    p.add_argument("--executor", default="local", choices=["local", "slurm"])
    p.add_argument("--parallel", type=int, default=2, help="local executor: runs at a time (default 2)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"study directory (default {DEFAULT_OUT})")
    p.add_argument("--dry-run", action="store_true", help="print each table's runs to do and the resources; run nothing")
    p.add_argument("--report-only", action="store_true", help="rebuild the report from the summaries; train nothing")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_run_options(p)


@command("study", "the five paper tables re-run offline (5 seeds) and their rankings set against the papers'")
@arguments(_study_args)
def cmd_study(args: argparse.Namespace) -> int:
    from bench import study
    from bench.report.study import headline_markdown, write_report

    check_run_option("parallel", args.parallel)
    check_run_option("threads", args.threads)
    tables = study.select([t for t in args.tables.split(",") if t])
    if args.dry_run:
        sp = study.make_study_plan(tables, args.out, device=args.device, apply=False)
        for t in tables:
            sweep = study.sweep_of(t)
            print(f"{t.key}: {len(sweep)} runs ({', '.join(sweep.models)} × {len(sweep.seeds)} seeds, "
                  f"{sweep.steps} iterations{study.longer_text(sweep)}); to do here: {sp.per_table[t.key]}")
        print(f"to train: {len(sp.plan.todo)} run(s) (a run shared by two tables once; {len(sp.copies)} copied); "
              f"finished, skipped: {sum(sp.plan.finished.values())}")
        print(f"{args.executor}: {min(args.parallel, max(len(sp.plan.todo), 1))} worker(s), {args.threads} thread(s) each"
              if args.executor == "local" else "slurm: one job array (the sweeps' `slurm:` resources)")
        print(f"study directory: {args.out}")
        return 0
    if not args.report_only:
        study.run_study(tables, args.out, executor=args.executor, parallel=args.parallel, device=args.device,
                        threads=args.threads, progress=not args.quiet, data_root=args.data_root,
                        weights_dir=args.weights_dir)
    paths = write_report(args.out, tables)
    print(headline_markdown(args.out))
    print("report: " + ", ".join(str(p) for p in paths))
    return 0
