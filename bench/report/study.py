"""The study's report (#21): per paper table, the suite's 5-seed table, the rank agreement with the paper
(Kendall τ-b on each published metric against its offline stand-in), the paper's pairwise claims where it
gives no full table, the is_domain learning curves and the sample mosaics. Built from the committed
``results/study/<table>/{summary,curves}.csv`` alone (mosaics are redrawn only where run directories exist).
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
from bench.report import html as htmlmod  # noqa: E402
from bench.report import stats  # noqa: E402
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


@dataclass
class Claim:
    """A pairwise finding of a paper (``better`` beats ``worse`` on ``metric``) tested on the suite's seeds."""

    text: str
    metric: str
    better: str
    worse: str
    mean_better: float | None
    mean_worse: float | None
    p: float | None  # Welch's t-test over seeds
    held: bool | None  # the suite's means are in the paper's order (None: a model is missing)


CLAIMS: dict[str, list[tuple[str, str, str, str]]] = {
    # α-GAN §5: "WGAN-GP produces the samples rated best" by the independent critic (ColorMNIST, Fig. 2a; also
    # CelebA 2b and CIFAR-10 2c); "most of hyperparameters tried [of α-GAN] achieve a higher value than the best
    # DC-GAN results" (Fig. 2a); on the CIFAR-10 classifier's Inception score "WGAN-GP both performs best" (Fig. 5c).
    "alphagan": [("independent critic: WGAN-GP best (Fig. 2a-c)", "critic_w", "wgan-gp", "alpha-gan"),
                 ("independent critic: WGAN-GP best (Fig. 2a-c)", "critic_w", "wgan-gp", "dcgan"),
                 ("independent critic: WGAN-GP best (Fig. 2a-c)", "critic_w", "wgan-gp", "age"),
                 ("independent critic: α-GAN beats DCGAN (Fig. 2a)", "critic_w", "alpha-gan", "dcgan"),
                 ("domain-classifier IS: WGAN-GP best (Fig. 5c)", "is_domain", "wgan-gp", "alpha-gan"),
                 ("domain-classifier IS: WGAN-GP best (Fig. 5c)", "is_domain", "wgan-gp", "dcgan"),
                 ("domain-classifier IS: WGAN-GP best (Fig. 5c)", "is_domain", "wgan-gp", "age")],
    # Khan et al. Table 1: VAE + BEGAN* + LSM (IS 6.80) above BEGAN* + LSM (6.12) on CIFAR-10.
    "khan_table1": [("Table 1: VAE+BEGAN*+LSM above BEGAN*+LSM on IS", "is_domain", "vae-began", "began-lsm")],
}


def claims(table: StudyTable, values: dict[tuple[str, str], list[float]]) -> list[Claim]:
    out = []
    for text, metric, better, worse in CLAIMS.get(table.key, []):
        a, b = values.get((better, metric)), values.get((worse, metric))
        if not a or not b:
            out.append(Claim(text, metric, better, worse, None, None, None, None))
            continue
        w = stats.welch(a, b)
        how = stats.direction(metric)
        held = mean(a) < mean(b) if how == "lower" else mean(a) > mean(b)
        out.append(Claim(text, metric, better, worse, mean(a), mean(b), None if w is None else w.p, held))
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


def tau_frame(taus: list[Tau]) -> pd.DataFrame:
    rows = [{"paper dataset": t.dataset, "paper metric": t.paper_metric, "suite metric": t.suite_metric,
             "n models": len(t.models), "τ-b": fmt(t.tau, 2), "p": fmt(t.p, 2),
             "paper order (best first)": t.paper_text, "suite order (best first)": t.suite_text}
            for t in taus]
    return pd.DataFrame(rows).set_index("paper dataset") if rows else pd.DataFrame()


def claim_frame(cl: list[Claim]) -> pd.DataFrame:
    rows = [{"paper's finding": c.text, "metric": c.metric, "better": c.better, "worse": c.worse,
             "suite means": f"{fmt(c.mean_better)} vs {fmt(c.mean_worse)}", "Welch p": fmt(c.p, 2),
             "held": "—" if c.held is None else ("yes" if c.held else "no")} for c in cl]
    return pd.DataFrame(rows).set_index("paper's finding") if rows else pd.DataFrame()


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
    taus: list[Tau]
    claims: list[Claim]
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
    means = {k: mean(v) for k, v in values.items() if v}
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
    return TableReport(table, models, values, rank_agreements(table, means, published), claims(table, values), pl,
                       results_frame(models, values, ref, pl), pngs[0] if pngs else None, mos, len(runs),
                       int((runs["status"] == "completed").sum()))


def headline(reports: list[TableReport]) -> pd.DataFrame:
    """One row per table: models, the suite's order on the first stand-in, and the agreement figures."""
    rows = []
    for r in reports:
        taus = [t.tau for t in r.taus if t.tau is not None]
        main = r.table.rank_by
        suite = {m: mean(r.values[(m, main)]) for m in r.models if r.values.get((m, main))}
        held = [c.held for c in r.claims if c.held is not None]
        rows.append({"paper table": r.table.title, "runs": f"{r.n_completed}/{r.n_runs}",
                     "suite order (best first)": f"{main}: " + " > ".join(order(suite, main)),
                     "τ-b vs paper: mean [min, max] (comparisons × models)":
                         "—" if not taus else f"{sum(taus) / len(taus):+.2f} [{min(taus):+.2f}, {max(taus):+.2f}] "
                         f"({len(taus)} × {max(len(t.models) for t in r.taus)})",
                     "paper's pairwise findings held": "—" if not held else f"{sum(held)}/{len(held)}"})
    return pd.DataFrame(rows).set_index("paper table")


def write_report(out: str | Path = "results/study", tables: list[StudyTable] | None = None) -> list[Path]:
    """``report.md``, ``report.html``, ``summary.csv`` (all tables), ``agreement.csv`` and the plots under ``out``."""
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
    agree = pd.DataFrame([{"table": r.table.key, "dataset": t.dataset, "paper_metric": t.paper_metric,
                           "suite_metric": t.suite_metric, "n_models": len(t.models), "tau_b": t.tau, "p": t.p,
                           "paper_order": t.paper_text, "suite_order": t.suite_text}
                          for r in reports for t in r.taus])
    write_with(out / "agreement.csv", lambda tmp: agree.to_csv(tmp, index=False))
    head = headline(reports)
    md = [f"# The study: the five paper tables, offline edition ({ref.get('n', 300)} images per metric)", "",
          "Written by `python -m bench study` (regenerate from the committed summaries: "
          "`python -m bench study --report-only`). Every model of every table: digits at 16 px, 5 seeds, one shared "
          f"setting (width 32, latent 16, batch 32, Adam lr 1e-3, {schedule_text(all_rows)}); FID/FRD → `fd_domain`, "
          "IS → `is_domain`; the papers' values are of other datasets and networks, so only rankings are compared. "
          "Discussion: docs/study.md.", "", "## Headline", "", md_table(head), ""]
    sections = [("Headline", htmlmod.frame_html(head))]
    for r in reports:
        md += [f"## {r.table.title}", "", f"Sweep `bench/sweeps/{r.table.sweep}.yaml`; {r.n_completed} of {r.n_runs} "
               "runs completed. Cells: mean ± std over seeds (a count in brackets where fewer than 5 completed); "
               "the last column is the is_domain curve's fitted change over the last quarter of training (a line "
               "through every seed's points) and the one-sided p of a positive slope; ↑ marks a model still rising "
               "(p < 0.05).", "", md_table(r.frame), ""]
        body = htmlmod.frame_html(r.frame)
        if r.taus:
            tf = tau_frame(r.taus)
            md += ["Rank agreement with the paper (Kendall τ-b on the models both rank):", "", md_table(tf), ""]
            body += "<h3>Rank agreement (Kendall τ-b)</h3>" + htmlmod.frame_html(tf)
        if r.claims:
            cf = claim_frame(r.claims)
            md += ["The paper's pairwise findings on the suite's seeds:", "", md_table(cf), ""]
            body += "<h3>The paper's findings</h3>" + htmlmod.frame_html(cf)
        if not r.taus and r.table.key == "alphagan":
            md += ["τ is not computed: α-GAN reports its comparison in figures (box plots over hyper-parameter "
                   "sweeps) whose full order cannot be read reliably; its text states the pairwise findings above.", ""]
        for p in [r.curve_png, *r.mosaics]:
            if p is not None:
                md.append(f"![{p.stem}]({p.relative_to(out)})")
                body += htmlmod.embed_png(p)
        md.append("")
        sections.append((r.table.title, body))
    md_path, html_path = out / "report.md", out / "report.html"
    write_with(md_path, lambda tmp: tmp.write_text("\n".join(md) + "\n"))
    page = htmlmod.page("hybrid-bench: the study", sections, "offline edition of the five papers' tables; docs/study.md")
    write_with(html_path, lambda tmp: tmp.write_text(page))
    return [md_path, html_path, out / "summary.csv", out / "agreement.csv"]


def headline_markdown(out: str | Path = "results/study") -> str:
    """The headline table of a written report (for the README)."""
    text = (Path(out) / "report.md").read_text()
    start = text.index("## Headline")
    block = text[start:].split("\n## ", 1)[0]
    return "\n".join(ln for ln in block.splitlines()[1:] if ln.startswith("|"))
