"""Reports: paper-style tables with the published numbers beside ours, statistics, plots and a
browsable ``report.html`` (``python -m bench report SWEEP_DIR``; see :mod:`bench.report.build`)."""

from bench.report.build import Report, build_report

__all__ = ["Report", "build_report"]
