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
    from bench.report.build import build_report, parse_formats

    report = build_report(args.sweep_dir, args.out, parse_formats(args.format), layout_names=args.tables,
                          with_plots=not args.no_plots, show_paper=not args.no_paper)
    for t in report.tables:
        if t.name.startswith("generic-"):
            from bench.report.tables import to_markdown

            print(to_markdown(t))
    print(f"{len(report.tables)} tables, {len(report.plots)} plot files -> {report.out}")
    if (report.out / "report.html").exists():
        print(f"open {report.out / 'report.html'}")
    return 0
