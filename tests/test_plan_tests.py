"""The test kinds of docs/study-plan.md §8 (bench/report/plan_tests.py), each against scipy built another way or
a value computed by hand (the computation is in the comments)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps

from bench.report import plan_tests as pt
from bench.report import stats
from bench.report import study_stats as ss


def test_d_is_two_sided_welch_with_its_interval_and_hedges_g_by_hand() -> None:
    # a = 1, 2, 3 (mean 2, var 1); b = 3, 5, 7 (mean 5, var 4). diff = −3, se = √(1/3 + 4/3) = √(5/3) = 1.29099,
    # Welch df = (5/3)² / ((1/3)²/2 + (4/3)²/2) = (25/9) / (17/18) = 50/17 = 2.94118.
    # pooled sd = √((2·1 + 2·4)/4) = √2.5 = 1.58114; d = −3 / 1.58114 = −1.89737; J = 1 − 3/(4·6 − 9) = 0.8;
    # g = −1.51789; se(g) = √(6/9 + g²/12) = √(0.66667 + 0.19200) = 0.92665; 95 %: g ± 1.95996·0.92665.
    r = pt.d_test([1, 2, 3], [3, 5, 7])
    assert r is not None
    assert r.diff == pytest.approx(-3.0)
    assert r.p == pytest.approx(sps.ttest_ind([1, 2, 3], [3, 5, 7], equal_var=False).pvalue)
    half = sps.t.ppf(0.975, 50 / 17) * math.sqrt(5 / 3)
    assert (r.lo, r.hi) == pytest.approx((-3 - half, -3 + half))
    assert r.g == pytest.approx(-1.51789, abs=1e-5)
    assert (r.g_lo, r.g_hi) == pytest.approx((-1.51789 - 1.95996 * 0.92665, -1.51789 + 1.95996 * 0.92665), abs=1e-4)
    assert pt.d_test([1.0], [2.0, 3.0]) is None  # Welch needs ≥ 2 a side


def test_eq_is_tost_with_a_ten_percent_margin() -> None:
    a, b = [10.0, 10.2, 9.8, 10.1, 9.9], [10.05, 9.95, 10.0, 10.1, 9.9]
    r = pt.eq_test(a, b)
    assert r is not None
    assert r.delta == pytest.approx(1.0)  # 10 % of b's mean 10.0
    # the two one-sided Welch tests, built with scipy by shifting a by the margin
    p_low = sps.ttest_ind(np.add(a, 1.0), b, equal_var=False, alternative="greater").pvalue  # H0: a − b ≤ −δ
    p_high = sps.ttest_ind(np.subtract(a, 1.0), b, equal_var=False, alternative="less").pvalue  # H0: a − b ≥ δ
    assert r.p == pytest.approx(max(p_low, p_high)) and r.p < 1e-4
    # the 90 % interval: diff ± t(0.95, df)·se
    se = math.sqrt(np.var(a, ddof=1) / 5 + np.var(b, ddof=1) / 5)
    df = se**4 / ((np.var(a, ddof=1) / 5) ** 2 / 4 + (np.var(b, ddof=1) / 5) ** 2 / 4)
    assert (r.lo, r.hi) == pytest.approx((0.0 - sps.t.ppf(0.95, df) * se, 0.0 + sps.t.ppf(0.95, df) * se), abs=1e-12)
    # critic_w may be negative: δ = 10 % of |mean| = 0.2 for b's mean −2
    neg = pt.eq_test([-2.0, -2.1, -1.9], [-2.0, -1.8, -2.2])
    assert neg is not None and neg.delta == pytest.approx(0.2)


def test_ni_is_one_sided_welch_against_the_margin_oriented_to_the_metric() -> None:
    a, b = [0.050, 0.052, 0.049, 0.051], [0.050, 0.048, 0.053, 0.049]
    lower = pt.ni_test(a, b, lower_is_better=True)  # a distance: H0 a − b ≥ δ
    assert lower is not None and lower.delta == pytest.approx(0.1 * np.mean(b))
    assert lower.p == pytest.approx(sps.ttest_ind(np.subtract(a, lower.delta), b, equal_var=False,
                                                  alternative="less").pvalue)
    higher = pt.ni_test(a, b, lower_is_better=False)  # a score: H0 a − b ≤ −δ
    assert higher is not None
    assert higher.p == pytest.approx(sps.ttest_ind(np.add(a, higher.delta), b, equal_var=False,
                                                   alternative="greater").pvalue)
    half = sps.t.ppf(0.975, stats.welch(a, b).df) * math.sqrt(np.var(a, ddof=1) / 4 + np.var(b, ddof=1) / 4)
    assert lower.hi - lower.diff == pytest.approx(half)  # the two-sided 95 % interval


def test_r_is_a_one_sample_t_test_by_hand() -> None:
    # x = 1, 2, 3 against 0: t = 2 / (1/√3) = 3.46410 on 2 df; for 2 df, P(T > t) = ½(1 − t/√(t² + 2))
    # = ½(1 − 3.46410/3.74166) = 0.037090, two-sided p = 0.074180; 95 %: 2 ± 4.30265/√3 = 2 ± 2.48414.
    r = pt.r_test([1.0, 2.0, 3.0], 0.0)
    assert r is not None
    assert r.p == pytest.approx(0.074180, abs=1e-6)
    assert (r.lo, r.hi) == pytest.approx((2 - 2.48414, 2 + 2.48414), abs=1e-5)
    assert r.diff == pytest.approx(2.0)


def test_sp_is_brown_forsythe_an_anova_of_absolute_deviations_from_the_median() -> None:
    a = [1.0, 2.0, 3.0, 4.0, 10.0, 0.5]
    b = [5.0, 5.1, 4.9, 5.2, 5.0, 4.8, 5.05, 4.95, 5.0]
    r = pt.sp_test(a, b)
    assert r is not None
    # Brown & Forsythe (1974): one-way ANOVA on |x − median of its group|
    dev = [np.abs(np.subtract(a, np.median(a))), np.abs(np.subtract(b, np.median(b)))]
    assert r.p == pytest.approx(sps.f_oneway(*dev).pvalue)
    assert r.diff == pytest.approx(np.std(a, ddof=1) / np.std(b, ddof=1))
    assert r.lo < r.diff < r.hi and (r.n_a, r.n_b) == (6, 9)


def test_ex_exact_p_is_the_chance_that_the_top_k_jobs_are_all_named_by_enumeration() -> None:
    # every placement of b's jobs among the a + b ranks is equally likely; K ≥ k iff the top k ranks are all a's
    for a, b in ((3, 2), (4, 3), (6, 3)):
        places = list(itertools.combinations(range(a + b), b))  # ranks (0 = best) taken by b's jobs
        for k in range(a + 1):
            hits = sum(1 for pl in places if min(pl) >= k)  # K = the number of a's above b's best = min rank of b
            assert pt.exceed_p(a, b, k) == pytest.approx(hits / len(places))
    # AG1 by hand: 24 named jobs, 9 DCGAN jobs; K = 13 → C(24, 13)/C(33, 13) = 2496144/573166440 = 0.0043550
    assert pt.exceed_p(24, 9, 13) == pytest.approx(2496144 / 573166440)
    r = pt.ex_test([3.0, 5.0, 4.0, 1.0, 4.0], [2.0, 4.0])  # above 4 (b's best): only 5 (a tie does not exceed)
    assert r is not None and r.k == 1 and r.p == pytest.approx(5 / 7)


def test_holm_over_a_family_with_a_shared_test_counts_it_once() -> None:
    """Worked example: AV1a and AV4 are one test (p = 0.01); with two more tests (0.04, 0.03), m = 3:
    sorted 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → running max 0.03, 0.06, 0.06. Counting the shared
    test twice (m = 4) would give it 0.01·4 = 0.04 instead."""
    assert ss.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert ss.holm([0.01, 0.01, 0.04, 0.03])[0] == pytest.approx(0.04)
