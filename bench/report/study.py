"""The study's report (#21, #27): per paper table, the suite's seed table; the rank agreement with the paper
(Kendall τ-b on each published metric against its offline stand-in, each with its exact permutation p); the
headline per table and kind (distinct-comparison mean τ-b, joint permutation p, the paper's own ceiling, a
seed-bootstrap interval: :mod:`bench.report.study_tables`); the papers' findings quoted and tested with Holm's
correction and effect sizes (:mod:`bench.report.findings`); τ against training length
(:mod:`bench.report.study_length`); the learning curves and the sample mosaics. Built from the committed
``<out>/<table>/{summary,curves}.csv`` alone (mosaics are redrawn only where run directories exist).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import scipy.stats as sps  # noqa: E402

from bench.atomic import write_with  # noqa: E402
from bench.report import findings as fnd  # noqa: E402
from bench.report import html as htmlmod  # noqa: E402
from bench.report import stats, study_length  # noqa: E402
from bench.report import study_tables as st  # noqa: E402
from bench.report.load import aggregate, read_summary  # noqa: E402
from bench.report.plots import mosaic, save  # noqa: E402
from bench.report.published import PublishedValues, load_published  # noqa: E402
from bench.study import CURVES_FILE, TABLES, StudyTable  # noqa: E402
from bench.summary import seed_values  # noqa: E402

COLUMNS = ("fd_domain", "is_domain", "recon_class_acc", "mse", "cosine", "sharpness", "sharpness_recon",
           "fd_domain_recon", "ms_ssim_diversity", "critic_w")
REFERENCE_FILE = "reference.json"
REFERENCE_METRICS = ("fd_domain", "is_domain", "sharpness", "ms_ssim_diversity", "critic_w")
PLATEAU_ALPHA = 0.05  # "still rising": the last quarter's is_domain slope is positive at one-sided p < 0.05


# ---- numbers -----------------------------------------------------------------------------------
def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def std(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    m = mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


@dataclass
class Tau:
    """One rank comparison: the paper's ordering of ``models`` on ``paper_metric`` (its ``dataset``) against the
    suite's on ``suite_metric`` (digits, 5-seed means). Both metrics measure the same quantity in the same
    orientation (a distance against a distance, a score against a score), so τ-b is taken on the raw values."""

    dataset: str
    paper_metric: str
    suite_metric: str
    models: list[str]
    tau: float | None
    p: float | None
    paper_order: list[str]
    suite_order: list[str]
    paper_text: str = ""  # the orders with ties shown ("a > b = c")
    suite_text: str = ""


def order(values: dict[str, float], metric: str) -> list[str]:
    """Models best first by ``metric``'s direction (sharpness: the paper's reading, larger first)."""
    how = stats.direction(metric)
    return sorted(values, key=lambda m: values[m], reverse=how != "lower")


def order_text(values: dict[str, float], metric: str) -> str:
    """:func:`order` as text, tied values joined by "=" (e.g. AVAE Table I's MSE of 0.03 for three models)."""
    out: list[str] = []
    prev: float | None = None
    for m in order(values, metric):
        out.append(m if prev is None else (f"= {m}" if values[m] == prev else f"> {m}"))
        prev = values[m]
    return " ".join(out)


def kendall_tau_b(a: list[float], b: list[float]) -> tuple[float | None, float | None]:
    """scipy's Kendall τ-b (ties handled) and its p-value; None with fewer than 2 values or no variation."""
    if len(a) < 2:
        return None, None
    res = sps.kendalltau(a, b, variant="b")
    if not math.isfinite(res.statistic):
        return None, None
    return float(res.statistic), float(res.pvalue)


def rank_agreements(table: StudyTable, suite_means: dict[tuple[str, str], float],
                    published: PublishedValues) -> list[Tau]:
    """τ-b per (paper dataset, published metric) of ``table``, over the models both the paper and the suite rank."""
    out: list[Tau] = []
    rows = [r for r in published.rows if r.paper == table.paper and r.table in table.tables and r.model != "real"
            and r.metric in table.metric_map]
    for dataset in dict.fromkeys(r.dataset for r in rows):
        for metric in dict.fromkeys(r.metric for r in rows if r.dataset == dataset):
            suite_metric = table.metric_map[metric]
            paper = {r.model: r.suite_mean for r in rows if r.dataset == dataset and r.metric == metric}
            suite = {m: v for (m, k), v in suite_means.items() if k == suite_metric}
            models = [m for m in paper if m in suite]
            tau, p = kendall_tau_b([paper[m] for m in models], [suite[m] for m in models])
            p_vals, s_vals = {m: paper[m] for m in models}, {m: suite[m] for m in models}
            out.append(Tau(dataset, metric, suite_metric, models, tau, p, order(p_vals, metric), order(s_vals, suite_metric),
                           order_text(p_vals, metric), order_text(s_vals, suite_metric)))
    return out


def plateau(curves: pd.DataFrame, metric: str = "is_domain") -> dict[str, dict[str, float]]:
    """Per model: is ``metric`` still rising at the end of training? A least-squares line through every seed's
    curve points of the last quarter of the schedule (steps ≥ ¾ of the last; with 4,000 iterations and a point
    every 250: 5 points × 5 seeds); ``stopped`` = 1.0 unless its slope is positive with one-sided p <
    :data:`PLATEAU_ALPHA` (scipy's ``linregress``). ``rise`` is the fitted change over that quarter relative to
    the fitted start, for reading; one noisy 300-sample evaluation cannot decide either."""
    out: dict[str, dict[str, float]] = {}
    c = curves[curves["metric"] == metric]
    for model, g in c.groupby("model"):
        last = float(g["step"].max())
        tail = g[g["step"] >= 0.75 * last]
        if tail["step"].nunique() < 2:
            continue
        fit = sps.linregress(tail["step"].astype(float), tail["value"].astype(float))
        p_one = fit.pvalue / 2 if fit.slope > 0 else 1 - fit.pvalue / 2
        first = float(tail["step"].min())
        start = fit.intercept + fit.slope * first
        rise = fit.slope * (last - first) / abs(start) if start else float("inf")
        out[str(model)] = {"slope_per_1k": 1000 * fit.slope, "p": p_one, "rise": rise, "from_step": int(first),
                           "steps": int(last), "stopped": float(not (fit.slope > 0 and p_one < PLATEAU_ALPHA))}
    return out


def schedule_text(rows: pd.DataFrame) -> str:
    """The study's training length read from its summaries: the common iteration count of the completed runs,
    and the models trained for another count (``per_model.<m>.steps``), e.g. "4,000 iterations (vae: 8,000)"."""
    done = rows[rows["status"] == "completed"].drop_duplicates("run_id")
    if done.empty:
        return "no completed runs"
    common = int(done["step"].mode().min())
    other = done[done["step"] != common].groupby("model")["step"].max()
    extra = "; ".join(f"{m}: {int(v):,}" for m, v in other.items())
    return f"{common:,} iterations" + (f" ({extra})" if extra else "")


# ---- the real-data reference -----------------------------------------------------------------------
def real_reference(out: Path, dataset: str = "digits@16", n: int = 300) -> dict[str, float]:
    """The sample metrics of real test images (``reference.json``, computed once; digits are offline)."""
    path = out / REFERENCE_FILE
    if path.exists():
        return json.loads(path.read_text())
    from bench.data import load as load_dataset
    from metrics.base import EvalContext, evaluate

    ds = load_dataset(dataset)
    ctx = EvalContext(ds, sample_images=ds.test.uint8(), seed=0, n_override=n)
    values = evaluate(ctx, list(REFERENCE_METRICS))
    ref = {k: float(values[k]) for k in REFERENCE_METRICS if isinstance(values.get(k), (int, float))}
    ref["sharpness_recon"] = ref["sharpness"]  # a perfect reconstruction is the image itself
    ref["split"], ref["n"] = "test", n  # type: ignore[assignment]
    write_with(path, lambda tmp: tmp.write_text(json.dumps(ref, indent=2, sort_keys=True) + "\n"))
    return ref


# ---- tables and plots ----------------------------------------------------------------------------
def fmt(v: float | None, digits: int = 3) -> str:
    return "—" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.{digits}g}"


def results_frame(models: list[str], values: dict[tuple[str, str], list[float]], ref: dict[str, float],
                  pl: dict[str, dict[str, float]]) -> pd.DataFrame:
    """One row per model: mean ± std (seeds) per metric, and the is_domain rise over the last quarter."""
    cols = [c for c in COLUMNS if any((m, c) in values for m in models)]
    rows = []
    for m in models:
        row = {"model": m}
        for c in cols:
            v = values.get((m, c))
            row[c] = "—" if not v else f"{fmt(mean(v))} ± {fmt(std(v), 2)}" + ("" if len(v) == 5 else f" ({len(v)})")
        p = pl.get(m)
        row["is_domain, last ¼: change (p)"] = "—" if p is None else (f"{p['rise']:+.1%} ({p['p']:.2g})"
                                                                      + ("" if p["stopped"] else " ↑"))
        rows.append(row)
    rows.append({"model": "real data (test)", **{c: fmt(ref.get(c)) if c in ref else "—" for c in cols},
                 "is_domain, last ¼: change (p)": ""})
    return pd.DataFrame(rows).set_index("model")


def md_table(df: pd.DataFrame) -> str:
    head = "| " + " | ".join([df.index.name or "", *map(str, df.columns)]) + " |"
    sep = "|---" * (len(df.columns) + 1) + "|"
    body = ["| " + " | ".join([str(i), *(str(v) for v in row)]) + " |" for i, row in zip(df.index, df.values, strict=True)]
    return "\n".join([head, sep, *body])


def curve_plot(curves: pd.DataFrame, ref: dict[str, float], title: str, stem: Path) -> list[Path]:
    """is_domain against training step, seed mean ± 1 std per model, real test data dashed."""
    c = curves[curves["metric"] == "is_domain"]
    if c.empty:
        return []
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for model, g in c.groupby("model"):
        s = g.groupby("step")["value"].agg(["mean", "std"]).reset_index()
        ax.plot(s["step"], s["mean"], lw=1.4, label=str(model))
        ax.fill_between(s["step"], s["mean"] - s["std"].fillna(0), s["mean"] + s["std"].fillna(0), alpha=0.15, lw=0)
    if "is_domain" in ref:
        ax.axhline(ref["is_domain"], color="k", ls="--", lw=1, label="real test data")
    ax.set_xlabel("training step")
    ax.set_ylabel("is_domain (300 samples)")
    ax.set_title(f"{title}: learning curves (mean ± 1 std over seeds)", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return save(fig, stem)


# ---- the whole report -------------------------------------------------------------------------------
@dataclass
class TableReport:
    table: StudyTable
    models: list[str]
    values: dict[tuple[str, str], list[float]]
    rows: list[st.HeadlineRow]
    family: pd.DataFrame
    findings: list[fnd.FindingResult]
    plateau: dict[str, dict[str, float]]
    frame: pd.DataFrame
    curve_png: Path | None
    mosaics: list[Path]
    n_runs: int
    n_completed: int


def build_table(table: StudyTable, out: Path, ref: dict[str, float], published: PublishedValues) -> TableReport | None:
    from bench.study import sweep_of

    root = out / table.key
    if not (root / "summary.csv").exists():
        return None
    summary = read_summary(root / "summary.csv")
    models = list(sweep_of(table).models)
    values = seed_values(summary)
    curves = pd.read_csv(root / CURVES_FILE) if (root / CURVES_FILE).exists() else pd.DataFrame(
        columns=["model", "seed", "run_id", "step", "metric", "value"])
    pl = plateau(curves)
    pngs = curve_plot(curves, ref, table.title, root / "curves-is_domain")
    if (root / "runs").is_dir():  # redrawn from the run directories; the committed pictures are kept otherwise
        res = aggregate(summary)
        for image in ("samples.png", "reconstructions.png"):
            mosaic(res, root / "runs", image, root / f"mosaic-{image[:-4]}", side_by_side=True)
    mos = [p for p in (root / "mosaic-samples.png", root / "mosaic-reconstructions.png") if p.exists()]
    runs = summary[["run_id", "status"]].drop_duplicates()
    fam = fnd.family(out, table, published)
    return TableReport(table, models, values, st.headline_rows(out, table, published), fam,
                       fnd.evaluate(out, table, published, fam), pl, results_frame(models, values, ref, pl),
                       pngs[0] if pngs else None, mos, len(runs), int((runs["status"] == "completed").sum()))


def signed(v: float | None) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:+.2f}"


def p_text(v: float | None) -> str:
    return "—" if v is None else (f"{v:.2g}" if v < 0.995 else "1")


def findings_count(r: TableReport) -> str:
    verdicts = [f.verdict for f in r.findings if f.verdict != "—"]
    if not verdicts:
        return "—"
    extra = [f"{verdicts.count(v)} {v}" for v in dict.fromkeys(verdicts) if v != "held"]
    return f"{verdicts.count('held')} of {len(verdicts)} held" + (f" ({', '.join(extra)})" if extra else "")


def headline(reports: list[TableReport]) -> pd.DataFrame:
    """One row per table and kind (sample quality, reconstruction): the distinct-comparison mean τ-b, its seed
    bootstrap interval and joint permutation p, the paper's own ceiling; the findings on the table's first row."""
    rows = []
    for r in reports:
        base = {"paper table": r.table.title, "runs": f"{r.n_completed}/{r.n_runs}"}
        if not r.rows:
            rows.append({**base, "ranked": "— (no table: findings only)", "comparisons: distinct (all) × models": "—",
                         "mean τ-b": "—", "90 % seed-bootstrap interval": "—", "permutation p": "—",
                         "paper's own ceiling: mean τ-b [min, max]": "—", "paper's findings (Holm)": findings_count(r)})
            continue
        for i, h in enumerate(r.rows):
            metrics = ", ".join(dict.fromkeys(c.suite_metric for c in h.comparisons))
            ceil = "— (one dataset)" if h.ceiling is None else (
                f"{signed(h.ceiling.mean)} [{signed(h.ceiling.low)}, {signed(h.ceiling.high)}]")
            rows.append({**base, "ranked": f"{h.kind}: {metrics}",
                         "comparisons: distinct (all) × models": f"{len(h.groups)} ({len(h.comparisons)}) × {len(h.models)}",
                         "mean τ-b": signed(h.mean_tau),
                         "90 % seed-bootstrap interval": "—" if h.interval is None else
                         f"[{signed(h.interval[0])}, {signed(h.interval[1])}]",
                         "permutation p": "—" if h.test is None else
                         f"{p_text(h.test.p)} ({'exact' if h.test.exact else 'Monte Carlo'})",
                         "paper's own ceiling: mean τ-b [min, max]": ceil,
                         "paper's findings (Holm)": findings_count(r) if i == 0 else "″"})
    return pd.DataFrame(rows).set_index("paper table")


def tau_frame(h: st.HeadlineRow, means: dict[tuple[str, str], float]) -> pd.DataFrame:
    """One row per comparison of a headline row: τ-b, its exact two-sided permutation p, scipy's p, and which
    comparison it repeats (counted once in the mean)."""
    first = {c.label: g[0].label for g in h.groups for c in g}
    rows = []
    for c in h.comparisons:
        paper = dict(zip(c.models, c.paper, strict=True))
        suite = {m: means[(m, c.suite_metric)] for m in c.models}
        _, p_scipy = kendall_tau_b(list(c.paper), list(suite.values()))
        rows.append({"paper column": c.label, "suite metric": c.suite_metric, "n models": len(c.models),
                     "τ-b": fmt(h.taus[c.label], 2), "p exact (two-sided)": p_text(h.single[c.label].p),
                     "p scipy": p_text(p_scipy),
                     "counted": "yes" if first[c.label] == c.label else f"no: = {first[c.label]}",
                     "paper order (best first)": order_text(paper, c.suite_metric),
                     "suite order (best first)": order_text(suite, c.suite_metric)})
    return pd.DataFrame(rows).set_index("paper column")


def family_frame(fam: pd.DataFrame) -> pd.DataFrame:
    rows = [{"metric": f["metric"], "a − b": f"{f['a']} − {f['b']}",
             "means": f"{fmt(f['mean_a'])} vs {fmt(f['mean_b'])}",
             "difference [95 % CI]": fnd.fmt_interval(f["diff"], f["diff_lo"], f["diff_hi"]),
             "Hedges' g [95 % CI]": fnd.fmt_interval(f["g"], f["g_lo"], f["g_hi"]),
             "Welch p": p_text(f["p_welch"]), "Holm p": p_text(f["p_holm"])} for _, f in fam.iterrows()]
    return pd.DataFrame(rows).set_index("metric") if rows else pd.DataFrame()


def part_text(pr: fnd.PartResult) -> str:
    p = pr.part
    if p.kind in ("sweep", "untestable"):
        return p.what
    head = f"{p.a} {'≈' if p.kind == 'competitive' else 'better than'} {p.b} on {p.metric}"
    if pr.row is None:
        return head
    r = pr.row
    return (f"{head}: {fmt(r['mean_a'])} vs {fmt(r['mean_b'])}, difference "
            f"{fnd.fmt_interval(r['diff'], r['diff_lo'], r['diff_hi'])}, g {fnd.fmt_interval(r['g'], r['g_lo'], r['g_hi'])}, "
            f"Holm p {p_text(r['p_holm'])}")


def findings_frame(results: list[fnd.FindingResult]) -> pd.DataFrame:
    rows = []
    for fr in results:
        for i, pr in enumerate(fr.parts):
            quote = f"“{fr.finding.quote}” ({fr.finding.where})" + (
                f"; read as: {fr.finding.reading}" if fr.finding.reading else "")
            rows.append({"the paper says": quote if i == 0 else "″", "finding": fr.verdict if i == 0 else "″",
                         "tested as": part_text(pr), "part": pr.verdict})
    return pd.DataFrame(rows).set_index("the paper says") if rows else pd.DataFrame()


def length_section(out: Path, reports: list[TableReport], published: PublishedValues) -> tuple[list[str], str]:
    """τ against training length for every table, ``tau-vs-length.csv`` and ``tau-vs-length.png``."""
    frames = []
    notes = []
    for r in reports:
        wanted = list(dict.fromkeys([*r.models, *(m for h in r.rows for m in h.models)]))
        paper: dict[str, dict[str, float]] = {}
        for h in r.rows:
            for c in h.comparisons:
                if c.suite_metric not in paper:
                    paper[c.suite_metric] = dict(zip(c.models, c.paper, strict=True))
        df = study_length.tau_by_step(out, r.table, paper, wanted)
        frames.append(df)
        ranked = list(dict.fromkeys(c.suite_metric for h in r.rows for c in h.comparisons))
        logged = sorted(df["metric"].unique()) if not df.empty else []
        missing = [m for m in ranked if m not in logged]
        if missing:
            notes.append(f"{r.table.title} ranks {', '.join(missing)}: no learning curve "
                         f"(its curves.csv logs {', '.join(logged) or 'nothing'})")
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=study_length.COLUMNS)
    write_with(out / "tau-vs-length.csv", lambda tmp: df.to_csv(tmp, index=False))
    pngs = study_length.plot(df, out / "tau-vs-length")
    md = ["## τ against training length", "",
          "From each table's `curves.csv` (seed means every 250 iterations; a model past its last step keeps its last "
          "value). The τ against the paper can only be computed on a ranked metric that has a curve. "
          + ("; ".join(notes) + ". What exists is shown instead: τ-b of the curve metric's order at each step "
             "against its order at the end of training (has the order settled?), and, where the table ranks the "
             "curve metric itself, τ-b against the paper at each step." if notes else ""), "",
          study_length.settled_text(df) + ".", ""]
    against = df[df["against"] == "paper"]
    for (table, metric), g in against.groupby(["table", "metric"], sort=False):
        pts = ", ".join(f"{int(s):,}: {signed(t)}" for s, t in zip(g["step"], g["tau_b"], strict=True)
                        if int(s) % 1000 == 0 or s == g["step"].iloc[0])
        md += [f"τ-b against the paper, {table} ({metric}), by step: {pts}.", ""]
    if pngs:
        md.append(f"![tau-vs-length]({pngs[0].relative_to(out)})")
    return md + [""], htmlmod.embed_png(pngs[0]) if pngs else ""


HOW = ("How the numbers are computed (docs/study.md): **mean τ-b** over the row's *distinct* comparisons (paper "
       "columns that give the same order of the same models, against the same suite metric, count once); "
       "**permutation p**: two-sided, the suite's model labels shuffled jointly across the row's comparisons, "
       "exact over every label order (n! ≤ 40,320) or 20,000 seeded random orders beyond; **90 % seed-bootstrap "
       "interval**: each model's seeds resampled with replacement (10,000 draws, seed 0), percentile interval; "
       "**paper's own ceiling**: the mean τ-b between the paper's datasets' orders on the same metric (its own "
       "cross-dataset agreement; — where it reports one dataset); **findings**: each stated finding quoted, "
       "tested with Welch's t-test over seeds, Holm-corrected over the table's whole family of pairwise tests "
       "(every pair of models on every metric the table compares); held / contradicted at Holm p < 0.05, else "
       "not established; a sweep claim is not testable on one setting per model.")


def write_report(out: str | Path = "results/study", tables: list[StudyTable] | None = None) -> list[Path]:
    """``report.md``, ``report.html``, ``summary.csv`` (all tables), ``agreement.csv``, ``pairwise.csv``,
    ``findings.csv``, ``tau-vs-length.{csv,png}`` and the plots under ``out``."""
    out = Path(out)
    ref = real_reference(out)
    published = load_published()
    reports = [r for t in (tables or list(TABLES)) if (r := build_table(t, out, ref, published)) is not None]
    if not reports:
        from bench.report.load import ReportInputError

        raise ReportInputError(f"no study results under {out} (run: python -m bench study)")
    frames = [read_summary(out / r.table.key / "summary.csv").assign(table=r.table.key) for r in reports]
    all_rows = pd.concat(frames, ignore_index=True)
    write_with(out / "summary.csv", lambda tmp: all_rows.to_csv(tmp, index=False))
    agree = pd.DataFrame([{"table": r.table.key, "kind": h.kind, "dataset": c.dataset, "paper_metric": c.paper_metric,
                           "suite_metric": c.suite_metric, "n_models": len(c.models), "tau_b": h.taus[c.label],
                           "p_exact": h.single[c.label].p, "p_scipy": kendall_tau_b(list(c.paper), [
                               means_of(out, r, c.suite_metric)[m] for m in c.models])[1],
                           "counted_as": next(g[0].label for g in h.groups if c in g)}
                          for r in reports for h in r.rows for c in h.comparisons])
    write_with(out / "agreement.csv", lambda tmp: agree.to_csv(tmp, index=False))
    pair = pd.concat([r.family.assign(table=r.table.key) for r in reports], ignore_index=True)
    write_with(out / "pairwise.csv", lambda tmp: pair.to_csv(tmp, index=False, float_format="%.6g"))
    found = pd.DataFrame([{"table": r.table.key, "where": fr.finding.where, "quote": fr.finding.quote,
                           "finding": fr.verdict, "part": pr.part.kind, "metric": pr.part.metric, "a": pr.part.a,
                           "b": pr.part.b, "what": pr.part.what, "verdict": pr.verdict}
                          for r in reports for fr in r.findings for pr in fr.parts])
    write_with(out / "findings.csv", lambda tmp: found.to_csv(tmp, index=False))
    head = headline(reports)
    md = [f"# The study: the five paper tables, offline edition ({ref.get('n', 300)} images per metric)", "",
          "Written by `python -m bench study` (regenerate from the committed summaries: "
          "`python -m bench study --report-only`). Every model of every table: digits at 16 px, 5 seeds, one shared "
          f"setting (width 32, latent 16, batch 32, Adam lr 1e-3, {schedule_text(all_rows)}); FID/FRD → `fd_domain`, "
          "IS → `is_domain`; the papers' values are of other datasets and networks, so only rankings are compared. "
          "Discussion: docs/study.md.", "", "## Headline", "", md_table(head), "", HOW, ""]
    sections = [("Headline", htmlmod.frame_html(head) + f"<p>{HOW}</p>")]
    for r in reports:
        md += [f"## {r.table.title}", "", f"Sweep `bench/sweeps/{r.table.sweep}.yaml`; {r.n_completed} of {r.n_runs} "
               "runs completed. Cells: mean ± std over seeds (a count in brackets where fewer than 5 completed); "
               "the last column is the is_domain curve's fitted change over the last quarter of training (a line "
               "through every seed's points) and the one-sided p of a positive slope; ↑ marks a model still rising "
               "(p < 0.05).", "", md_table(r.frame), ""]
        body = htmlmod.frame_html(r.frame)
        borrowed = {m: t for h in r.rows for m, t in h.borrowed.items()}
        if borrowed:
            note = ("Models the paper's table ranks that this sweep does not run, taken from another table's runs: "
                    + ", ".join(f"{m} from {t} ({', '.join(f'{int(s):,}' for s in sorted(set(frames_step(out, t, m))))}"
                                " iterations)" for m, t in borrowed.items()) + ".")
            md += [note, ""]
            body += f"<p>{note}</p>"
        quoted = [p for p in st.published_rows(r.table, published) if "QUOTED" in p.note
                  and any(p.model in h.models for h in r.rows)]
        if quoted:
            note = ("Flagged: the paper quotes these values from other papers and did not measure them: "
                    + "; ".join(f"{p.model} {p.text} ({p.note.split(';')[0]})" for p in quoted) + ".")
            md += [note, ""]
            body += f"<p>{note}</p>"
        means = st.seed_means(st.table_seeds(out, r.table, list(borrowed))[0])
        for h in r.rows:
            tf = tau_frame(h, means)
            title = f"Rank agreement with the paper, {h.kind} (Kendall τ-b on the models both rank)"
            md += [f"{title}:", "", md_table(tf), ""]
            body += f"<h3>{title}</h3>" + htmlmod.frame_html(tf)
        if r.findings:
            ff = findings_frame(r.findings)
            md += ["The paper's findings, quoted, tested as stated (Holm over the table's family below):", "",
                   md_table(ff), ""]
            body += "<h3>The paper's findings</h3>" + htmlmod.frame_html(ff)
        if not r.rows and r.table.key == "alphagan":
            md += ["τ is not computed: α-GAN reports its comparison in figures (box plots over hyper-parameter "
                   "sweeps) whose full order cannot be read reliably; its text's findings are tested above.", ""]
        if len(r.family):
            pf = family_frame(r.family)
            md += [f"The table's family of pairwise tests ({len(r.family)}: every pair of models on "
                   f"{', '.join(dict.fromkeys(r.family['metric']))}; Welch's t-test over seeds, Holm-corrected "
                   "over the family; difference a − b with Welch's 95 % interval; Hedges' g with its approximate "
                   "95 % interval):", "", md_table(pf), ""]
            body += "<h3>Pairwise tests (Holm within the table)</h3>" + htmlmod.frame_html(pf)
        for p in [r.curve_png, *r.mosaics]:
            if p is not None:
                md.append(f"![{p.stem}]({p.relative_to(out)})")
                body += htmlmod.embed_png(p)
        md.append("")
        sections.append((r.table.title, body))
    length_md, length_html = length_section(out, reports, published)
    md += length_md
    sections.append(("τ against training length", length_html))
    md_path, html_path = out / "report.md", out / "report.html"
    write_with(md_path, lambda tmp: tmp.write_text("\n".join(md) + "\n"))
    page = htmlmod.page("hybrid-bench: the study", sections, "offline edition of the five papers' tables; docs/study.md")
    write_with(html_path, lambda tmp: tmp.write_text(page))
    return [md_path, html_path, out / "summary.csv", out / "agreement.csv", out / "pairwise.csv",
            out / "findings.csv", out / "tau-vs-length.csv"]


def means_of(out: Path, r: TableReport, metric: str) -> dict[str, float]:
    """model → seed mean of ``metric`` in ``r``'s table (borrowed models included)."""
    borrowed = [m for h in r.rows for m in h.borrowed]
    return {m: v for (m, k), v in st.seed_means(st.table_seeds(out, r.table, borrowed)[0]).items() if k == metric}


def frames_step(out: Path, table: str, model: str) -> list[int]:
    """The iteration counts a model's completed runs trained for in ``table``'s summary."""
    df = read_summary(out / table / "summary.csv")
    return [int(s) for s in df[(df["model"] == model) & (df["status"] == "completed")]["step"].unique()]


def headline_markdown(out: str | Path = "results/study") -> str:
    """The headline table of a written report (for the README)."""
    text = (Path(out) / "report.md").read_text()
    start = text.index("## Headline")
    block = text[start:].split("\n## ", 1)[0]
    return "\n".join(ln for ln in block.splitlines()[1:] if ln.startswith("|"))
