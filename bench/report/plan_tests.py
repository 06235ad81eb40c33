"""The test kinds of the Fashion-MNIST edition's pre-registration (docs/study-plan.md §8), free of any table.

* **d**: Welch's two-sided t-test of a − b over seeds, the difference with its Welch 95 % interval, Hedges' g
  with its 95 % interval (:func:`bench.report.study_stats.difference`).
* **eq**: equivalence by two one-sided Welch tests (TOST, Schuirmann 1987) with margin δ = 10 % of |mean of b|;
  p = the larger one-sided p; the difference's 90 % interval (the interval TOST at 5 % is equivalent to).
* **ni**: non-inferiority, one-sided Welch test of H₀: a is worse than b by at least δ (a − b ≥ δ for a
  distance, a − b ≤ −δ for a score), δ as for eq.
* **r**: one-sample two-sided t-test of the seeds against the real test images' value.
* **sp**: Brown–Forsythe test of equal spread (Levene's test centred on the median, ``scipy.stats.levene(
  center="median")``), two-sided; effect = SD(a) / SD(b) over jobs with a job-bootstrap 95 % percentile interval.
* **ex**: exceedance: K = the number of jobs of the named models above the best job of the comparison model
  (ties do not exceed); exact P(K ≥ k) = C(a, k) / C(a + b, k) when all a + b jobs are exchangeable: K ≥ k exactly
  when the k largest of the a + b values all belong to the named models, and under exchangeability the set of
  the k largest is a uniformly random k-subset of the a + b jobs (with ties the p is conservative).

Every function returns a :class:`TestResult` (p before correction; Holm is applied over a table's family by
the caller, :func:`bench.report.plan_findings.evaluate`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from bench.report import study_stats as ss

MARGIN = 0.10  # δ = 10 % of b's |mean| (eq, ni)
N_BOOT = 10_000
SEED = 0


@dataclass(frozen=True)
class TestResult:
    """One registered test's raw outcome. ``diff``/``lo``/``hi``: the effect and its interval (d: a − b, 95 %;
    eq: a − b, 90 %; ni: a − b, 95 %; r: mean − real, 95 %; sp: SD(a)/SD(b), bootstrap 95 %; ex: K of a, no
    interval); ``g``: Hedges' g with interval (d only); ``delta``: the margin (eq, ni)."""

    p: float
    diff: float
    lo: float
    hi: float
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    g: float = math.nan
    g_lo: float = math.nan
    g_hi: float = math.nan
    delta: float = math.nan
    k: int = 0


def _arr(x: Sequence[float]) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _welch_se_df(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Welch's standard error of mean(x) − mean(y) and the Welch–Satterthwaite degrees of freedom."""
    va, vb = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(x) - 1) + vb**2 / (len(y) - 1)) if se > 0 else float(len(x) + len(y) - 2)
    return se, df


def d_test(a: Sequence[float], b: Sequence[float]) -> TestResult | None:
    """Welch two-sided (d); None with fewer than 2 values a side."""
    x, y = _arr(a), _arr(b)
    d = ss.difference(x, y)
    if d is None:
        return None
    return TestResult(d.p, d.diff, d.diff_lo, d.diff_hi, len(x), len(y), float(x.mean()), float(y.mean()),
                      d.g, d.g_lo, d.g_hi)


def margin(b: Sequence[float]) -> float:
    """δ = 10 % of |mean of b| (|mean| so that a negative critic_w gives a positive margin)."""
    return MARGIN * abs(float(_arr(b).mean()))


def _margin_comparison(a: Sequence[float], b: Sequence[float]
                       ) -> tuple[np.ndarray, np.ndarray, float, float, float, float] | None:
    """What the margin tests share: the two samples, the margin δ (of b), the difference of means a − b and
    its Welch standard error and degrees of freedom; None below two values a side."""
    x, y = _arr(a), _arr(b)
    if len(x) < 2 or len(y) < 2:
        return None
    se, df = _welch_se_df(x, y)
    return x, y, margin(y), float(x.mean() - y.mean()), se, df


def _margin_result(p: float, diff: float, half: float, x: np.ndarray, y: np.ndarray, delta: float) -> TestResult:
    return TestResult(p, diff, diff - half, diff + half, len(x), len(y), float(x.mean()), float(y.mean()), delta=delta)


def eq_test(a: Sequence[float], b: Sequence[float]) -> TestResult | None:
    """TOST: p₁ of H₀ a − b ≤ −δ, p₂ of H₀ a − b ≥ δ, p = max(p₁, p₂); the 90 % Welch interval of a − b."""
    if (c := _margin_comparison(a, b)) is None:
        return None
    x, y, delta, diff, se, df = c
    if se == 0:
        return _margin_result(0.0 if abs(diff) < delta else 1.0, diff, 0.0, x, y, delta)
    p1 = float(sps.t.sf((diff + delta) / se, df))
    p2 = float(sps.t.cdf((diff - delta) / se, df))
    return _margin_result(max(p1, p2), diff, float(sps.t.ppf(0.95, df)) * se, x, y, delta)


def ni_test(a: Sequence[float], b: Sequence[float], lower_is_better: bool) -> TestResult | None:
    """Non-inferiority of a to b: one-sided Welch p of H₀ a − b ≥ δ (distance) or a − b ≤ −δ (score); the
    two-sided 95 % Welch interval of a − b (wholly beyond δ: inferior)."""
    if (c := _margin_comparison(a, b)) is None:
        return None
    x, y, delta, diff, se, df = c
    if se == 0:
        ok = diff < delta if lower_is_better else diff > -delta
        return _margin_result(0.0 if ok else 1.0, diff, 0.0, x, y, delta)
    p = float(sps.t.cdf((diff - delta) / se, df)) if lower_is_better else float(sps.t.sf((diff + delta) / se, df))
    return _margin_result(p, diff, float(sps.t.ppf(0.975, df)) * se, x, y, delta)


def r_test(a: Sequence[float], real: float) -> TestResult | None:
    """One-sample two-sided t-test of the seeds against ``real``; the 95 % interval of mean − real."""
    x = _arr(a)
    if len(x) < 2:
        return None
    diff = float(x.mean() - real)
    se = float(x.std(ddof=1)) / math.sqrt(len(x))
    if se == 0:
        return TestResult(1.0 if diff == 0 else 0.0, diff, diff, diff, len(x), 0, float(x.mean()), real)
    p = float(sps.ttest_1samp(x, real).pvalue)
    half = float(sps.t.ppf(0.975, len(x) - 1)) * se
    return TestResult(p, diff, diff - half, diff + half, len(x), 0, float(x.mean()), real)


def sp_test(a: Sequence[float], b: Sequence[float], n_boot: int = N_BOOT, seed: int = SEED) -> TestResult | None:
    """Brown–Forsythe (median-centred Levene) two-sided p; SD(a)/SD(b) with a job-bootstrap 95 % interval (each
    model's jobs resampled with replacement; draws with a zero SD in b dropped)."""
    x, y = _arr(a), _arr(b)
    if len(x) < 2 or len(y) < 2:
        return None
    p = float(sps.levene(x, y, center="median").pvalue)
    sb = float(y.std(ddof=1))
    ratio = float(x.std(ddof=1)) / sb if sb > 0 else math.inf
    rng = np.random.default_rng(seed)
    bx = x[rng.integers(0, len(x), size=(n_boot, len(x)))].std(axis=1, ddof=1)
    by = y[rng.integers(0, len(y), size=(n_boot, len(y)))].std(axis=1, ddof=1)
    ok = by > 0
    lo, hi = ss.percentile_interval(bx[ok] / by[ok], 0.95) if ok.any() else (math.nan, math.nan)
    return TestResult(p if math.isfinite(p) else 1.0, ratio, lo, hi, len(x), len(y), float(x.std(ddof=1)), sb)


def exceed_p(a: int, b: int, k: int) -> float:
    """P(K ≥ k) = C(a, k) / C(a + b, k): the k largest of a + b exchangeable jobs all among the a."""
    if k <= 0:
        return 1.0
    if k > a:
        return 0.0
    return math.comb(a, k) / math.comb(a + b, k)


def ex_test(a: Sequence[float], b: Sequence[float], higher_is_better: bool = True) -> TestResult | None:
    """K = jobs of ``a`` strictly beyond ``b``'s best job (ties do not exceed), and its exact p."""
    x, y = _arr(a), _arr(b)
    if not len(x) or not len(y):
        return None
    best = y.max() if higher_is_better else y.min()
    k = int(np.count_nonzero(x > best if higher_is_better else x < best))
    return TestResult(exceed_p(len(x), len(y), k), float(k), math.nan, math.nan, len(x), len(y),
                      float(x.mean()), float(best), k=k)
