"""``python -m bench report SWEEP_DIR``: paper-style tables, statistics, plots and report.html."""

from __future__ import annotations

import argparse

from bench.cli import arguments, command


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("sweep_dir", help="a sweep directory holding summary.csv and runs/")
    p.add_argument("--format", default="md,tex,csv,html", help="comma list of md, tex, csv, html")
    p.add_argument("--out", default=None, help="output directory (default SWEEP_DIR/report)")
    p.add_argument("--tables", default="auto",
                   help="auto, or a comma list of: generic, avae-table1, idvae-table1, avaes-table3, khan-table1 "
                        "(named paper layouts are shown even with only published values)")
    p.add_argument("--no-plots", action="store_true", help="tables and statistics only")
    p.add_argument("--no-paper", action="store_true", help="leave out the published-number columns")


@command("report", "tables (Markdown, LaTeX, CSV), statistics, plots and report.html for a sweep")
@arguments(_report_args)
def cmd_report(args: argparse.Namespace) -> int:
    """Build the report of ``SWEEP_DIR`` (see :mod:`bench.report.build`)."""
    from pathlib import Path

    from bench.errors import ConfigError
    from bench.outpaths import check_folder
    from bench.report.build import build_report, parse_formats

    sweep_dir = Path(args.sweep_dir)
    formats = parse_formats(args.format)
    if not sweep_dir.is_dir():
        raise ConfigError(f"no sweep directory {sweep_dir} (a folder holding summary.csv and runs/, written by "
                          "python -m bench sweep FILE)")
    if not (sweep_dir / "summary.csv").is_file():
        if (sweep_dir / "sweep.yaml").is_file():
            raise ConfigError(f"no summary.csv in {sweep_dir}: rebuild it with: python -m bench status {sweep_dir}")
        raise ConfigError(f"no summary.csv in {sweep_dir} (not a sweep directory): run python -m bench sweep FILE "
                          "first; python -m bench status SWEEP_DIR rebuilds a sweep's summary")
    check_folder(args.out if args.out is not None else sweep_dir / "report", "--out")  # before any table is built
    report = build_report(args.sweep_dir, args.out, formats, layout_names=args.tables,
                          with_plots=not args.no_plots, show_paper=not args.no_paper)
    for t in report.tables:
        if t.name.startswith("generic-"):
            from bench.report.tables import to_markdown

            print(to_markdown(t))
    print(f"{len(report.tables)} tables, {len(report.plots)} plot files -> {report.out}")
    if (report.out / "report.html").exists():
        print(f"open {report.out / 'report.html'}")
    return 0
