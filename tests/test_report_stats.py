"""Report statistics against hand-computed values: Welch t-tests, Kendall τ rank agreement,
pairwise tables, and the exact handling of constant samples."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_report_tables import VALUES, welch_p, write_synthetic


def results(tmp_path: Path):
    from bench.report.load import aggregate, read_summary

    return aggregate(read_summary(write_synthetic(tmp_path)))


def test_welch_matches_closed_form_and_scipy() -> None:
    from scipy.stats import ttest_ind

    from bench.report.stats import welch

    a, b = [0.30, 0.40, 0.50], [0.50, 0.70]
    w = welch(a, b)
    # by hand: se² = 0.01/3 + 0.02/2 = 0.013333; t = −0.2 / 0.11547 = −1.7321;
    # df = 0.013333² / ((0.003333)²/2 + 0.01²/1) = 1.6842
    assert w is not None
    assert abs(w.t + 1.7320508) < 1e-6 and abs(w.df - 1.6842105) < 1e-6
    assert abs(w.p - welch_p(a, b)) < 1e-12 and abs(w.p - ttest_ind(a, b, equal_var=False).pvalue) < 1e-12


def test_welch_edge_cases_are_exact() -> None:
    from bench.report.stats import welch

    assert welch([1.0], [1.0, 2.0]) is None  # one seed: no variance, no test
    assert welch([0.1, 0.1, 0.1], [0.1, 0.1]).p == 1.0  # identical constants: not different
    assert welch([0.1, 0.1, 0.1], [0.2, 0.2]).p == 0.0  # different constants: certainly different
    # one constant side: t = (0.1 − 0.6) / sqrt(0.02 / 2) = −5, df = 1 → p = 2·sf(5; 1) = 0.12567
    assert abs(welch([0.1, 0.1, 0.1], [0.5, 0.7]).p - 0.1256659) < 1e-6


def test_rank_group_best_and_ties() -> None:
    from bench.report.stats import rank_group

    r = rank_group({0: 2.0, 1: 1.0, 2: 1.0}, {0: [2.0, 2.1], 1: [1.0, 1.1], 2: [0.9, 1.1]}, "lower")
    assert r.best == {1, 2}  # ties share the bold
    assert set(r.tests) == {0}
    assert rank_group({0: 2.0, 1: 1.0}, {0: [2.0], 1: [1.0]}, None).best == set()


def test_kendall_tau_between_metric_rankings_equals_hand_count(tmp_path: Path) -> None:
    from bench.report.agreement import rank_agreement, sweep_means

    df = rank_agreement(sweep_means(results(tmp_path), "digits")).set_index(["metric_a", "metric_b"])
    # mse ↓ orders vae (0.12) > avae (0.13) > vae-gan (0.21); cosine ↑ orders vae (0.92) > avae (0.89) >
    # vae-gan (0.85): all 3 pairs concordant → τ = 1.
    assert df.loc[("cosine", "mse"), "tau"] == pytest.approx(1.0) and df.loc[("cosine", "mse"), "n"] == 3
    # sharpness ↑ orders avae (0.5) > vae (0.4) > vae-gan (0.1) over the models that also have mse
    # (dcgan has no mse): pairs (vae, avae) discordant, the other two concordant → τ = (2 − 1)/3.
    assert df.loc[("mse", "sharpness"), "tau"] == pytest.approx(1 / 3) and df.loc[("mse", "sharpness"), "n"] == 3
    assert df.loc[("cosine", "sharpness"), "tau"] == pytest.approx(1 / 3)


def test_kendall_orients_by_direction() -> None:
    from bench.report.stats import kendall

    # lower-is-better a and higher-is-better b that agree on quality: τ = +1 (raw values anti-correlate)
    assert kendall([1.0, 2.0, 3.0], [9.0, 8.0, 7.0], "lower", "higher").tau == pytest.approx(1.0)
    assert kendall([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], "lower", "higher").tau == pytest.approx(-1.0)
    assert kendall([1.0, 2.0], [1.0, 2.0], None, "lower") is None


def test_pairwise_table_lists_every_pair_with_its_welch_p(tmp_path: Path) -> None:
    from bench.report.agreement import pairwise

    df = pairwise(results(tmp_path))
    mse = df[df["metric"] == "mse"]
    assert len(mse) == 3  # avae, vae, vae-gan: 3 pairs; the real-data reference never enters
    assert len(df[df["metric"] == "sharpness"]) == 6  # avae, dcgan, vae, vae-gan: 6 pairs
    row = mse[(mse["a"] == "vae") & (mse["b"] == "vae-gan")].iloc[0]
    assert abs(row["p"] - welch_p(VALUES["vae"]["mse"], VALUES["vae-gan"]["mse"])) < 1e-12
    assert bool(row["significant"]) and row["better"] == "vae"
    row = mse[(mse["a"] == "avae") & (mse["b"] == "vae")].iloc[0]
    assert not bool(row["significant"]) and row["better"] == ""
