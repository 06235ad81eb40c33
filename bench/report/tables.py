"""Result tables: fill a :class:`~bench.report.layouts.Layout` from a sweep, mark the best cells,
and render it as Markdown, LaTeX (booktabs), tidy CSV and HTML.

Cells read ``mean ± std (n)`` over completed seeds. Within a *group* — the cells of one
(dataset, metric) pair — the best mean is bold, in the direction the metric declares; a cell
whose Welch t-test against the best gives p ≥ 0.05 carries † ("not significantly different from
the best"). ``real`` rows are references: shown, never ranked. A cell with diverged or failed
seeds carries ‡ and a footnote counts them. A missing value is "—", never 0 or NaN. Where the
paper reported the cell, a "paper" column and Δ = ours − paper follow. Both compare the same quantity:
a published number on another pixel range or with another spread (:attr:`Published.conversions`) is shown
as printed *and* converted ("0.31 ± 0.02 (on [-1,1] pixels, ×0.25 to [0,1]) → 0.078 ± 0.005"), and Δ uses
the converted value. A layout may show a metric scaled for display (``hq_share`` in %), ours and the
paper's alike; the tidy CSV keeps the suite's units.
"""

from __future__ import annotations

import csv
import html
import io
import math
from dataclasses import dataclass, field

from bench.report import stats
from bench.report.layouts import Layout
from bench.report.load import Agg, Entry, Excluded, Results
from bench.report.published import Published, PublishedValues

MISSING = "—"
REFERENCE = "real"


@dataclass
class Cell:
    """One (dataset, model, params, metric) position of a table."""

    dataset: str
    model: str
    params: str
    metric: str
    agg: Agg | None = None
    paper: Published | None = None
    excluded: Excluded | None = None
    best: bool = False
    tied: bool = False  # † not significantly different from the best
    test: stats.Welch | None = None

    @property
    def reference(self) -> bool:
        return self.model == REFERENCE

    @property
    def n_excluded(self) -> int:
        return len(self.excluded.diverged) + len(self.excluded.failed) if self.excluded else 0

    @property
    def all_lost(self) -> bool:
        """Every run of this model setting on this dataset diverged or failed."""
        return self.excluded is not None and self.excluded.total > 0 and self.n_excluded == self.excluded.total

    @property
    def diff(self) -> float | None:
        """ours − paper (the paper's number converted to the suite's quantity), where both exist."""
        return self.agg.mean - self.paper.suite_mean if self.agg is not None and self.paper is not None else None


@dataclass
class Row:
    label: list[str]
    cells: list[Cell]
    section: str | None = None  # set on the first row of a new section


@dataclass
class Table:
    """A filled layout: column labels, rows of cells, which columns carry paper values, footnotes."""

    layout: Layout
    columns: list[str]
    rows: list[Row]
    row_header: list[str]
    paper_cols: list[bool]
    decimals: dict[str, int]
    footnotes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.layout.name

    def cell(self, row_label: str | tuple[str, ...], column: str, section: str | None = None) -> Cell:
        """The cell at a row (first label part, or all parts) and column label (for tests and callers)."""
        want = (row_label,) if isinstance(row_label, str) else tuple(row_label)
        j = self.columns.index(column)
        current = None
        for r in self.rows:
            current = r.section if r.section is not None else current
            if tuple(r.label[: len(want)]) == want and (section is None or current == section):
                return r.cells[j]
        raise KeyError(f"no row {row_label!r} in table {self.name}")


# ---- building --------------------------------------------------------------------------
def _decimals(values: list[float]) -> int:
    """Decimals that show three significant digits of the largest magnitude (between 2 and 6)."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    if not finite:
        return 2
    return max(2, min(6, 2 - math.floor(math.log10(max(finite)))))


def build_table(layout: Layout, res: Results, published: PublishedValues | None = None, *,
                show_paper: bool = True, alpha: float = stats.ALPHA, include_empty: bool = False) -> Table | None:
    """Fill ``layout`` from the aggregated sweep ``res`` and the published values.

    Datasets: the layout's own ones that the sweep has, else the sweep's datasets that have any of
    the layout's (model, metric) pairs (or, with ``include_empty``, the paper's datasets with
    published values only). Rows and columns with neither our value nor a paper value are dropped.
    Returns None when nothing is left.
    """
    pv = published if (published is not None and show_paper) else PublishedValues([])

    def models_ok(m: str) -> bool:
        return layout.models is None or m in layout.models

    def metrics_ok(k: str) -> bool:
        return layout.metrics is None or k in layout.metrics

    def ours(d: str) -> bool:
        return any(dd == d and models_ok(m) and metrics_ok(k) and m != REFERENCE for dd, m, _, k in res.cells)

    candidates = list(layout.datasets or res.datasets)
    datasets = [d for d in candidates if ours(d)]
    if not datasets and layout.datasets is not None:
        datasets = [d for d in res.datasets if ours(d)]
    if not datasets and include_empty:
        datasets = [d for d in candidates if any(pv.has(d, m, k, layout.paper) for m in layout.models or ()
                                                 for k in layout.metrics or ())]
    if not datasets:
        return None

    def paper(d: str, m: str, k: str) -> Published | None:
        return pv.lookup(d, m, k, layout.paper)

    metrics = [k for k in (layout.metrics or res.metrics)
               if any(res.has(d, None, k) or (layout.models and any(paper(d, m, k) for m in layout.models))
                      for d in datasets)]
    def all_lost(d: str, m: str) -> bool:  # every run of the model on d diverged or failed: still a row
        return any(dd == d and mm == m and len(e.diverged) + len(e.failed) == e.total
                   for (dd, mm, _), e in res.excluded.items())

    model_names = [m for m in (layout.models or sorted(res.entries, key=lambda m: (m == REFERENCE, m)))
                   if any(res.has(d, m, k) or paper(d, m, k) for d in datasets for k in metrics)
                   or any(all_lost(d, m) for d in datasets)]
    entries: list[Entry] = [e for m in model_names for e in res.entries.get(m, [Entry(m, "{}", m)])]
    labels = {e.key: (layout.model_label(e.model) + e.label[len(e.model):]) for e in entries}
    axes: dict[str, list[object]] = {"dataset": list(datasets), "metric": list(metrics), "model": list(entries)}

    def label(axis: str, v: object) -> str:
        if axis == "model":
            return labels[v.key]  # type: ignore[attr-defined]
        return layout.metric_label(v) if axis == "metric" else str(v)  # type: ignore[arg-type]

    def make(coords: dict[str, object]) -> Cell:
        e: Entry = coords["model"]  # type: ignore[assignment]
        d, k = str(coords["dataset"]), str(coords["metric"])
        return Cell(d, e.model, e.params, k, res.get(d, e.model, e.params, k), paper(d, e.model, k),
                    res.excluded.get((d, e.model, e.params)))

    from itertools import product

    sections = axes[layout.section] if layout.section else [None]
    cols = axes[layout.cols]
    rows: list[Row] = []
    for sec in sections:
        first = True
        for combo in product(*(axes[a] for a in layout.rows)):
            base: dict[str, object] = {a: axes[a][0] for a in axes if a not in (*layout.rows, layout.cols, layout.section)}
            base.update(zip(layout.rows, combo, strict=True))
            if layout.section:
                base[layout.section] = sec
            cells = [make({**base, layout.cols: c}) for c in cols]
            if not any(c.agg is not None or c.paper is not None or c.all_lost for c in cells):
                continue
            rows.append(Row([label(a, v) for a, v in zip(layout.rows, combo, strict=True)], cells,
                            (str(sec) if first and layout.section else None)))
            first = False
    keep = [j for j in range(len(cols))
            if any(r.cells[j].agg is not None or r.cells[j].paper is not None for r in rows)]
    for r in rows:
        r.cells = [r.cells[j] for j in keep]
    columns = [label(layout.cols, cols[j]) for j in keep]
    if not rows or not columns:
        return None

    _mark(rows, alpha)
    all_cells = [c for r in rows for c in r.cells]
    scale = layout.metric_scale
    decimals = {k: _decimals([c.agg.mean * scale.get(k, 1.0) for c in all_cells if c.metric == k and c.agg is not None]
                             + [c.paper.suite_mean * scale.get(k, 1.0) for c in all_cells
                                if c.metric == k and c.paper is not None])
                for k in metrics}
    paper_cols = [any(r.cells[j].paper is not None for r in rows) for j in range(len(columns))]
    row_header = [{"model": "model", "metric": "metric", "dataset": "dataset"}[a] for a in layout.rows]
    table = Table(layout, columns, rows, row_header, paper_cols, decimals)
    table.footnotes = _footnotes(table, alpha)
    return table


def best_near_real(metric: str) -> bool:
    """Whether ``metric`` is best when closest to the real data's value (``best_near_real`` on the metric
    class, e.g. sharpness: samples sharper than the real images are not better) rather than in a direction."""
    from bench.registries import metrics

    reg = metrics()
    return metric in reg and bool(getattr(reg.get(metric), "best_near_real", False))


def _mark(rows: list[Row], alpha: float) -> None:
    """Bold the best cell(s) of every (dataset, metric) group and † those not significantly worse. A metric
    that is best near the real data's value is ranked by |value − real-data mean| (lower is better), and not
    at all in a table without a real-data row."""
    groups: dict[tuple[str, str], list[Cell]] = {}
    real: dict[tuple[str, str], float] = {}
    for r in rows:
        for c in r.cells:
            if c.agg is not None and not c.reference:
                groups.setdefault((c.dataset, c.metric), []).append(c)
            elif c.agg is not None and c.agg.mean is not None:
                real[(c.dataset, c.metric)] = c.agg.mean
    for (dataset, metric), cells in groups.items():
        means = {i: c.agg.mean for i, c in enumerate(cells)}  # type: ignore[union-attr]
        values = {i: c.agg.values for i, c in enumerate(cells)}  # type: ignore[union-attr]
        how = stats.direction(metric)
        if best_near_real(metric):
            ref = real.get((dataset, metric))
            how = "lower" if ref is not None else None
            if ref is not None:
                means = {i: None if m is None else abs(m - ref) for i, m in means.items()}
                values = {i: [abs(v - ref) for v in vs] for i, vs in values.items()}
        ranked = stats.rank_group(means, values, how)
        for i, c in enumerate(cells):
            c.best = i in ranked.best
            c.test = ranked.tests.get(i)
            c.tied = ranked.not_different(i, alpha)


def _footnotes(t: Table, alpha: float) -> list[str]:
    cells = [c for r in t.rows for c in r.cells]
    notes = ["Cells: mean ± sample std (ddof = 1) over completed seeds, (n) = number of seeds; — = not "
             "measured / not reported."]
    dirs = {k: stats.direction(k) for k in sorted({c.metric for c in cells})}
    known = ", ".join(f"{k} {'≈ real' if best_near_real(k) else '↓' if d == 'lower' else '↑'}"
                      for k, d in dirs.items() if d)
    unknown = ", ".join(k for k, d in dirs.items() if not d)
    if known:
        notes.append(f"Bold: best mean per dataset and metric ({known})"
                     + (f"; not ranked (no declared direction): {unknown}." if unknown else "."))
    else:
        notes.append(f"Not ranked: no metric here declares a direction ({unknown}).")
    near = sorted({c.metric for c in cells if best_near_real(c.metric)})
    if near:
        notes.append(f"≈ real: best when closest to the real data's value ({', '.join(near)}: the mean nearest "
                     "to the real-data row's mean); not ranked where the table has no real-data row.")
    if any(c.tied for c in cells) or any(c.test is not None for c in cells):
        notes.append(f"†: not significantly different from the best (Welch t-test over seeds, p ≥ {alpha:g}); "
                     "cells with fewer than 2 seeds are not tested.")
    if any(c.reference for c in cells):
        notes.append("The real-data row is a reference (real vs real images), never ranked.")
    seen: set[tuple[str, str, str]] = set()
    ex = []
    for c in cells:
        if c.n_excluded and (c.dataset, c.model, c.params) not in seen:
            seen.add((c.dataset, c.model, c.params))
            e = c.excluded
            assert e is not None
            parts = []
            if e.diverged:
                parts.append(f"{len(e.diverged)} diverged (seed {', '.join(map(str, sorted(e.diverged)))})")
            if e.failed:
                parts.append(f"{len(e.failed)} failed (seed {', '.join(map(str, sorted(e.failed)))})")
            ex.append(f"{c.model}{'' if c.params == '{}' else ' ' + c.params} on {c.dataset}: "
                      f"{' and '.join(parts)} of {e.total} runs")
    if ex:
        notes.append("‡: runs excluded from the mean — " + "; ".join(ex) + ".")
    sources = sorted({c.paper.source for c in cells if c.paper is not None})
    if sources:
        converted = any(c.paper.conversions() for c in cells if c.paper is not None)
        notes.append("paper: as printed in " + "; ".join(sources) + "; Δ = ours − paper"
                     + (" (after the conversion shown in the paper cell, to the suite's quantity)" if converted else "")
                     + ".")
    scaled = sorted({k for k in (c.metric for c in cells) if k in t.layout.metric_scale})
    if scaled:
        notes.append("Shown scaled (ours and paper alike): " + ", ".join(
            f"{k} ×{t.layout.metric_scale[k]:g}" for k in scaled) + ".")
    return notes


# ---- rendering -------------------------------------------------------------------------
def _fmt(x: float, dp: int) -> str:
    return f"{x:.{dp}f}"


def ours_text(c: Cell, dp: int, scale: float = 1.0) -> tuple[str, list[str]]:
    """The plain text of our value (×``scale`` for display) and its marks (†, ‡); "—" when we have no value."""
    marks = (["†"] if c.tied else []) + (["‡"] if c.n_excluded else [])
    if c.agg is None:
        return MISSING, ["‡"] if c.all_lost else []
    a = c.agg
    text = _fmt(a.mean * scale, dp) + (f" ± {_fmt(a.std * scale, dp)}" if a.std is not None else "") + f" ({a.n})"
    return text, marks


def paper_text(p: Published, dp: int, scale: float = 1.0) -> str:
    """The paper's number as printed, followed by its conversion to the suite's quantity when there is one
    (pixel range, standard error → std, or a unit that the display ``scale`` does not restore)."""
    notes = p.conversions()
    if p.factor * scale != 1.0 and not notes:
        notes = [f"{p.unit or 'value'} ×{p.factor * scale:g}"]
    if not notes:
        return p.text
    m, sd = p.suite_mean * scale, p.suite_std
    return (f"{p.text} ({'; '.join(notes)}) → {_fmt(m, dp)}"
            + (f" ± {_fmt(sd * scale, dp)}" if sd is not None else ""))


def _grid(t: Table) -> tuple[list[str], list[tuple[str | None, list[str], list[tuple[str, bool, list[str]]]]]]:
    """Header and rows of (section, label parts, [(text, bold, marks)…]) with paper and Δ sub-columns."""
    header = list(t.row_header)
    for col, has_paper in zip(t.columns, t.paper_cols, strict=True):
        header += [col] + ([f"{col} paper", f"{col} Δ"] if has_paper else [])
    out = []
    for r in t.rows:
        parts: list[tuple[str, bool, list[str]]] = []
        for c, has_paper in zip(r.cells, t.paper_cols, strict=True):
            dp = t.decimals.get(c.metric, 3)
            scale = t.layout.metric_scale.get(c.metric, 1.0)
            text, marks = ours_text(c, dp, scale)
            parts.append((text, c.best, marks))
            if has_paper:
                parts.append((paper_text(c.paper, dp, scale) if c.paper else MISSING, False, []))
                d = c.diff
                parts.append((MISSING if d is None else f"{d * scale:+.{dp}f}", False, []))
        out.append((r.section, r.label, parts))
    return header, out


def md_escape(s: str) -> str:
    """Escape the characters that Markdown tables would interpret (pipes, emphasis stars)."""
    return s.replace("|", "\\|").replace("*", "\\*")


def to_markdown(t: Table) -> str:
    """GitHub-flavoured Markdown: a title line, the table, footnotes."""
    header, rows = _grid(t)
    esc = [md_escape(h) for h in header]
    lines = [f"**{t.layout.title}.** {t.layout.caption}", "", "| " + " | ".join(esc) + " |",
             "|" + "|".join([":--"] * len(t.row_header) + ["--:"] * (len(header) - len(t.row_header))) + "|"]
    for section, label, parts in rows:
        if section is not None:
            lines.append(f"| *{section}* |" + " |" * (len(header) - 1))
        cells = [(f"**{md_escape(x)}**" if bold and x != MISSING else md_escape(x)) + "".join(m) for x, bold, m in parts]
        lines.append("| " + " | ".join([md_escape(x) for x in label] + cells) + " |")
    lines += [""] + [f"{n}  " for n in t.footnotes]
    return "\n".join(lines).rstrip() + "\n"


TEX_ESCAPE = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
              "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
TEX_SYMBOL = {"±": r"$\pm$", "†": r"$^\dagger$", "‡": r"$^\ddagger$", "—": "---", "Δ": r"$\Delta$", "ξ": r"$\xi$",
              "α": r"$\alpha$", "↓": r"$\downarrow$", "↑": r"$\uparrow$", "≥": r"$\geq$", "−": "-", "é": r"\'e",
              "×": r"$\times$", "*": r"$^*$", "≈": r"$\approx$", "§": r"\S{}", "→": r"$\rightarrow$",
              "√": r"$\surd$", "σ": r"$\sigma$", "²": r"$^2$",
              "÷": r"$\div$"}


def tex_escape(s: str) -> str:
    """Plain text → LaTeX (special characters escaped, the report's symbols as math)."""
    out = []
    for ch in s:
        out.append(TEX_ESCAPE.get(ch) or TEX_SYMBOL.get(ch) or ch)
    return "".join(out)


def to_latex(t: Table) -> str:
    """A booktabs ``table`` float (for ``\\input``; needs ``\\usepackage{booktabs}``)."""
    header, rows = _grid(t)
    nl = len(t.row_header)
    spec = "l" * nl + "r" * (len(header) - nl)
    lines = [r"\begin{table}[t]", r"\centering", r"\small",
             rf"\caption{{{tex_escape(t.layout.title)}. {tex_escape(t.layout.caption)}}}",
             rf"\label{{tab:{t.name}}}", rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(tex_escape(h) for h in header) + r" \\", r"\midrule"]
    for i, (section, label, parts) in enumerate(rows):
        if section is not None:
            if i:
                lines.append(r"\midrule")
            lines.append(rf"\multicolumn{{{len(header)}}}{{l}}{{\textit{{{tex_escape(section)}}}}} \\")
        cells = [(rf"\textbf{{{tex_escape(x)}}}" if bold and x != MISSING else tex_escape(x))
                 + "".join(tex_escape(m) for m in marks) for x, bold, marks in parts]
        lines.append(" & ".join([tex_escape(x) for x in label] + cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\par\smallskip\footnotesize"]
    lines += [tex_escape(n) + r"\par" for n in t.footnotes]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


# paper_mean / paper_std are in the suite's convention (converted); paper_printed is the paper's own text.
CSV_COLUMNS = ["table", "section", "row", "column", "dataset", "model", "params", "metric", "mean", "std", "n",
               "seeds", "n_excluded", "best", "not_sig_worse_than_best", "welch_p_vs_best", "paper_mean",
               "paper_std", "paper_source", "diff_vs_paper", "direction", "paper_printed", "paper_conversion"]


def to_csv(t: Table) -> str:
    """Tidy CSV, one line per cell with a value of ours or the paper's (empty fields = missing)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    section = ""
    for r in t.rows:
        section = r.section if r.section is not None else section
        for col, c in zip(t.columns, r.cells, strict=True):
            if c.agg is None and c.paper is None:
                continue
            a, p = c.agg, c.paper
            w.writerow([t.name, section, " / ".join(r.label), col, c.dataset, c.model, c.params, c.metric,
                        "" if a is None else repr(a.mean), "" if a is None or a.std is None else repr(a.std),
                        0 if a is None else a.n, "" if a is None else " ".join(map(str, a.seeds)), c.n_excluded,
                        int(c.best), int(c.tied), "" if c.test is None else repr(c.test.p),
                        "" if p is None else repr(p.suite_mean),
                        "" if p is None or p.suite_std is None else repr(p.suite_std),
                        "" if p is None else p.source, "" if c.diff is None else repr(c.diff),
                        stats.direction(c.metric) or "", "" if p is None else p.text,
                        "" if p is None else "; ".join(p.conversions())])
    return buf.getvalue()


def to_html(t: Table) -> str:
    """An HTML ``<table>`` with a caption and the footnotes below it."""
    header, rows = _grid(t)
    h = [f'<table class="result" id="{html.escape(t.name)}"><caption><b>{html.escape(t.layout.title)}.</b> '
         f"{html.escape(t.layout.caption)}</caption>",
         "<thead><tr>" + "".join(f"<th>{html.escape(x)}</th>" for x in header) + "</tr></thead><tbody>"]
    for section, label, parts in rows:
        if section is not None:
            h.append(f'<tr class="section"><td colspan="{len(header)}"><i>{html.escape(section)}</i></td></tr>')
        tds = [f'<td class="label">{html.escape(x)}</td>' for x in label]
        for x, bold, marks in parts:
            body = html.escape(x)
            body = f"<b>{body}</b>" if bold and x != MISSING else body
            tds.append(f"<td>{body}{''.join(f'<sup>{m}</sup>' for m in marks)}</td>")
        h.append("<tr>" + "".join(tds) + "</tr>")
    h.append("</tbody></table>")
    h.append('<div class="notes">' + "".join(f"<p>{html.escape(n)}</p>" for n in t.footnotes) + "</div>")
    return "\n".join(h)
