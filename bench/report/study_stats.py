"""The study's statistics (#27), free of any table or dataset: Kendall τ-b on many orderings at once, the joint
label-permutation p of a table's mean τ-b, the seed-bootstrap interval, Holm's step-down correction, Welch's
difference interval and Hedges' g, and the deduplication of comparisons that repeat one paper order.

Conventions (docs/study.md, "How the numbers are computed"):

* τ-b is Kendall's τ-b with ties (Kendall 1945): (C − D) / √((n₀ − n₁)(n₀ − n₂)), n₀ pairs, n₁ and n₂ the
  pairs tied in either ordering; None where either side is constant (scipy returns NaN there).
* A permutation p counts the permutations whose statistic is at least the observed one (1e-9 slack for float
  rounding), the identity included: exact over all n! label orders when n! ≤ ``max_exact``, else a Monte-Carlo
  p = (1 + hits) / (1 + draws) from a seeded generator.
* Intervals are percentile intervals of the bootstrap distribution (Efron & Tibshirani 1993, §13.3).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

SLACK = 1e-9
MAX_EXACT = 40_320  # 8!: enumerate every label order up to 8 models
N_RANDOM = 20_000  # Monte-Carlo permutations beyond that (the issue asks ≥ 10,000)
N_BOOT = 10_000
SEED = 0


# ---- Kendall τ-b, many orderings at once ----------------------------------------------------------
def pair_signs(values: np.ndarray) -> np.ndarray:
    """sign(v_i − v_j) for every pair i < j along the last axis (shape ``(..., n(n−1)/2)``)."""
    v = np.asarray(values, dtype=float)
    i, j = np.triu_indices(v.shape[-1], k=1)
    return np.sign(v[..., i] - v[..., j])


def tau_b_many(paper: Sequence[float], suite: np.ndarray) -> np.ndarray:
    """τ-b of one ordering ``paper`` (n values) against each row of ``suite`` (shape ``(k, n)``); NaN where a
    side is constant. Agrees with ``scipy.stats.kendalltau(variant="b")`` (tests/test_study_stats.py)."""
    sp = pair_signs(np.asarray(paper, dtype=float))
    ss = pair_signs(np.atleast_2d(suite))
    n0 = sp.shape[-1]
    num = ss @ sp
    den = np.sqrt((n0 - np.count_nonzero(sp == 0)) * (n0 - np.count_nonzero(ss == 0, axis=-1)).astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def tau_b(a: Sequence[float], b: Sequence[float]) -> float | None:
    """τ-b of two aligned sequences (None with fewer than 2 values or a constant side)."""
    if len(a) < 2:
        return None
    t = float(tau_b_many(a, np.asarray([b], dtype=float))[0])
    return t if math.isfinite(t) else None


# ---- deduplication -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Comparison:
    """One paper column set against one suite metric over ``models``: the paper's values and the suite metric's
    name (the suite's values are looked up per model, so that labels can be permuted and seeds resampled)."""

    label: str  # e.g. "celeba fid"
    suite_metric: str
    models: tuple[str, ...]
    paper: tuple[float, ...]
    dataset: str = ""
    paper_metric: str = ""

    def key(self) -> tuple[str, tuple[str, ...], tuple[float, ...]]:
        """What makes two comparisons the same: the suite metric, the models and the paper's pairwise order."""
        return self.suite_metric, self.models, tuple(pair_signs(np.asarray(self.paper)).tolist())


def distinct(comparisons: Sequence[Comparison]) -> list[list[Comparison]]:
    """Groups of comparisons that are one comparison: same suite metric, same models, and the same paper order
    on them (ties included). The first of each group stands for it; order of first appearance kept."""
    groups: dict[tuple[str, tuple[str, ...], tuple[float, ...]], list[Comparison]] = {}
    for c in comparisons:
        groups.setdefault(c.key(), []).append(c)
    return list(groups.values())


# ---- the table statistic: mean τ-b over distinct comparisons -----------------------------------------
def mean_tau(comparisons: Sequence[Comparison], suite: Mapping[str, np.ndarray], models: Sequence[str],
             ) -> np.ndarray:
    """Mean τ-b over ``comparisons`` for every row of the suite's values: ``suite[metric]`` has shape ``(k,
    len(models))``, column j the value of ``models[j]``. Shape ``(k,)``; NaN where a comparison is undefined."""
    col = {m: j for j, m in enumerate(models)}
    taus = [tau_b_many(c.paper, suite[c.suite_metric][:, [col[m] for m in c.models]]) for c in comparisons]
    return np.mean(np.vstack(taus), axis=0)


@dataclass(frozen=True)
class PermutationTest:
    """The observed statistic, its permutation p, how it was obtained and the null distribution's size."""

    observed: float
    p: float
    exact: bool
    n_permutations: int

    @property
    def method(self) -> str:
        return (f"exact: all {self.n_permutations:,} label orders" if self.exact
                else f"Monte Carlo: {self.n_permutations:,} random label orders")


def label_orders(n: int, max_exact: int = MAX_EXACT, n_random: int = N_RANDOM,
                 seed: int = SEED) -> tuple[np.ndarray, bool]:
    """Every permutation of ``range(n)`` (identity first) when n! ≤ ``max_exact``, else the identity and
    ``n_random`` − 1 seeded random ones."""
    if math.factorial(n) <= max_exact:
        return np.asarray(list(itertools.permutations(range(n))), dtype=int), True
    rng = np.random.default_rng(seed)
    rand = np.argsort(rng.random((n_random - 1, n)), axis=1)
    return np.vstack([np.arange(n)[None, :], rand]), False


def permutation_test(comparisons: Sequence[Comparison], suite: Mapping[str, Sequence[float]], models: Sequence[str],
                     two_sided: bool = False, max_exact: int = MAX_EXACT, n_random: int = N_RANDOM,
                     seed: int = SEED) -> PermutationTest:
    """The joint label-permutation test of the mean τ-b of ``comparisons``: the suite's model labels are shuffled
    once for all comparisons (each suite metric's values move with their labels together), the paper's stay.

    ``suite[metric]`` lists the suite's values in ``models`` order; every comparison must rank all of ``models``
    (a permutation of labels is defined on one set; a table whose comparisons rank different model sets is
    split into rows that do not, :func:`bench.report.study_tables.headline_rows`). One-sided (agreement: mean
    τ ≥ the observed) unless ``two_sided`` (|mean τ| ≥ |observed|; the study reports two-sided)."""
    models = list(models)
    for c in comparisons:
        if sorted(c.models) != sorted(models):
            raise ValueError(f"comparison {c.label!r} ranks {sorted(c.models)}, not the row's models {sorted(models)}")
    base = {k: np.asarray(v, dtype=float) for k, v in suite.items()}
    observed = float(mean_tau(comparisons, {k: v[None, :] for k, v in base.items()}, models)[0])
    orders, exact = label_orders(len(models), max_exact, n_random, seed)
    null = mean_tau(comparisons, {k: v[orders] for k, v in base.items()}, models)
    null = null[np.isfinite(null)]
    hits = np.abs(null) >= abs(observed) - SLACK if two_sided else null >= observed - SLACK
    count = int(np.count_nonzero(hits))
    # the identity is row 0 and always a hit: exact, hits / n!; Monte Carlo, (1 + hits among the draws) / (1 + draws)
    return PermutationTest(observed, count / len(null), exact, len(orders))


def single_tau_test(paper: Sequence[float], suite: Sequence[float], max_exact: int = MAX_EXACT) -> PermutationTest:
    """Exact (two-sided) permutation test of one τ-b: the conditional test given both sides' ties, the one scipy
    does not give when the paper has tied values (it falls back to a normal approximation there)."""
    models = [str(i) for i in range(len(paper))]
    c = Comparison("one", "suite", tuple(models), tuple(float(v) for v in paper))
    return permutation_test([c], {"suite": list(suite)}, models, two_sided=True, max_exact=max_exact)


# ---- the seed bootstrap ------------------------------------------------------------------------------
def seed_bootstrap_draws(comparisons: Sequence[Comparison], seeds: Mapping[str, Mapping[str, Sequence[float]]],
                         models: Sequence[str], n_boot: int = N_BOOT, seed: int = SEED) -> np.ndarray:
    """The bootstrap distribution of the mean τ-b when each model's seeds are resampled with replacement.

    ``seeds[model][metric]`` lists one value per seed, in seed order and aligned across metrics (one run gives
    every metric, so a resampled seed carries all its metrics together). Each model is resampled on its own
    (its own number of seeds). Draws where a comparison is undefined (a constant side) are dropped."""
    rng = np.random.default_rng(seed)
    metrics = sorted({c.suite_metric for c in comparisons})
    cols: dict[str, list[np.ndarray]] = {k: [] for k in metrics}
    for m in models:
        per = {k: np.asarray(seeds[m][k], dtype=float) for k in metrics}
        n = len(per[metrics[0]])
        if any(len(v) != n for v in per.values()):
            raise ValueError(f"{m}: metrics have different numbers of seeds")
        idx = rng.integers(0, n, size=(n_boot, n))
        for k in metrics:
            cols[k].append(per[k][idx].mean(axis=1))
    suite = {k: np.column_stack(v) for k, v in cols.items()}
    draws = mean_tau(comparisons, suite, list(models))
    return draws[np.isfinite(draws)]


def seed_bootstrap(comparisons: Sequence[Comparison], seeds: Mapping[str, Mapping[str, Sequence[float]]],
                   models: Sequence[str], level: float = 0.90, n_boot: int = N_BOOT,
                   seed: int = SEED) -> tuple[float, float]:
    """Percentile interval (``level``) of :func:`seed_bootstrap_draws`."""
    return percentile_interval(seed_bootstrap_draws(comparisons, seeds, models, n_boot, seed), level)


def percentile_interval(draws: Sequence[float], level: float) -> tuple[float, float]:
    lo, hi = np.quantile(np.asarray(draws, dtype=float), [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


# ---- pairwise tests: Welch, Holm, Hedges' g --------------------------------------------------------
def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's (1979) step-down adjusted p-values: sorted ascending, p_(i)·(m − i + 1), running maximum, capped
    at 1 (statsmodels' ``multipletests(method="holm")``)."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out.tolist()


@dataclass(frozen=True)
class Difference:
    """``a`` − ``b``: the mean difference with Welch's 95 % interval and two-sided p, Hedges' g with its
    approximate 95 % interval."""

    diff: float
    diff_lo: float
    diff_hi: float
    p: float
    df: float
    g: float
    g_lo: float
    g_hi: float


def hedges_g(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Hedges' g of ``a`` − ``b`` (Hedges 1981): Cohen's d on the pooled sample standard deviation times
    J = 1 − 3 / (4(n_a + n_b) − 9), and its standard error √((n_a + n_b)/(n_a n_b) + g² / (2(n_a + n_b)))
    (Hedges & Olkin 1985, eq. 5.15's large-sample variance). NaN g where both samples are constant."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    na, nb = len(x), len(y)
    sp = math.sqrt(((na - 1) * x.var(ddof=1) + (nb - 1) * y.var(ddof=1)) / (na + nb - 2))
    j = 1 - 3 / (4 * (na + nb) - 9)
    g = j * (x.mean() - y.mean()) / sp if sp > 0 else math.nan
    se = math.sqrt((na + nb) / (na * nb) + g**2 / (2 * (na + nb))) if math.isfinite(g) else math.nan
    return g, se


def difference(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> Difference | None:
    """Welch's test of ``a`` − ``b`` with its ``level`` interval (Welch–Satterthwaite df) and Hedges' g; None
    with fewer than 2 values on a side."""
    from bench.report import stats

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    w = stats.welch(x, y)
    if w is None:
        return None
    d = float(x.mean() - y.mean())
    se = math.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y))
    half = float(sps.t.ppf((1 + level) / 2, w.df)) * se if se > 0 else 0.0
    g, g_se = hedges_g(x, y)
    z = float(sps.norm.ppf((1 + level) / 2))
    return Difference(d, d - half, d + half, w.p, w.df, g, g - z * g_se, g + z * g_se)
