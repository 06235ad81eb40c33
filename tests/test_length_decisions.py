"""The training-length rule (docs/study-plan.md §5) on synthetic curves, against numpy.polyfit and a hand-built
t-test of the slope: one curve rising, one flat, one rising by 1 % with tiny noise (significant, but under the
2 % floor: not improving)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from bench import study
from bench.report import length_decisions as ld

ROOT = Path(__file__).resolve().parents[1]
N = 4000
STEPS = np.arange(250, N + 1, 250)


def curve(model: str, metric: str, f, noise: float, seeds: int = 5) -> list[dict[str, object]]:  # noqa: ANN001
    rows = []
    for s in range(seeds):
        rng = np.random.default_rng(100 * s + len(model) + len(metric))
        for step in STEPS:
            rows.append({"model": model, "seed": s, "run_id": f"{model}-s{s}", "step": int(step), "metric": metric,
                         "value": float(f(step) + noise * rng.standard_normal())})
    return rows


def synthetic(out: Path) -> pd.DataFrame:
    rows = [*curve("rise", "is_domain", lambda s: 2 + 0.001 * s, 0.05),  # +1.0 over the quarter from 5.0: +20 %
            *curve("rise", "fd_domain", lambda s: 50 - 0.01 * s, 0.5),  # −10 over the quarter from 20: 50 % better
            *curve("flat", "is_domain", lambda s: 5.0 + 0 * s, 0.05),
            *curve("small", "is_domain", lambda s: 5.0 * (1 + 0.01 * (s - 3000) / 1000), 1e-4),  # +1 %, tiny noise
            *curve("small", "mse", lambda s: 1.0 + 0.001 * s, 0.01)]  # not a watched metric
    df = pd.DataFrame(rows)
    (out / "t").mkdir(parents=True)
    df.to_csv(out / "t" / study.CURVES_FILE, index=False)
    return df


TABLE = study.StudyTable("t", "unused", "T")


def by_hand(df: pd.DataFrame, model: str, metric: str, up: bool) -> tuple[float, float, float]:
    """polyfit's slope and intercept over steps ≥ 3000, the one-sided p of t = slope / se on n − 2 df with
    se = √(SSE / (n − 2) / Σ(x − x̄)²), and the relative change slope·1000 / |fit at 3000| (improving sign)."""
    g = df[(df["model"] == model) & (df["metric"] == metric) & (df["step"] >= 0.75 * N)]
    x, y = g["step"].to_numpy(float), g["value"].to_numpy(float)
    slope, icpt = np.polyfit(x, y, 1)
    resid = y - (icpt + slope * x)
    se = math.sqrt(resid @ resid / (len(x) - 2) / ((x - x.mean()) @ (x - x.mean())))
    t = slope / se
    p = sps.t.sf(t, len(x) - 2) if up else sps.t.cdf(t, len(x) - 2)
    start = icpt + slope * 3000
    return slope, p, (slope if up else -slope) * 1000 / abs(start)


def test_still_improving_needs_a_significant_slope_and_the_two_percent_floor(tmp_path: Path) -> None:
    df = synthetic(tmp_path)
    dec = ld.decisions(tmp_path, [TABLE]).set_index(["configuration", "metric"])
    assert set(dec.index) == {("rise", "is_domain"), ("rise", "fd_domain"), ("flat", "is_domain"), ("small", "is_domain")}
    assert (dec["n_points"] == 25).all() and (dec["n_seeds"] == 5).all() and (dec["length"] == N).all()
    for (model, metric), row in dec.iterrows():
        slope, p, rel = by_hand(df, str(model), str(metric), metric == "is_domain")
        assert row["slope"] == pytest.approx(slope, rel=1e-9)
        assert row["p"] == pytest.approx(p, rel=1e-6, abs=1e-300)
        assert row["relative_change"] == pytest.approx(rel, rel=1e-9)
    assert dec.loc[("rise", "is_domain"), "still_improving"] and dec.loc[("rise", "fd_domain"), "still_improving"]
    assert dec.loc[("rise", "is_domain"), "relative_change"] == pytest.approx(0.20, abs=0.02)
    assert not dec.loc[("flat", "is_domain"), "still_improving"]
    small = dec.loc[("small", "is_domain")]
    assert small["p"] < 1e-10 and small["relative_change"] == pytest.approx(0.01, rel=1e-3)
    assert not small["still_improving"]  # significant, but 1 % < the 2 % floor


def test_the_decisions_file_keeps_earlier_lengths_and_the_cli_writes_it(tmp_path: Path) -> None:
    synthetic(tmp_path)
    old = pd.DataFrame([{c: None for c in ld.COLUMNS} | {"configuration": "rise", "length": 2000, "metric": "is_domain",
                                                          "still_improving": True}])
    old.to_csv(tmp_path / ld.FILE, index=False)
    ld.write_decisions(tmp_path, [TABLE])
    df = pd.read_csv(tmp_path / ld.FILE)
    assert sorted(set(zip(df["configuration"], df["length"], strict=True))) == [
        ("flat", 4000), ("rise", 2000), ("rise", 4000), ("small", 4000)]
    r = subprocess.run([sys.executable, "-m", "bench.report.length_decisions", str(tmp_path / "nope")], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
