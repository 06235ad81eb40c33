"""Statistics for the report tables: metric direction, Welch t-tests, best cells, rank agreement.

* Seeds are the unit of replication (docs/protocols.md §6 "seeds vs evaluation repeats"): a ± in a table
  is the sample standard deviation (ddof = 1) over independently trained runs.
* Pairwise comparisons use Welch's unequal-variance t-test (Welch 1947), delegated to
  ``scipy.stats.ttest_ind(equal_var=False)``.
* Rank agreement is Kendall's τ-b (``scipy.stats.kendalltau``) between the model rankings two
  metrics give — IDVAE §4.2's observation that FID15, FID16 and FRD can order models differently.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as sps

Direction = Literal["lower", "higher"] | None
ALPHA = 0.05


def direction(metric: str) -> Direction:
    """The direction a metric declares (``Metric.direction``: "lower"/"higher" is better).

    Derived names written by :func:`bench.run.evaluate_model` for extra reconstruction paths
    (``<metric>_<suffix>``, e.g. ``mse_decoder``) inherit the direction of their base metric;
    an unregistered name, or a spread such as ``is_std``, has no direction (never bolded).
    """
    from bench.registries import metrics

    reg = metrics()
    if metric in reg:
        return reg.get(metric).direction
    if metric.endswith("_std"):
        return None
    parts = metric.split("_")
    for cut in range(len(parts) - 1, 0, -1):
        base = "_".join(parts[:cut])
        if base in reg:
            return reg.get(base).direction
    return None


def better(a: float, b: float, how: Direction) -> bool:
    """Whether ``a`` is strictly better than ``b`` under direction ``how``."""
    return a < b if how == "lower" else a > b


@dataclass(frozen=True)
class Welch:
    """Welch's t-test of two samples: statistic, Welch–Satterthwaite degrees of freedom, two-sided p."""

    t: float
    df: float
    p: float


def welch(a: Sequence[float], b: Sequence[float]) -> Welch | None:
    """Welch's unequal-variance t-test (two-sided) between two sets of per-seed values.

    None when either side has fewer than two values (no variance estimate). When both samples
    are constant scipy returns NaN; the comparison is then exact: p = 1 for equal means, else 0.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) < 2 or len(y) < 2:
        return None
    # a constant sample has variance exactly 0 (x.var can return 1e-34 from rounding of the mean)
    vx = 0.0 if np.ptp(x) == 0 else float(x.var(ddof=1))
    vy = 0.0 if np.ptp(y) == 0 else float(y.var(ddof=1))
    if vx == 0 and vy == 0:
        same = bool(x[0] == y[0])  # compare the constants themselves (a mean may round: 0.1·3/3 ≠ 0.1)
        return Welch(0.0 if same else math.copysign(math.inf, x[0] - y[0]), float(len(x) + len(y) - 2),
                     1.0 if same else 0.0)
    with warnings.catch_warnings():  # scipy warns on a constant sample; the test is still exact
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sps.ttest_ind(x, y, equal_var=False)
    se2 = vx / len(x) + vy / len(y)
    df = se2**2 / ((vx / len(x)) ** 2 / (len(x) - 1) + (vy / len(y)) ** 2 / (len(y) - 1))
    return Welch(float(res.statistic), float(df), float(res.pvalue))


@dataclass
class Ranked:
    """The outcome of comparing one group of cells (same dataset and metric): which are best, and
    for each other cell the Welch test against the (first) best one."""

    best: set[int]
    tests: dict[int, Welch | None]

    def not_different(self, i: int, alpha: float = ALPHA) -> bool:
        """True when cell ``i`` is not best and its Welch test vs the best has p ≥ ``alpha``."""
        w = self.tests.get(i)
        return i not in self.best and w is not None and w.p >= alpha


def rank_group(means: dict[int, float], values: dict[int, Sequence[float]], how: Direction) -> Ranked:
    """Best cells (all cells tied at the best mean) and Welch tests of the others against the best.

    With no direction nothing is best and nothing is tested.
    """
    finite = {i: m for i, m in means.items() if m is not None and math.isfinite(m)}
    if how is None or not finite:
        return Ranked(set(), {})
    top = min(finite.values()) if how == "lower" else max(finite.values())
    best = {i for i, m in finite.items() if m == top}
    ref = min(best)
    tests = {i: welch(values[i], values[ref]) for i in finite if i not in best}
    return Ranked(best, tests)


def goodness(values: Sequence[float], how: Direction) -> np.ndarray:
    """Values oriented so that larger is better (negated for lower-is-better metrics)."""
    v = np.asarray(values, dtype=float)
    return -v if how == "lower" else v


@dataclass(frozen=True)
class Tau:
    """Kendall's τ-b between two metrics' rankings of the same ``n`` models, with its p-value."""

    tau: float
    p: float
    n: int


def kendall(a: Sequence[float], b: Sequence[float], how_a: Direction, how_b: Direction) -> Tau | None:
    """Kendall's τ-b between the rankings two metrics give the same models (aligned sequences of
    means). Both are oriented "larger is better" first, so τ = 1 means the metrics agree on the
    order even when one is lower-is-better and the other higher-is-better. None with fewer than
    two models or a metric without a direction."""
    if how_a is None or how_b is None or len(a) < 2:
        return None
    res = sps.kendalltau(goodness(a, how_a), goodness(b, how_b))
    if not math.isfinite(res.statistic):
        return None
    return Tau(float(res.statistic), float(res.pvalue), len(a))
