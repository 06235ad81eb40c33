"""Comparisons across models and metrics: pairwise Welch t-tests and rank agreement (Kendall τ).

IDVAE §4.2 observes that FID15, FID16 and FRD can order the same models differently (VAE-GAN
beats AGE on FID15, AGE beats VAE-GAN on FID16 and FRD); the rank-agreement table measures that
for any sweep as Kendall's τ-b between the orderings each pair of metrics gives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import combinations

import pandas as pd

from bench.report import stats
from bench.report.load import Results
from bench.report.published import PublishedValues

REFERENCE = "real"


def pairwise(res: Results, alpha: float = stats.ALPHA) -> pd.DataFrame:
    """Welch t-tests between every two entries on every (dataset, metric) they share.

    Columns: dataset, metric, a, b, mean_a, mean_b, n_a, n_b, t, df, p, significant, better
    (the entry with the better mean where the metric has a direction and p < ``alpha``).
    """
    rows = []
    labels = {e.key: e.label for es in res.entries.values() for e in es}
    for dataset in res.datasets:
        for metric in res.metrics:
            how = stats.direction(metric)
            cells = [((m, p), agg) for (d, m, p, k), agg in sorted(res.cells.items())
                     if d == dataset and k == metric and m != REFERENCE]
            for (ka, a), (kb, b) in combinations(cells, 2):
                w = stats.welch(a.values, b.values)
                sig = w is not None and w.p < alpha
                winner = ""
                if sig and how is not None and a.mean != b.mean:
                    winner = labels[ka] if stats.better(a.mean, b.mean, how) else labels[kb]
                rows.append({"dataset": dataset, "metric": metric, "a": labels[ka], "b": labels[kb],
                             "mean_a": a.mean, "mean_b": b.mean, "n_a": a.n, "n_b": b.n,
                             "t": None if w is None else w.t, "df": None if w is None else w.df,
                             "p": None if w is None else w.p, "significant": sig, "better": winner})
    return pd.DataFrame(rows, columns=["dataset", "metric", "a", "b", "mean_a", "mean_b", "n_a", "n_b", "t", "df", "p",
                                       "significant", "better"])


def rank_agreement(means: Mapping[str, Mapping[str, float]],
                   direction: Callable[[str], stats.Direction] = stats.direction) -> pd.DataFrame:
    """Kendall τ-b for every pair of metrics over the models both rank.

    ``means`` maps metric → {model: mean}. Metrics without a direction are left out. Columns:
    metric_a, metric_b, tau, p, n (models compared).
    """
    metrics = [k for k in means if direction(k) is not None]
    rows = []
    for a, b in combinations(metrics, 2):
        common = sorted(set(means[a]) & set(means[b]))
        tau = stats.kendall([means[a][m] for m in common], [means[b][m] for m in common], direction(a), direction(b))
        rows.append({"metric_a": a, "metric_b": b, "tau": None if tau is None else tau.tau,
                     "p": None if tau is None else tau.p, "n": len(common)})
    return pd.DataFrame(rows, columns=["metric_a", "metric_b", "tau", "p", "n"])


def sweep_means(res: Results, dataset: str) -> dict[str, dict[str, float]]:
    """metric → {entry label: mean over seeds} on one dataset (real-data rows excluded)."""
    labels = {e.key: e.label for es in res.entries.values() for e in es}
    out: dict[str, dict[str, float]] = {}
    for (d, m, p, k), agg in res.cells.items():
        if d == dataset and m != REFERENCE:
            out.setdefault(k, {})[labels[(m, p)]] = agg.mean
    return {k: out[k] for k in sorted(out)}


def published_means(pv: PublishedValues, paper: str, dataset: str, metrics: list[str]) -> dict[str, dict[str, float]]:
    """metric → {model: published mean} for one paper and dataset (real-data rows excluded)."""
    out: dict[str, dict[str, float]] = {k: {} for k in metrics}
    for r in pv.rows:
        if r.paper == paper and r.dataset == dataset and r.metric in out and r.model != REFERENCE:
            out[r.metric][r.model] = r.suite_mean  # the suite's quantity (bench/report/published.py)
    return out


def tau_matrix(df: pd.DataFrame) -> pd.DataFrame:
    """The symmetric metric × metric matrix of τ (diagonal 1) from :func:`rank_agreement`'s rows."""
    names = sorted(set(df["metric_a"]) | set(df["metric_b"]))
    mat = pd.DataFrame(index=names, columns=names, dtype=float)
    for n in names:
        mat.loc[n, n] = 1.0
    for _, r in df.iterrows():
        mat.loc[r["metric_a"], r["metric_b"]] = r["tau"]
        mat.loc[r["metric_b"], r["metric_a"]] = r["tau"]
    return mat
