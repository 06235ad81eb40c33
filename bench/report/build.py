"""Build a sweep's report: tables (Markdown / LaTeX / CSV), statistics, plots and ``report.html``.

Layout of ``OUT`` (default ``SWEEP_DIR/report``)::

    tables/<name>.md|.tex|.csv     one file per table and format
    stats/pairwise_welch.csv       Welch t-tests between every two model settings
    stats/rank_agreement.csv       Kendall τ between metric rankings (ours and IDVAE's published)
    plots/*.png|.pdf               box plots, metric scatter, training curves, sample/recon mosaics
    report.md                      every Markdown table, statistic and plot link
    report.html                    the same, self-contained (images embedded)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from bench.atomic import write_with
from bench.errors import BenchError
from bench.report import agreement, layouts, plots
from bench.report import html as htmlmod
from bench.report import published as pub
from bench.report.load import aggregate, read_summary
from bench.report.tables import Table, build_table, to_csv, to_html, to_latex, to_markdown

FORMATS = ("md", "tex", "csv", "html")


@dataclass
class Report:
    """What :func:`build_report` wrote."""

    out: Path
    tables: list[Table] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    plots: list[Path] = field(default_factory=list)
    pairwise: pd.DataFrame | None = None
    agreement: dict[str, pd.DataFrame] = field(default_factory=dict)


def _write(path: Path, text: str, report: Report) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_with(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    report.files.append(path)


def parse_formats(spec: str) -> list[str]:
    """``"md,tex"`` → ``["md", "tex"]``; an unknown format is a user error."""
    fmts = [f.strip().lower() for f in spec.split(",") if f.strip()]
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise BenchError(f"bad value for --format: {spec!r} (choose from {', '.join(FORMATS)})")
    return fmts


def select_layouts(names: str, datasets: list[str]) -> list[layouts.Layout]:
    """``auto`` (generic tables + every paper layout) or a comma list of layout names / ``generic``."""
    if names == "auto":
        wanted = ["generic", *layouts.PAPER_LAYOUTS]
    else:
        wanted = [n.strip() for n in names.split(",") if n.strip()]
    out: list[layouts.Layout] = []
    for n in wanted:
        if n == "generic":
            out += [layouts.generic(d) for d in datasets]
        elif n in layouts.PAPER_LAYOUTS:
            out.append(layouts.PAPER_LAYOUTS[n])
        else:
            raise BenchError(f"unknown table layout {n!r}; known: generic, {', '.join(layouts.PAPER_LAYOUTS)}")
    return out


def build_report(sweep_dir: str | Path, out: str | Path | None = None, formats: list[str] | None = None, *,
                 layout_names: str = "auto", with_plots: bool = True, show_paper: bool = True,
                 published_dir: str | Path | None = None) -> Report:
    """Read ``SWEEP_DIR/summary.csv`` (and the run directories under ``SWEEP_DIR/runs``) and write
    the report. Paper layouts appear when the sweep has at least one of their (model, metric) cells."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise BenchError(f"no sweep directory {sweep_dir}")
    formats = list(formats or FORMATS)
    out = Path(out) if out is not None else sweep_dir / "report"
    res = aggregate(read_summary(sweep_dir / "summary.csv"))
    if not res.excluded:
        raise BenchError(f"{sweep_dir / 'summary.csv'} has no runs")
    pv = pub.load_published(published_dir)
    report = Report(out)
    runs_root = sweep_dir / "runs"

    for lay in select_layouts(layout_names, res.datasets):
        t = build_table(lay, res, pv, show_paper=show_paper, include_empty=layout_names != "auto")
        if t is None:
            continue
        report.tables.append(t)
        for fmt, render in (("md", to_markdown), ("tex", to_latex), ("csv", to_csv)):
            if fmt in formats:
                _write(out / "tables" / f"{t.name}.{fmt}", render(t), report)

    report.pairwise = agreement.pairwise(res)
    _write(out / "stats" / "pairwise_welch.csv", report.pairwise.to_csv(index=False), report)
    for d in res.datasets:
        report.agreement[f"ours: {d}"] = agreement.rank_agreement(agreement.sweep_means(res, d))
    for d in ("cifar10", "celeba"):  # IDVAE's own point, on its published Table 1
        means = agreement.published_means(pv, pub.IDVAE, d, ["fid", "fid_tv16", "frd"])
        if any(means.values()):
            report.agreement[f"IDVAE Table 1 (published): {d}"] = agreement.rank_agreement(means, lambda _k: "lower")
    rank_rows = [df.assign(source=k) for k, df in report.agreement.items() if not df.empty]
    rank_csv = pd.concat(rank_rows, ignore_index=True) if rank_rows else pd.DataFrame(
        columns=["metric_a", "metric_b", "tau", "p", "n", "source"])
    _write(out / "stats" / "rank_agreement.csv", rank_csv.to_csv(index=False), report)

    if with_plots:
        pdir = out / "plots"
        for d in res.datasets:
            report.plots += plots.sweep_boxes(res, d, pdir / f"box-{d}")
            report.plots += plots.metric_scatter(res, d, pdir / f"scatter-{d}")
            report.plots += plots.training_curves(res, d, runs_root, pdir / f"curves-{d}")
        report.plots += plots.mosaic(res, runs_root, "samples.png", pdir / "mosaic-samples")
        report.plots += plots.mosaic(res, runs_root, "reconstructions.png", pdir / "mosaic-reconstructions")
        report.files += report.plots

    if "md" in formats:
        _write(out / "report.md", _markdown(report, sweep_dir, res.frame), report)
    if "html" in formats:
        _write(out / "report.html", _html(report, sweep_dir, res.frame), report)
    return report


def _overview(frame: pd.DataFrame) -> str:
    runs = frame[["dataset", "model", "params", "seed", "status"]].drop_duplicates()
    counts = runs.groupby("status").size().to_dict()
    return (f"{len(runs)} runs ({', '.join(f'{v} {k}' for k, v in sorted(counts.items()))}); "
            f"datasets: {', '.join(sorted(runs['dataset'].unique()))}; models: {', '.join(sorted(runs['model'].unique()))}")


def _tau_md(df: pd.DataFrame) -> str:
    if df.empty:
        return "(fewer than two ranked metrics)\n"
    lines = ["| metric A | metric B | Kendall τ | p | models |", "|:--|:--|--:|--:|--:|"]
    for _, r in df.iterrows():
        tau = "—" if pd.isna(r["tau"]) else f"{r['tau']:.3f}"
        p = "—" if pd.isna(r["p"]) else f"{r['p']:.3g}"
        lines.append(f"| {r['metric_a']} | {r['metric_b']} | {tau} | {p} | {r['n']} |")
    return "\n".join(lines) + "\n"


def _markdown(report: Report, sweep_dir: Path, frame: pd.DataFrame) -> str:
    parts = [f"# Report: {sweep_dir.name}", "", _overview(frame), "",
             f"Generated {datetime.now(UTC).isoformat(timespec='seconds')} by `python -m bench report`.", ""]
    parts.append("## Tables\n")
    for t in report.tables:
        parts += [to_markdown(t), ""]
    parts.append("## Rank agreement between metrics (Kendall τ-b)\n")
    parts.append("τ = 1: the two metrics order the models identically; models ranked in each metric's declared "
                 "direction (IDVAE §4.2: FID15, FID16 and FRD can disagree).\n")
    for name, df in report.agreement.items():
        parts += [f"### {name}", "", _tau_md(df)]
    parts.append("## Pairwise Welch t-tests\n")
    parts.append(f"All pairs in `stats/pairwise_welch.csv` ({0 if report.pairwise is None else len(report.pairwise)} "
                 "comparisons; p < 0.05 marked significant).\n")
    if report.plots:
        parts.append("## Plots\n")
        for p in report.plots:
            if p.suffix == ".png":
                parts.append(f"![{p.stem}]({p.relative_to(report.out).as_posix()})\n")
    return "\n".join(parts)


def _html(report: Report, sweep_dir: Path, frame: pd.DataFrame) -> str:
    sections: list[tuple[str, str]] = []
    sections.append(("Tables", "\n".join(to_html(t) for t in report.tables) or "<p>(no tables)</p>"))
    agree = []
    for name, df in report.agreement.items():
        agree.append(f"<h3>{name}</h3>")
        agree.append(htmlmod.frame_html(agreement.tau_matrix(df).rename_axis("Kendall τ")) if not df.empty
                     else "<p>(fewer than two ranked metrics)</p>")
    sections.append(("Rank agreement (Kendall τ)", "<p>τ = 1: the metrics order the models identically "
                     "(IDVAE §4.2).</p>" + "\n".join(agree)))
    if report.pairwise is not None and not report.pairwise.empty:
        pw = report.pairwise.set_index("dataset")
        sections.append(("Pairwise Welch t-tests", htmlmod.frame_html(pw)))
    groups = {"box": "Metrics over the sweep", "scatter": "Metric vs metric", "curves": "Training curves",
              "mosaic": "Samples and reconstructions"}
    for prefix, heading in groups.items():
        imgs = [p for p in report.plots if p.suffix == ".png" and p.stem.startswith(prefix)]
        if imgs:
            sections.append((heading, "\n".join(f"<p>{htmlmod.embed_png(p)}</p>" for p in imgs)))
    sections.append(("Files", "<ul>" + "".join(f"<li>{f.relative_to(report.out).as_posix()}</li>"
                                                for f in report.files) + "</ul>"))
    return htmlmod.page(f"hybrid-bench report: {sweep_dir.name}", sections,
                        f"{_overview(frame)} · generated {datetime.now(UTC).isoformat(timespec='seconds')}")
