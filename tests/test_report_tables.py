"""Report tables from a synthetic summary.csv with known values: means, stds, bold, †, ‡, "—", rendering.

Per-seed values of the synthetic sweep (dataset ``digits``; mse ↓, cosine ↑, sharpness ↑ are registered metrics):

=========  ==================  ==================  =======================
model      mse                 cosine              sharpness
=========  ==================  ==================  =======================
vae        0.10 0.12 0.14      0.90 0.92 0.94      0.30 0.40 0.50
avae       0.11 0.13 0.15      0.88 0.89 0.90      0.45 0.50 0.55
vae-gan    0.20 0.21 0.22      0.80 0.85 0.90      0.10 0.10 0.10
dcgan      —                   —                   0.50 0.70 (seed 2 diverged)
real       —                   —                   1.20 (reference)
=========  ==================  ==================  =======================
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

VALUES: dict[str, dict[str, list[float]]] = {
    "vae": {"mse": [0.10, 0.12, 0.14], "cosine": [0.90, 0.92, 0.94], "sharpness": [0.30, 0.40, 0.50]},
    "avae": {"mse": [0.11, 0.13, 0.15], "cosine": [0.88, 0.89, 0.90], "sharpness": [0.45, 0.50, 0.55]},
    "vae-gan": {"mse": [0.20, 0.21, 0.22], "cosine": [0.80, 0.85, 0.90], "sharpness": [0.10, 0.10, 0.10]},
    "dcgan": {"sharpness": [0.50, 0.70]},
    "real": {"sharpness": [1.20]},
}


def synthetic_rows(dataset: str = "digits") -> list[dict]:
    rows = []
    for model, metrics in VALUES.items():
        n = max(len(v) for v in metrics.values())
        for seed in range(n):
            base = {"sweep": "synthetic", "run_id": f"{model}-{dataset}-s{seed}", "dataset": dataset, "model": model,
                    "seed": seed, "protocol": "fair", "status": "completed", "step": 100, "params": json.dumps({})}
            for metric, vals in sorted(metrics.items()):
                rows.append({**base, "metric": metric, "value": vals[seed], "n_samples": 100})
    rows.append({"sweep": "synthetic", "run_id": f"dcgan-{dataset}-s2", "dataset": dataset, "model": "dcgan", "seed": 2,
                 "protocol": "fair", "status": "diverged", "step": 37, "params": json.dumps({}), "metric": "",
                 "value": float("nan"), "n_samples": None})
    return rows


def write_synthetic(sweep_dir: Path) -> Path:
    """Write ``sweep_dir/summary.csv`` (the format bench.summary writes) and return its path."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    path = sweep_dir / "summary.csv"
    pd.DataFrame(synthetic_rows()).to_csv(path, index=False)
    return path


# ---- helpers ----------------------------------------------------------------------------
def build(tmp_path: Path, extra: list[dict] | None = None):
    from bench.report.layouts import generic
    from bench.report.load import aggregate, read_summary
    from bench.report.published import PublishedValues
    from bench.report.tables import build_table

    path = write_synthetic(tmp_path)
    if extra:
        df = pd.concat([pd.read_csv(path), pd.DataFrame(extra)], ignore_index=True)
        df.to_csv(path, index=False)
    res = aggregate(read_summary(path))
    return build_table(generic("digits"), res, PublishedValues([]))


def welch_p(a: list[float], b: list[float]) -> float:
    """Welch's test written out by hand (Welch 1947): t, Welch–Satterthwaite df, two-sided p."""
    from scipy.stats import t as student_t

    na, nb = len(a), len(b)
    ma, mb = sum(a) / na, sum(b) / nb
    va = sum((x - ma) ** 2 for x in a) / (na - 1)
    vb = sum((x - mb) ** 2 for x in b) / (nb - 1)
    se2 = va / na + vb / nb
    t = (ma - mb) / se2**0.5
    df = se2**2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    return 2 * student_t.sf(abs(t), df)


# ---- tests ------------------------------------------------------------------------------
def test_means_stds_and_counts_equal_hand_computed(tmp_path: Path) -> None:
    t = build(tmp_path)
    expect = {  # (row, column): (mean, sample std, n) computed by hand from the table above
        ("vae", "mse"): (0.12, 0.02, 3), ("avae", "mse"): (0.13, 0.02, 3), ("vae-gan", "mse"): (0.21, 0.01, 3),
        ("vae", "cosine"): (0.92, 0.02, 3), ("avae", "cosine"): (0.89, 0.01, 3), ("vae-gan", "cosine"): (0.85, 0.05, 3),
        ("vae", "sharpness"): (0.40, 0.10, 3), ("avae", "sharpness"): (0.50, 0.05, 3),
        ("vae-gan", "sharpness"): (0.10, 0.0, 3), ("dcgan", "sharpness"): (0.60, 0.1414213562, 2),
    }
    for (row, col), (mean, std, n) in expect.items():
        a = t.cell(row, col).agg
        assert a is not None and a.n == n, (row, col)
        assert abs(a.mean - mean) < 1e-9 and abs(a.std - std) < 1e-9, (row, col, a.mean, a.std)
    real = t.cell("real data", "sharpness")
    assert real.agg.mean == 1.2 and real.agg.std is None and real.reference
    assert t.cell("dcgan", "mse").agg is None  # a GAN has no MSE


def test_bold_follows_declared_direction_and_ignores_reference(tmp_path: Path) -> None:
    t = build(tmp_path)
    best = {(r.label[0], t.columns[j]) for r in t.rows for j, c in enumerate(r.cells) if c.best}
    # mse ↓ → vae 0.12; cosine ↑ → vae 0.92; sharpness ↑ → dcgan 0.60 (real's 1.20 is a reference)
    assert best == {("vae", "mse"), ("vae", "cosine"), ("dcgan", "sharpness")}


def test_significance_marks_equal_hand_computed_welch(tmp_path: Path) -> None:
    t = build(tmp_path)
    v = VALUES
    cases = [("avae", "mse", "vae"), ("vae-gan", "mse", "vae"), ("avae", "cosine", "vae"),
             ("vae-gan", "cosine", "vae"), ("vae", "sharpness", "dcgan"), ("avae", "sharpness", "dcgan"),
             ("vae-gan", "sharpness", "dcgan")]
    for model, metric, best in cases:
        cell = t.cell(model, metric)
        p = welch_p(v[model][metric], v[best][metric])
        assert cell.test is not None and abs(cell.test.p - p) < 1e-9, (model, metric)
        assert cell.tied == (p >= 0.05), (model, metric, p)
    # by hand: avae vs vae on mse t = 0.01 / sqrt(2 · 0.02² / 3) = 0.612, df = 4 → p = 0.573 (†);
    # vae-gan vs vae on mse t = 6.97, df = 2.94 → p = 0.0066 (no †)
    assert abs(t.cell("avae", "mse").test.t - 0.6123724) < 1e-6 and abs(t.cell("avae", "mse").test.df - 4) < 1e-9
    assert t.cell("avae", "mse").tied and not t.cell("vae-gan", "mse").tied
    assert abs(t.cell("vae-gan", "mse").test.p - 0.00664) < 5e-4
    assert not t.cell("vae", "mse").tied and t.cell("vae", "mse").test is None  # the best is not tested


def test_markdown_cells_missing_and_diverged_footnote(tmp_path: Path) -> None:
    from bench.report.tables import to_markdown

    md = to_markdown(build(tmp_path))
    lines = md.splitlines()
    assert "| model | cosine | mse | sharpness |" in lines
    assert "| vae | **0.920 ± 0.020 (3)** | **0.120 ± 0.020 (3)** | 0.40 ± 0.10 (3)† |" in lines
    assert "| avae | 0.890 ± 0.010 (3)† | 0.130 ± 0.020 (3)† | 0.50 ± 0.05 (3)† |" in lines
    assert "| vae-gan | 0.850 ± 0.050 (3)† | 0.210 ± 0.010 (3) | 0.10 ± 0.00 (3)† |" in lines
    # the diverged seed is excluded: mean of 0.5 and 0.7, n = 2, marked ‡ and counted in a footnote
    assert "| dcgan | — | — | **0.60 ± 0.14 (2)**‡ |" in lines
    assert "| real data | — | — | 1.20 (1) |" in lines
    assert any("dcgan on digits: 1 diverged (seed 2) of 3 runs" in ln for ln in lines)
    assert "nan" not in md.lower()


def test_unknown_direction_is_not_ranked_and_derived_names_inherit(tmp_path: Path) -> None:
    from bench.report.stats import direction

    extra = [{"sweep": "synthetic", "run_id": f"vae-digits-s{s}", "dataset": "digits", "model": m, "seed": s,
              "protocol": "fair", "status": "completed", "step": 100, "params": "{}", "metric": "made_up_score",
              "value": v, "n_samples": 1} for m, vals in (("vae", (1.0, 2.0, 3.0)), ("avae", (5.0, 6.0, 7.0)))
             for s, v in enumerate(vals)]
    t = build(tmp_path, extra)
    assert not t.cell("vae", "made_up_score").best and not t.cell("avae", "made_up_score").best
    assert t.cell("avae", "made_up_score").agg.mean == 6.0
    assert any("made_up_score" in n and "not ranked" in n for n in t.footnotes)
    assert direction("mse") == "lower" and direction("cosine") == "higher"
    assert direction("mse_decoder") == "lower"  # extra reconstruction path of bench.run.evaluate_model
    assert direction("made_up_score") is None and direction("is_std") is None


def test_csv_and_latex_carry_the_same_numbers(tmp_path: Path) -> None:
    import io
    import re

    from bench.report.tables import to_csv, to_latex

    t = build(tmp_path)
    df = pd.read_csv(io.StringIO(to_csv(t)))
    row = df[(df["model"] == "vae-gan") & (df["metric"] == "mse")].iloc[0]
    assert abs(row["mean"] - 0.21) < 1e-12 and abs(row["std"] - 0.01) < 1e-12 and row["n"] == 3
    assert row["best"] == 0 and row["not_sig_worse_than_best"] == 0 and row["direction"] == "lower"
    assert df[(df["model"] == "dcgan") & (df["metric"] == "sharpness")].iloc[0]["n_excluded"] == 1
    assert df[df["best"] == 1][["model", "metric"]].apply(tuple, axis=1).tolist() == [
        ("dcgan", "sharpness"), ("vae", "cosine"), ("vae", "mse")]
    tex = to_latex(t)
    assert r"\textbf{0.120 $\pm$ 0.020 (3)}" in tex and r"\toprule" in tex and r"\bottomrule" in tex
    body = tex.split(r"\midrule")[1].split(r"\bottomrule")[0]
    for line in body.strip().splitlines():  # every row has as many cells as the header
        assert len(re.split(r"(?<!\\)&", line)) == 4, line
    assert tex.count("{") == tex.count("}")


def test_a_model_whose_every_run_was_lost_still_has_a_row(tmp_path: Path) -> None:
    from bench.report.tables import to_markdown

    lost = [{"sweep": "synthetic", "run_id": f"avae-a-digits-s{s}", "dataset": "digits", "model": "avae-a",
             "seed": s, "protocol": "fair", "status": status, "step": 5, "params": "{}", "metric": "",
             "value": float("nan"), "n_samples": None} for s, status in ((0, "diverged"), (1, "failed"))]
    t = build(tmp_path, lost)
    md = to_markdown(t)
    assert "| avae-a | —‡ | —‡ | —‡ |" in md.splitlines()
    assert "avae-a on digits: 1 diverged (seed 0) and 1 failed (seed 1) of 2 runs" in md
    assert t.cell("vae", "mse").agg.mean == pytest.approx(0.12)  # the others are unchanged
