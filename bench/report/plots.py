"""Report figures (seaborn/matplotlib, each written as PNG and PDF, atomically).

* :func:`sweep_boxes` — a metric over a hyper-parameter sweep, one box per model, the best 10
  runs marked (α-GAN Figs. 2 and 5).
* :func:`metric_scatter` — metric against metric over runs, with Pearson r and Spearman ρ
  (α-GAN Fig. 15).
* :func:`training_curves` — logged losses (and k_t, M for BEGAN*-style models) against step,
  mean over seeds with a ±1 std band.
* :func:`mosaic` — every run's ``samples.png`` / ``reconstructions.png``, models × datasets.
"""

from __future__ import annotations

import json
import math
from itertools import combinations
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from scipy import stats as sps  # noqa: E402

from bench.atomic import write_with  # noqa: E402
from bench.report import stats  # noqa: E402
from bench.report.load import Results  # noqa: E402

REFERENCE = "real"
BEST_K = 10
MAX_SCATTER_METRICS = 6
MAX_CURVE_COLS = 5


def save(fig: plt.Figure, stem: Path) -> list[Path]:
    """Write ``stem.png`` (for the HTML page) and ``stem.pdf`` (for papers); returns both paths."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for ext in ("png", "pdf"):
        path = stem.with_suffix(f".{ext}")
        write_with(path, lambda tmp, ext=ext: fig.savefig(tmp, format=ext, dpi=110, bbox_inches="tight"))
        out.append(path)
    plt.close(fig)
    return out


def runs_frame(res: Results, dataset: str) -> pd.DataFrame:
    """One row per completed (run, metric) on ``dataset`` with an ``entry`` label column."""
    df = res.frame
    labels = {e.key: e.label for es in res.entries.values() for e in es}
    ok = df[(df["dataset"] == dataset) & (df["status"] == "completed") & (df["metric"] != "") & df["value"].notna()
            & (df["model"] != REFERENCE)].copy()
    ok["entry"] = [labels[(m, p)] for m, p in zip(ok["model"], ok["params"], strict=True)]
    return ok


def best_runs(values: pd.Series, how: stats.Direction, k: int = BEST_K) -> pd.Index:
    """Index of the ``k`` best values under direction ``how`` (empty without a direction)."""
    if how is None:
        return values.index[:0]
    return (values.nsmallest(k) if how == "lower" else values.nlargest(k)).index


def _grid(n: int, ncols: int = 3, size: tuple[float, float] = (4.0, 3.2)) -> tuple[plt.Figure, list[plt.Axes]]:
    ncols = min(ncols, max(n, 1))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def sweep_boxes(res: Results, dataset: str, stem: Path) -> list[Path]:
    """Box plot of each metric over all runs (seeds × hyper-parameters) per model; the best 10
    runs of each metric (over all models; the better half with fewer than 20 runs) are marked
    with red stars (α-GAN Figs. 2, 5)."""
    df = runs_frame(res, dataset)
    if df.empty:
        return []
    metrics = sorted(df["metric"].unique())
    fig, axes = _grid(len(metrics))
    order = sorted(df["model"].unique())
    for ax, metric in zip(axes, metrics, strict=True):
        d = df[df["metric"] == metric]
        sns.boxplot(data=d, x="model", y="value", order=order, ax=ax, color="0.85", fliersize=0, width=0.6)
        sns.stripplot(data=d, x="model", y="value", order=order, ax=ax, color="0.35", size=3, jitter=False)
        how = stats.direction(metric)
        # the best 10 runs (α-GAN's figures); with few runs, the better half, so that the mark says something
        top = d.loc[best_runs(d["value"], how, min(BEST_K, max(1, len(d) // 2)))]
        if len(top):
            xs = [order.index(m) for m in top["model"]]
            ax.scatter(xs, top["value"], marker="*", s=90, color="tab:red", zorder=5,
                       label=f"best {len(top)} of {len(d)} runs")
            ax.legend(fontsize=7, loc="best")
        arrow = {"lower": " (lower is better)", "higher": " (higher is better)"}.get(how or "", "")
        ax.set_title(f"{metric}{arrow}", fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel(metric)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    fig.suptitle(f"{dataset}: metrics over all runs (seeds × hyper-parameters)", fontsize=10)
    fig.tight_layout()
    return save(fig, stem)


def metric_scatter(res: Results, dataset: str, stem: Path, metrics: list[str] | None = None) -> list[Path]:
    """Every pair of (up to six) metrics over runs, coloured by model, with Pearson r and
    Spearman ρ across runs in each panel title (α-GAN Fig. 15)."""
    df = runs_frame(res, dataset)
    if df.empty:
        return []
    wide = df.pivot_table(index=["run_id", "model"], columns="metric", values="value").reset_index()
    names = [m for m in (metrics or sorted(df["metric"].unique())) if m in wide.columns][:MAX_SCATTER_METRICS]
    pairs = [(a, b) for a, b in combinations(names, 2) if wide[[a, b]].dropna().shape[0] >= 3]
    if not pairs:
        return []
    fig, axes = _grid(len(pairs), size=(3.6, 3.2))
    palette = dict(zip(sorted(wide["model"].unique()), sns.color_palette("tab10", wide["model"].nunique()), strict=True))
    for ax, (a, b) in zip(axes, pairs, strict=True):
        d = wide[["model", a, b]].dropna()
        for model, g in d.groupby("model"):
            ax.scatter(g[a], g[b], s=18, color=palette[model], label=model, alpha=0.85)
        r = sps.pearsonr(d[a], d[b]).statistic if d[a].nunique() > 1 and d[b].nunique() > 1 else float("nan")
        rho = sps.spearmanr(d[a], d[b]).statistic if d[a].nunique() > 1 and d[b].nunique() > 1 else float("nan")
        ax.set_title(f"r = {r:.2f}, ρ = {rho:.2f} (n = {len(d)})", fontsize=9)
        ax.set_xlabel(a)
        ax.set_ylabel(b)
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle(f"{dataset}: metric vs metric over runs", fontsize=10)
    fig.tight_layout()
    return save(fig, stem)


def read_log(run_dir: Path) -> pd.DataFrame:
    """A run's ``log.jsonl`` as a DataFrame of numeric columns by step (event lines dropped)."""
    path = run_dir / "log.jsonl"
    if not path.exists():
        return pd.DataFrame()
    recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    recs = [r for r in recs if "event" not in r and "step" in r]
    df = pd.DataFrame(recs)
    return df.apply(pd.to_numeric, errors="coerce") if not df.empty else df


def training_curves(res: Results, dataset: str, runs_root: Path, stem: Path) -> list[Path]:
    """Logged training quantities against step, one row of panels per model setting, mean over
    seeds with a ±1 std band (k_t and M of BEGAN*-style models are logged quantities too)."""
    df = res.frame
    labels = {e.key: e.label for es in res.entries.values() for e in es}
    runs = df[(df["dataset"] == dataset) & (df["model"] != REFERENCE)][["run_id", "model", "params"]].drop_duplicates()
    logs: dict[str, list[pd.DataFrame]] = {}
    for _, r in runs.iterrows():
        log = read_log(runs_root / str(r["run_id"]))
        if not log.empty:
            logs.setdefault(labels[(r["model"], r["params"])], []).append(log)
    if not logs:
        return []
    entries = sorted(logs)
    # BEGAN*'s own convergence measures (k_t, M; Khan et al. eqs. 10-12) lead their row
    first = {"k_t": 0, "M": 1}
    keys = {e: sorted({k for log in logs[e] for k in log.columns if k != "step"}, key=lambda k: (first.get(k, 2), k))
            for e in entries}
    ncols = min(MAX_CURVE_COLS, max(len(k) for k in keys.values()))
    panels: list[list[tuple[str, str] | None]] = []  # one figure row per (entry, chunk of its keys)
    for e in entries:
        for start in range(0, len(keys[e]), ncols):
            chunk: list[tuple[str, str] | None] = [(e, k) for k in keys[e][start:start + ncols]]
            panels.append(chunk + [None] * (ncols - len(chunk)))
    fig, axes = plt.subplots(len(panels), ncols, figsize=(3.2 * ncols, 2.6 * len(panels)), squeeze=False)
    long = {e: pd.concat([log.assign(seed=j) for j, log in enumerate(logs[e])], ignore_index=True) for e in entries}
    for i, row in enumerate(panels):
        for j, panel in enumerate(row):
            ax = axes[i][j]
            if panel is None:
                ax.set_visible(False)
                continue
            e, k = panel
            # a quantity logged at only some steps (a learning curve every curve_every > log_every steps) is NaN
            # at the others: dropped, or the NaNs between its points would leave the panel without a line
            g = long[e][["step", k]].dropna().groupby("step")[k].agg(["mean", "std", "count"]).reset_index()
            ax.plot(g["step"], g["mean"], color="tab:blue", lw=1.2, marker="." if len(g) <= 30 else None, ms=4)
            band = g["std"].fillna(0.0)
            ax.fill_between(g["step"], g["mean"] - band, g["mean"] + band, color="tab:blue", alpha=0.25, lw=0)
            ax.set_title(f"{e}: {k} ({int(g['count'].max())} seeds)", fontsize=8)
            ax.set_xlabel("step", fontsize=8)
            ax.tick_params(labelsize=7)
    fig.suptitle(f"{dataset}: training curves (mean over seeds ± 1 std)", fontsize=10)
    fig.tight_layout()
    return save(fig, stem)


def mosaic(res: Results, runs_root: Path, image: str, stem: Path, side_by_side: bool = False) -> list[Path]:
    """A models × datasets mosaic of each setting's first completed seed's ``image``
    (``samples.png`` or ``reconstructions.png``: test images above their reconstructions);
    ``side_by_side`` puts the models in columns (datasets × models), for comparing models at a glance."""
    df = res.frame
    labels = {e.key: e.label for es in res.entries.values() for e in es}
    ok = df[(df["status"] == "completed") & (df["model"] != REFERENCE)]
    first = ok.sort_values("seed").drop_duplicates(["dataset", "model", "params"])
    found: dict[tuple[str, str], tuple[Path, int]] = {}
    for _, r in first.iterrows():
        path = runs_root / str(r["run_id"]) / image
        if path.exists():
            found[(labels[(r["model"], r["params"])], r["dataset"])] = (path, int(r["seed"]))
    if not found:
        return []
    entries = sorted({e for e, _ in found})
    datasets = sorted({d for _, d in found})
    if side_by_side:
        fig, grid = plt.subplots(len(datasets), len(entries), figsize=(3.0 * len(entries), 3.3 * len(datasets)),
                                 squeeze=False)
        axes = [[grid[j][i] for j in range(len(datasets))] for i in range(len(entries))]
    else:
        fig, grid = plt.subplots(len(entries), len(datasets), figsize=(4.4 * len(datasets), 4.6 * len(entries)),
                                 squeeze=False)
        axes = [list(row) for row in grid]
    for i, e in enumerate(entries):
        for j, d in enumerate(datasets):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if (e, d) not in found:
                ax.text(0.5, 0.5, "—", ha="center", va="center", fontsize=14)
            else:
                path, seed = found[(e, d)]
                ax.imshow(np.asarray(plt.imread(path)), interpolation="nearest")
                ax.set_title(f"{e} · {d} · seed {seed}", fontsize=8)
            if j == 0 and not side_by_side:
                ax.set_ylabel(e, fontsize=8)
    what = "samples" if image.startswith("samples") else "test images (odd rows) and reconstructions (even rows)"
    fig.suptitle(what, fontsize=10)
    fig.tight_layout()
    return save(fig, stem)
