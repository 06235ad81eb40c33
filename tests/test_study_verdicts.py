"""§7's agreement verdicts (bench/report/study_verdicts.py) from the headline rows of synthetic tables: the
exact permutation p's are counted by hand in the comments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import study
from bench.report import study_tables as st
from bench.report import study_verdicts as sv
from bench.report.published import Published, PublishedValues

TABLE = study.StudyTable("avae_table1", "unused", "T", "P", ("T1",), {"fid": "fd_domain"})


def headline(tmp: Path, suite: dict[str, float], paper: dict[str, tuple[float, ...]]) -> st.HeadlineRow:
    rng = np.random.default_rng(0)
    rows = [{"sweep": "t", "run_id": f"{m}-s{s}", "dataset": "d", "model": m, "seed": s, "protocol": "fair",
             "status": "completed", "step": 10, "params": "{}", "metric": "fd_domain", "value": v + 1e-3 * rng.standard_normal(),
             "n_samples": 10} for m, v in suite.items() for s in range(5)]
    (tmp / TABLE.key).mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(tmp / TABLE.key / "summary.csv", index=False)
    pv = PublishedValues([Published("P", "T1", ds, m, "fid", v, None, "") for ds, vals in paper.items()
                          for m, v in zip(suite, vals, strict=True)])
    (row,) = st.headline_rows(tmp, TABLE, pv)
    return row


def test_agrees_at_the_paper_s_level(tmp_path: Path) -> None:
    # 5 models in the paper's order on both datasets: τ = 1, two-sided exact p = 2/120 = 0.0167 (the identity and
    # the reversal); ceiling τ(ds1, ds2) = 1; the bootstrap interval [1, 1] reaches it
    row = headline(tmp_path, dict(zip("abcde", (1, 2, 3, 4, 5), strict=True)),
                   {"ds1": (1, 2, 3, 4, 5), "ds2": (10, 20, 30, 40, 50)})
    assert row.test is not None and row.test.p == pytest.approx(2 / 120)
    v = sv.verdict(row)
    assert (v.word, v.level, v.note) == ("agrees", "at the paper's own level", "")


def test_agrees_below_the_paper_s_level(tmp_path: Path) -> None:
    # 6 models, one adjacent pair swapped: τ = (14 − 1)/15 = 0.867; |τ| ≥ 0.867 for the 1 + 5 orders with ≤ 1
    # inversion and their 6 reversals: p = 12/720 = 0.0167; interval [0.867, 0.867] under the ceiling 1
    row = headline(tmp_path, dict(zip("abcdef", (1, 2, 4, 3, 5, 6), strict=True)),
                   {"ds1": (1, 2, 3, 4, 5, 6), "ds2": (1, 2, 3, 4, 5, 6)})
    assert row.mean_tau == pytest.approx(13 / 15) and row.test is not None and row.test.p == pytest.approx(12 / 720)
    v = sv.verdict(row)
    assert (v.word, v.level) == ("agrees", "below the paper's own level")


def test_disagrees_and_a_low_ceiling_is_said(tmp_path: Path) -> None:
    # the suite reverses ds1's order of 5 models. The paper's ds2 order (5, 1, 4, 2, 3) against ds1: concordant
    # pairs 1<4, 1<2, 1<3, 2<3 = 4 of 10, discordant 6 → τ = −0.2: the paper's own ceiling is low
    row = headline(tmp_path, dict(zip("abcde", (5, 4, 3, 2, 1), strict=True)),
                   {"ds1": (1, 2, 3, 4, 5), "ds2": (5, 1, 4, 2, 3)})
    assert row.ceiling is not None and row.ceiling.mean == pytest.approx(-0.2)
    v = sv.verdict(row)
    # two comparisons (ds1: τ −1, ds2: τ +0.2): mean −0.4, not separated from no relation; ds1 alone reversed:
    # τ = −1, p = 2/120 → disagrees
    row1 = headline(tmp_path, dict(zip("abcde", (5, 4, 3, 2, 1), strict=True)), {"ds1": (1, 2, 3, 4, 5)})
    v1 = sv.verdict(row1)
    assert (v1.word, v1.note) == ("disagrees", "")
    assert v.word == "not decided" and sv.NOT_DECIDED in v.note and "ceiling is itself low" in v.note


def test_four_models_cannot_decide(tmp_path: Path) -> None:
    # Khan's case: 4 models, τ = 1: exact two-sided p = 2/24 = 0.083 ≥ 0.05
    row = headline(tmp_path, dict(zip("abcd", (1, 2, 3, 4), strict=True)), {"ds1": (1, 2, 3, 4)})
    assert row.test is not None and row.test.p == pytest.approx(2 / 24)
    v = sv.verdict(row)
    assert v.word == "not decided" and "cannot reach 0.05" in v.note
