"""The study's statistics (#27) against hand-computed cases: τ-b on many orderings (scipy), the joint label-
permutation p of a 4-model table (its 24 label orders enumerated by hand below), the seed bootstrap (a 2-model
case whose bootstrap distribution is computed by hand), Holm's step-down p (worked example), Welch's interval and
Hedges' g (hand computation), the deduplication of repeated paper columns, the papers' quotes (word for word) and
the verdicts of the findings."""

from __future__ import annotations

import glob
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats as sps

from bench import study
from bench.report import findings as fnd
from bench.report import study_stats as ss
from bench.report import study_tables as st
from bench.report.published import Published, PublishedValues

PAPERS = Path("/work/shared/papers")


# ---- τ-b ---------------------------------------------------------------------------------------------------
def test_tau_b_many_is_scipys_tau_b_with_ties() -> None:
    rng = np.random.default_rng(1)
    paper = [0.03, 0.0375, 0.0375, 0.0375, 0.06, 0.08]  # a three-way tie, like AVAE Table I's MSE
    rows = rng.integers(0, 4, size=(50, 6)).astype(float)  # many ties on the suite side too
    ours = ss.tau_b_many(paper, rows)
    for row, t in zip(rows, ours, strict=True):
        ref = sps.kendalltau(paper, row, variant="b").statistic
        assert (math.isnan(t) and math.isnan(ref)) or t == pytest.approx(ref)


# ---- the exact permutation test, by hand ---------------------------------------------------------------------
def test_single_tau_exact_p_by_hand() -> None:
    # n = 4, no ties: τ = (6 − 2k) / 6 with k inversions; the 24 orders have k = 0..6 with counts 1, 3, 5, 6, 5,
    # 3, 1 (Mahonian numbers). Observed k = 1 (τ = 2/3): |τ| ≥ 2/3 for k ∈ {0, 1, 5, 6}: 1 + 3 + 3 + 1 = 8 → 8/24.
    t = ss.single_tau_test([1, 2, 3, 4], [1, 2, 4, 3])
    assert t.exact and t.n_permutations == 24
    assert t.observed == pytest.approx(2 / 3) and t.p == pytest.approx(8 / 24)
    # τ = 1 on 4 models: k ∈ {0, 6} → 2/24 (AVAE-S's p = 0.083 on its identical orders)
    assert ss.single_tau_test([1, 2, 3, 4], [5, 6, 7, 8]).p == pytest.approx(1 / 12)
    # a tie on the paper's side (the case scipy answers with a normal approximation): paper (1, 1, 2), suite a
    # permutation x of (1, 2, 3). Pair (0,1) is tied in the paper, so the numerator is sign(x2 − x0) +
    # sign(x2 − x1): x = 123 → 2, 213 → 2, 132 → 0, 312 → 0, 231 → −2, 321 → −2; the denominator √(2·3) is the
    # same for all. Observed 123 (τ = 2/√6): |τ| ≥ 2/√6 for 4 of the 6 orders → p = 2/3 (scipy: 0.30, approx.).
    t = ss.single_tau_test([1, 1, 2], [1, 2, 3])
    assert t.observed == pytest.approx(2 / math.sqrt(6)) and t.p == pytest.approx(4 / 6)


def test_exact_p_without_ties_is_scipys_exact_test() -> None:
    # with no ties the permutation distribution of τ is Kendall's exact null: scipy's method="exact" (an
    # independent implementation, by the Mahonian recursion) gives the same p
    for paper, suite in (([1, 2, 3, 4, 5, 6, 7], [2, 1, 4, 3, 7, 5, 6]), ([1, 2, 3, 4, 5, 6], [6, 1, 2, 5, 3, 4])):
        ref = sps.kendalltau(paper, suite, method="exact").pvalue
        assert ss.single_tau_test(paper, suite).p == pytest.approx(ref)


def four_model_table() -> tuple[list[ss.Comparison], dict[str, list[float]], list[str]]:
    """Paper A orders a < b < c < d, paper B orders a < b < d < c (one swap), both against one suite vector."""
    models = ["a", "b", "c", "d"]
    comps = [ss.Comparison("A", "fd", tuple(models), (1.0, 2.0, 3.0, 4.0)),
             ss.Comparison("B", "fd", tuple(models), (1.0, 2.0, 4.0, 3.0))]
    return comps, {"fd": [1.0, 2.0, 3.0, 4.0]}, models


def test_joint_permutation_p_of_a_four_model_table_by_hand() -> None:
    # Let S = C − D of suite order x against A (τ_A = S/6) and s = +1 if x_c < x_d, else −1. B differs from A in
    # the pair (c, d) only, so τ_B = (S − 2s)/6 and the mean is (S − s)/6. Observed x = abcd: S = 6, s = +1 → 5/6.
    # Of the 24 label orders, |mean| ≥ 5/6 needs |S − s| = 5:
    #   S = 6, s = +1: abcd (the identity)            → +5/6
    #   S = 4, s = −1: the one inversion is (c, d): abdc → +5/6
    #   S = −6, s = −1: dcba                          → −5/6
    #   S = −4, s = +1: the one non-inversion is (c, d): (x = 4, 3, 1, 2) → −5/6
    # no other order reaches it (S = 4 with s = +1 gives 1/2). Two-sided p = 4/24, one-sided 2/24.
    comps, suite, models = four_model_table()
    two = ss.permutation_test(comps, suite, models, two_sided=True)
    assert two.exact and two.n_permutations == 24
    assert two.observed == pytest.approx(5 / 6) and two.p == pytest.approx(4 / 24)
    assert ss.permutation_test(comps, suite, models).p == pytest.approx(2 / 24)
    # the Monte-Carlo branch (forced) estimates the same p: (1 + hits) / (1 + draws), 20,000 draws
    mc = ss.permutation_test(comps, suite, models, two_sided=True, max_exact=1)
    assert not mc.exact and mc.n_permutations == ss.N_RANDOM and mc.p == pytest.approx(4 / 24, abs=0.01)


def test_a_row_whose_comparisons_rank_other_models_is_refused() -> None:
    comps, suite, _ = four_model_table()
    with pytest.raises(ValueError, match="not the row's models"):
        ss.permutation_test(comps, suite, ["a", "b", "c", "e"])


# ---- the seed bootstrap, by hand --------------------------------------------------------------------------
def test_seed_bootstrap_distribution_by_hand() -> None:
    # Two models, two seeds each: a = (1, 3), b = (2, 4); the paper has a < b. A resampled mean of a is 1, 2, 3
    # with probability 1/4, 1/2, 1/4; of b 2, 3, 4 likewise. τ = +1 when mean_a < mean_b: 1/4·1 + 1/2·3/4 +
    # 1/4·1/4 = 11/16; tied (τ undefined, dropped): 1/2·1/4 + 1/4·1/2 = 4/16; τ = −1: 1/4·1/4 = 1/16.
    # Among the defined draws P(τ = −1) = (1/16) / (12/16) = 1/12 ≈ 0.083: the 5 % quantile is −1, the 10 % one +1.
    comps = [ss.Comparison("P", "m", ("a", "b"), (1.0, 2.0))]
    seeds = {"a": {"m": [1.0, 3.0]}, "b": {"m": [2.0, 4.0]}}
    draws = ss.seed_bootstrap_draws(comps, seeds, ["a", "b"], n_boot=40_000)
    assert len(draws) / 40_000 == pytest.approx(12 / 16, abs=0.01)
    assert np.mean(draws == -1.0) == pytest.approx(1 / 12, abs=0.006)
    assert ss.seed_bootstrap(comps, seeds, ["a", "b"], level=0.90, n_boot=40_000) == (-1.0, 1.0)
    assert ss.seed_bootstrap(comps, seeds, ["a", "b"], level=0.80, n_boot=40_000) == (1.0, 1.0)


def test_seed_bootstrap_resamples_a_runs_metrics_together() -> None:
    # one model's two metrics are the same numbers (one run gives both): every draw resamples the same seeds for
    # both, so two comparisons of the same order on the two metrics always give the same τ (mean ±1, never 0)
    comps = [ss.Comparison("P", "m", ("a", "b"), (1.0, 2.0)), ss.Comparison("Q", "n", ("a", "b"), (1.0, 2.0))]
    seeds = {"a": {"m": [1.0, 3.0, 5.0], "n": [1.0, 3.0, 5.0]}, "b": {"m": [2.0, 4.0, 3.0], "n": [2.0, 4.0, 3.0]}}
    draws = ss.seed_bootstrap_draws(comps, seeds, ["a", "b"], n_boot=2_000)
    assert set(np.unique(draws)) <= {-1.0, 1.0}


# ---- Holm, Welch, Hedges' g ---------------------------------------------------------------------------------
def test_holm_worked_example() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 → running max 0.02, 0.03, 0.06,
    # 0.06 (statsmodels' multipletests(method="holm") gives the same), back in the input order
    assert ss.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # capped at 1; ties keep their order
    assert ss.holm([0.5, 0.5, 0.01]) == pytest.approx([1.0, 1.0, 0.03])


def test_welch_interval_and_hedges_g_by_hand() -> None:
    # a = (1, 2, 3), b = (3, 4, 5): difference −2; each variance 1, so se = √(1/3 + 1/3) = 0.8165 and the Welch df
    # is (2/3)² / (2 · (1/3)² / 2) = 4; t(0.975, 4) = 2.776445 → 95 % interval −2 ± 2.26696.
    # Hedges' g: pooled sd 1, d = −2, J = 1 − 3/(4·6 − 9) = 0.8 → g = −1.6; se = √(6/9 + 2.56/12) = √0.88.
    d = ss.difference([1, 2, 3], [3, 4, 5])
    assert d is not None
    assert d.diff == pytest.approx(-2.0) and d.df == pytest.approx(4.0)
    assert (d.diff_lo, d.diff_hi) == pytest.approx((-2 - 2.776445 * 0.816497, -2 + 2.776445 * 0.816497), abs=1e-5)
    assert d.g == pytest.approx(-1.6)
    assert (d.g_lo, d.g_hi) == pytest.approx((-1.6 - 1.959964 * math.sqrt(0.88), -1.6 + 1.959964 * math.sqrt(0.88)),
                                             abs=1e-5)
    assert d.p == pytest.approx(2 * sps.t.sf(2 / 0.816497, 4), abs=1e-6)  # t = −2.449, df 4 → p = 0.0705


# ---- deduplication and the headline on a table with duplicated columns ---------------------------------------
def test_distinct_counts_a_repeated_paper_order_once() -> None:
    cs = [ss.Comparison("lsun mse", "mse", ("a", "b", "c"), (0.03, 0.05, 0.05)),
          ss.Comparison("celeba mse", "mse", ("a", "b", "c"), (0.06, 0.08, 0.08)),  # same order, same ties
          ss.Comparison("svhn mse", "mse", ("a", "b", "c"), (0.06, 0.08, 0.09)),  # the tie broken: another order
          ss.Comparison("celeba cos", "cosine", ("a", "b", "c"), (0.03, 0.05, 0.05))]  # another suite metric
    groups = ss.distinct(cs)
    assert [[c.label for c in g] for g in groups] == [["lsun mse", "celeba mse"], ["svhn mse"], ["celeba cos"]]


def write_summary(path: Path, values: dict[str, dict[str, list[float]]]) -> None:
    rows = [{"sweep": "t", "run_id": f"{m}-s{s}", "dataset": "digits@16", "model": m, "seed": s, "protocol": "fair",
             "status": "completed", "step": 4000, "params": "{}", "metric": k, "value": v, "n_samples": 300}
            for m, ks in values.items() for k, vs in ks.items() for s, v in enumerate(vs)]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)


def test_headline_row_on_a_table_with_duplicated_columns(tmp_path: Path) -> None:
    """Three paper columns on four models, two of them the same order: the mean counts it once (5/6, not 8/9),
    the joint permutation p is the hand-enumerated 4/24, the paper's ceiling is the mean of its three dataset
    pairs (1, 2/3, 2/3) = 7/9, and the seed bootstrap interval holds the observed mean."""
    table = study.StudyTable("avae_table1", "study_avae_table1", "T", "P", ("T1",), {"fid": "fd_domain"})
    rng = np.random.default_rng(0)
    write_summary(tmp_path / "avae_table1" / "summary.csv",
                  {m: {"fd_domain": list(v + 0.01 * rng.standard_normal(5))} for m, v in
                   (("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0))})
    pv = PublishedValues([Published("P", "T1", ds, m, "fid", v, None, "") for ds, vals in
                          (("ds1", (1, 2, 3, 4)), ("ds2", (10, 20, 30, 40)), ("ds3", (1, 2, 4, 3)))
                          for m, v in zip("abcd", vals, strict=True)])
    (row,) = st.headline_rows(tmp_path, table, pv)
    assert row.kind == st.SAMPLES and len(row.comparisons) == 3 and len(row.groups) == 2
    assert row.mean_tau == pytest.approx(5 / 6)
    assert row.test is not None and row.test.exact and row.test.p == pytest.approx(4 / 24)
    assert row.ceiling is not None and row.ceiling.mean == pytest.approx(7 / 9)
    assert row.ceiling.low == pytest.approx(2 / 3) and row.ceiling.high == pytest.approx(1.0)
    assert row.interval == (pytest.approx(5 / 6), pytest.approx(5 / 6))  # seed noise 0.01 never swaps a model


def test_reconstruction_and_samples_are_separate_rows_and_missing_models_are_borrowed(tmp_path: Path) -> None:
    table = study.StudyTable("khan_table1", "study_khan_table1", "K", "P", ("T1",), {"is": "is_domain", "mse": "mse"})
    write_summary(tmp_path / "khan_table1" / "summary.csv",
                  {"x": {"is_domain": [3.0, 3.1], "mse": [0.1, 0.11]}, "y": {"is_domain": [2.0, 2.1], "mse": [0.2, 0.19]}})
    write_summary(tmp_path / "avae_table1" / "summary.csv", {"z": {"is_domain": [1.0, 1.2]}})
    pv = PublishedValues([Published("P", "T1", "c", m, k, v, None, "") for m, k, v in
                          (("x", "is", 6.8), ("y", "is", 6.1), ("z", "is", 4.9), ("x", "mse", 0.1), ("y", "mse", 0.2))])
    rows = st.headline_rows(tmp_path, table, pv)
    assert [(r.kind, r.models) for r in rows] == [(st.SAMPLES, ["x", "y", "z"]), (st.RECON, ["x", "y"])]
    assert rows[0].borrowed == {"z": "avae_table1"} and rows[0].mean_tau == pytest.approx(1.0)


def test_a_sweep_summary_keeps_its_settings_apart() -> None:
    df = pd.DataFrame([{"model": "dcgan", "params": '{"lr": 0.0001, "width": 16}', "seed": 0, "status": "completed",
                        "metric": "is_domain", "value": 1.0},
                       {"model": "dcgan", "params": '{"lr": 0.0002, "width": 16}', "seed": 0, "status": "completed",
                        "metric": "is_domain", "value": 2.0},
                       {"model": "age", "params": '{"lr": 0.0001}', "seed": 0, "status": "completed",
                        "metric": "is_domain", "value": 3.0}])
    assert st.seeds_of(df) == {"dcgan[lr=0.0001]": {"is_domain": [1.0]}, "dcgan[lr=0.0002]": {"is_domain": [2.0]},
                               "age": {"is_domain": [3.0]}}


# ---- findings ------------------------------------------------------------------------------------------------
PAPER_FILES = {"avae_table1": "000", "khan_table1": "001", "idvae_table1": "002", "avaes_table3": "003",
               "alphagan": "004"}


def normalised(text: str) -> str:
    """The papers' OCR writes α-GAN as "α -GAN" or "$\\alpha$ -GAN"; whitespace and line breaks vary."""
    text = text.replace("$\\alpha$", "α").replace("α -GAN", "α-GAN")
    return re.sub(r"\s+", " ", text)


@pytest.mark.skipif(not PAPERS.is_dir(), reason="the papers' text is not on this machine")
@pytest.mark.parametrize("finding", fnd.FINDINGS, ids=lambda f: f"{f.table}:{f.quote[:30]}")
def test_each_finding_is_quoted_word_for_word(finding: fnd.Finding) -> None:
    (path,) = glob.glob(str(PAPERS / f"{PAPER_FILES[finding.table]}_*.txt"))
    assert normalised(finding.quote) in normalised(Path(path).read_text())


def test_verdicts_follow_holm_and_the_stated_direction() -> None:
    fam = pd.DataFrame([
        {"metric": "fd_domain", "a": "x", "b": "y", "n_a": 5, "n_b": 5, "mean_a": 1.0, "mean_b": 2.0, "diff": -1.0,
         "diff_lo": -1.5, "diff_hi": -0.5, "g": -3.0, "g_lo": -4.8, "g_hi": -1.2, "p_welch": 0.001, "p_holm": 0.003},
        {"metric": "fd_domain", "a": "x", "b": "z", "n_a": 5, "n_b": 5, "mean_a": 1.0, "mean_b": 1.1, "diff": -0.1,
         "diff_lo": -0.5, "diff_hi": 0.3, "g": -0.3, "g_lo": -1.5, "g_hi": 0.9, "p_welch": 0.04, "p_holm": 0.08}])
    held = fnd.judge(fnd.Part("better", "fd_domain", "x", "y"), fam)  # lower is better: x beats y
    assert held.verdict == "held"
    flipped = fnd.judge(fnd.Part("better", "fd_domain", "y", "x"), fam)
    assert flipped.verdict == "contradicted" and flipped.row is not None
    assert flipped.row["diff"] == 1.0 and (flipped.row["diff_lo"], flipped.row["diff_hi"]) == (0.5, 1.5)
    assert fnd.judge(fnd.Part("better", "fd_domain", "x", "z"), fam).verdict == "not established"  # Welch 0.04, Holm 0.08
    assert fnd.judge(fnd.Part("competitive", "fd_domain", "x", "z"), fam).verdict == "not separated"
    assert fnd.judge(fnd.Part("competitive", "fd_domain", "x", "y"), fam).verdict == "separated"
    assert fnd.judge(fnd.Part("sweep", what="spread"), fam).verdict == "not testable (sweep)"
    parts = [fnd.judge(fnd.Part("better", "fd_domain", "x", "y"), fam),
             fnd.judge(fnd.Part("better", "fd_domain", "x", "z"), fam)]
    assert fnd.FindingResult(fnd.FINDINGS[0], parts).verdict == "not established"
