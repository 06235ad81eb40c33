"""Sub-command ``study`` (a plugin of :mod:`bench.cli`): the five paper tables' offline editions.

``python -m bench study [--edition digits|fashion] [--tables a,b] [--executor local|slurm] [--parallel N]
[--dry-run] [--report-only]`` trains what is missing of every table's sweep into the edition's directory
(resumable: finished runs are skipped; a run two tables share is trained once), then writes the report
(``report.{md,html}``, ``summary.csv``, ``agreement.csv``, curves and mosaics).

* ``digits`` (default, #21): ``bench/sweeps/study_*.yaml`` → ``results/study/<table>/`` (run directories in
  ``<table>/runs/``).
* ``fashion`` (Study II, #30): ``bench/sweeps/study-fashion/*.yaml`` → ``results/study-fashion/<table>/``; each
  finished run's small files are copied to ``<table>/results/<run_id>/`` (committed) and a run with results
  there is never trained again, even on a fresh clone (:mod:`bench.study_results`).

``--report-only`` rebuilds the report from the summaries (or the committed results) without training. The
combined report is only ever rewritten whole: ``--report-only --tables X`` for some of the tables that have
results writes its report to ``<out>/subset-<X>/`` instead. Inputs are checked before anything is written;
an ``--out`` that is a file, or a study directory without results, is one line and exit code 2.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from bench.cli import add_run_options, arguments, command
from bench.config import check_run_option


def _study_args(p: argparse.ArgumentParser) -> None:
    from bench.study import DEFAULT_EDITION, EDITIONS, table_names

    p.add_argument("--edition", default=DEFAULT_EDITION,
                   help=f"which edition: {', '.join(f'{k} ({e.description})' for k, e in EDITIONS.items())} "
                        f"(default {DEFAULT_EDITION})")
    p.add_argument("--tables", default="", help=f"comma-separated subset of: {', '.join(table_names())} (default all)")
    p.add_argument("--executor", default="local", choices=["local", "slurm"])
    p.add_argument("--parallel", type=int, default=2, help="local executor: runs at a time (default 2)")
    p.add_argument("--out", default=None,
                   help="study directory (default the edition's: " + ", ".join(e.out for e in EDITIONS.values()) + ")")
    p.add_argument("--dry-run", action="store_true", help="print each table's runs to do and the resources; run nothing")
    p.add_argument("--report-only", action="store_true", help="rebuild the report from the summaries; train nothing")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    add_run_options(p)


def check_out(out: str) -> None:
    """An ``--out`` that exists and is not a folder: one line, exit 2 (nothing touched)."""
    from bench.errors import ConfigError

    p = Path(out)
    if p.exists() and not p.is_dir():
        raise ConfigError(f"--out {out} is a file, not a study directory: choose another --out")


def whole_report(ed: object, out: str) -> list[Path]:
    """The combined report of every table of the edition that has results (never a subset)."""
    from bench import study
    from bench.report.study import write_report

    assert isinstance(ed, study.Edition)
    if ed.committed:
        from bench.study_results import write_edition_report

        return write_edition_report(ed, out, list(ed.tables))
    return write_report(out, list(ed.tables))


def subset_report(ed: object, out: str, tables: list[object]) -> tuple[Path, list[Path]]:
    """The report of ``tables`` alone in ``<out>/subset-<keys>/``: their summaries, curves, mosaics and the
    real-data reference are copied into a staging folder, the report is written there, and the folder is
    renamed into place; on any failure the staging folder is removed (nothing half-written)."""
    from bench import study
    from bench.report.study import REFERENCE_FILE, real_reference, write_report
    from bench.study_results import RESULTS, write_edition_report

    assert isinstance(ed, study.Edition)
    keys = [t.key for t in tables]  # type: ignore[attr-defined]
    dest = Path(out) / f"subset-{'+'.join(keys)}"
    stage = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    try:
        if (Path(out) / REFERENCE_FILE).is_file():
            shutil.copy2(Path(out) / REFERENCE_FILE, stage / REFERENCE_FILE)
        for t in ed.tables:  # every table's numbers (a table's report may borrow another's models); pictures
            src, dst = Path(out) / t.key, stage / t.key  # of the reported tables only
            if not src.is_dir():
                continue
            dst.mkdir()
            for f in src.iterdir():
                if f.is_file() and (f.suffix in (".csv", ".yaml") or t.key in keys and f.name.startswith("mosaic-")):
                    shutil.copy2(f, dst / f.name)
            if ed.committed and (src / RESULTS).is_dir():  # read through a link, removed before the rename
                (dst / RESULTS).symlink_to((src / RESULTS).resolve(), target_is_directory=True)
        real_reference(stage, ed.dataset, ed.reference_n)
        if ed.committed:
            paths = write_edition_report(ed, stage, list(tables))  # type: ignore[arg-type]
            for link in stage.glob(f"*/{RESULTS}"):
                link.unlink()
        else:
            paths = write_report(stage, list(tables))  # type: ignore[arg-type]
        old = dest.with_name(f".{dest.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if dest.exists():
            dest.rename(old)
        stage.rename(dest)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return dest, [dest / p.relative_to(stage) for p in paths]


@command("study", "the five paper tables re-run offline (5 seeds) and their rankings set against the papers'")
@arguments(_study_args)
def cmd_study(args: argparse.Namespace) -> int:
    from bench import study
    from bench.report.load import ReportInputError
    from bench.report.study import headline_markdown

    check_run_option("parallel", args.parallel)
    check_run_option("threads", args.threads)
    ed = study.edition(args.edition)
    out = args.out or ed.out
    check_out(out)
    names = [t for t in args.tables.split(",") if t]
    tables = study.select(names, ed.tables)
    if args.dry_run:
        return dry_run(ed, tables, out, args)
    if args.report_only:  # inputs first: a failed command leaves nothing
        from bench.study_results import report_inputs

        have = report_inputs(tables, out, ed.committed)
        if not have:
            what = f" for {', '.join(names)}" if names else ""
            raise ReportInputError(f"no study results under {out}{what} (run: python -m bench study"
                                   f"{'' if ed.key == study.DEFAULT_EDITION else ' --edition ' + ed.key})")
        everything = {t.key for t in report_inputs(list(ed.tables), out, ed.committed)}
        if {t.key for t in have} != everything:
            dest, paths = subset_report(ed, out, have)  # type: ignore[arg-type]
            print(headline_markdown(dest))
            print(f"subset report (the combined report in {out} is left as it is): "
                  + ", ".join(str(p) for p in paths))
            return 0
    elif ed.committed:
        from bench.study_results import run_edition

        run_edition(ed, tables, out, executor=args.executor, parallel=args.parallel, device=args.device,
                    threads=args.threads, progress=not args.quiet, data_root=args.data_root,
                    weights_dir=args.weights_dir)
    else:
        study.run_study(tables, out, executor=args.executor, parallel=args.parallel, device=args.device,
                        threads=args.threads, progress=not args.quiet, data_root=args.data_root,
                        weights_dir=args.weights_dir)
    paths = whole_report(ed, out)
    print(headline_markdown(out))
    print("report: " + ", ".join(str(p) for p in paths))
    return 0


def dry_run(ed: object, tables: list[object], out: str, args: argparse.Namespace) -> int:
    """Each table's runs and how many are left; what one invocation would train; nothing is written."""
    from bench import study

    assert isinstance(ed, study.Edition)
    if ed.committed:
        from bench.study_results import make_edition_plan

        ep = make_edition_plan(ed, tables, out, device=args.device)  # type: ignore[arg-type]
        todo, per_table = ep.plan.todo, ep.per_table
        tail = f"{ep.done} of {ep.total} distinct runs have results; {len(ep.copies)} result folder(s) to copy"
    else:
        sp = study.make_study_plan(tables, out, device=args.device, apply=False)  # type: ignore[arg-type]
        todo, per_table = sp.plan.todo, sp.per_table
        tail = f"{len(sp.copies)} copied); finished, skipped: {sum(sp.plan.finished.values())}"
    for t in tables:
        assert isinstance(t, study.StudyTable)
        sweep = study.sweep_of(t)
        grids = "".join(f", {m}: {k} {'/'.join(f'{v:g}' if isinstance(v, float) else str(v) for v in vs)}"
                        for m in sweep.models for k, vs in {**sweep.grid, **sweep.per_model.get(m, {}).get("grid", {})}.items())
        print(f"{t.key}: {len(sweep)} runs ({', '.join(sweep.models)} × {len(sweep.seeds)} seeds{grids}, "
              f"{sweep.steps} iterations{study.longer_text(sweep)}); to do here: {per_table[t.key]}")
    if ed.committed:
        print(f"to train: {len(todo)} run(s) (a run shared by two tables once); {tail}")
    else:
        print(f"to train: {len(todo)} run(s) (a run shared by two tables once; {tail}")
    print(f"{args.executor}: {min(args.parallel, max(len(todo), 1))} worker(s), {args.threads} thread(s) each"
          if args.executor == "local" else "slurm: one job array (the sweeps' `slurm:` resources)")
    print(f"study directory: {out}")
    return 0
