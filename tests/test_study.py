"""The study (#21, #27): the learning curve leaves a run's results unchanged, the study trains a run shared by two
tables once, and the report's rank agreement (Kendall τ-b), the papers' findings and plateau flags match values
computed by hand on hand-made summaries (the statistics themselves: tests/test_study_stats.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench import study
from bench.report import study as report
from bench.report.published import Published, PublishedValues

pytestmark = pytest.mark.usefixtures("one_thread")
ROOT = Path(__file__).resolve().parents[1]


# ---- Kendall τ-b, by hand ----------------------------------------------------------------------------
def test_tau_b_matches_hand_counts() -> None:
    # (1,2,3,4) vs (1,3,2,4): 5 concordant, 1 discordant pair → (5 - 1) / 6
    tau, _ = report.kendall_tau_b([1, 2, 3, 4], [1, 3, 2, 4])
    assert tau == pytest.approx(4 / 6)
    # ties: a = (1,1,2), b = (1,2,3): pairs (0,1) tied in a; (0,2),(1,2) concordant → 2 / sqrt(2 · 3)
    tau, _ = report.kendall_tau_b([1, 1, 2], [1, 2, 3])
    assert tau == pytest.approx(2 / 6 ** 0.5)
    assert report.kendall_tau_b([1.0], [2.0]) == (None, None)


def published(rows: list[tuple[str, str, str, float]], paper: str = "P", table: str = "T") -> PublishedValues:
    return PublishedValues([Published(paper, table, d, m, k, v, None, "") for d, m, k, v in rows])


def test_rank_agreement_per_dataset_and_metric() -> None:
    t = study.StudyTable("x", "study_khan_table1", "X", "P", ("T",), {"fid": "fd_domain", "mse": "mse"})
    pv = published([("cifar10", "a", "fid", 1.0), ("cifar10", "b", "fid", 2.0), ("cifar10", "c", "fid", 3.0),
                    ("cifar10", "real", "fid", 0.1), ("celeba", "a", "mse", 0.3), ("celeba", "b", "mse", 0.1),
                    ("celeba", "z", "mse", 0.2)])  # z: not run by the suite, left out
    suite = {("a", "fd_domain"): 10.0, ("b", "fd_domain"): 30.0, ("c", "fd_domain"): 20.0,
             ("a", "mse"): 0.5, ("b", "mse"): 0.4}
    taus = {(r.dataset, r.paper_metric): r for r in report.rank_agreements(t, suite, pv)}
    fid = taus[("cifar10", "fid")]
    assert fid.models == ["a", "b", "c"] and fid.suite_metric == "fd_domain"
    assert fid.tau == pytest.approx(1 / 3)  # pairs: ab +, ac +, bc − → (2 − 1) / 3
    assert fid.paper_order == ["a", "b", "c"] and fid.suite_order == ["a", "c", "b"]  # lower is better
    mse = taus[("celeba", "mse")]
    assert mse.models == ["a", "b"] and mse.tau == pytest.approx(1.0)
    assert report.order_text({"x": 0.03, "y": 0.015, "z": 0.03, "w": 0.045}, "mse") == "y > x = z > w"


def test_plateau_flags_a_curve_still_rising() -> None:
    """The last quarter's least-squares slope over every seed's points, checked against numpy's polyfit; a
    clear rise is flagged, a noisy flat curve is not."""
    import numpy as np

    steps = [250, 500, 750, 1000, 1250, 1500, 1750, 2000]
    noise = {0: [0.1, -0.1, 0.05], 1: [-0.05, 0.1, -0.1], 2: [0.0, -0.05, 0.1]}
    rows = []
    for s in (0, 1, 2):
        flat = [2.0, 3.0, 4.0, 4.5, 5.0, *(5.0 + e for e in noise[s])]
        rising = [1.0, 1.5, 2.0, 2.5, 3.0, 3.5 + s * 0.01, 4.0, 4.5 - s * 0.01]
        rows += [{"model": "flat", "seed": s, "run_id": f"f{s}", "step": k, "metric": "is_domain", "value": v}
                 for k, v in zip(steps, flat, strict=True)]
        rows += [{"model": "rising", "seed": s, "run_id": f"r{s}", "step": k, "metric": "is_domain", "value": v}
                 for k, v in zip(steps, rising, strict=True)]
    df = pd.DataFrame(rows)
    pl = report.plateau(df)
    for model in ("flat", "rising"):
        tail = df[(df["model"] == model) & (df["step"] >= 1500)]
        slope = np.polyfit(tail["step"], tail["value"], 1)[0]
        assert pl[model]["slope_per_1k"] == pytest.approx(1000 * slope)
        assert pl[model]["from_step"] == 1500
    assert pl["flat"]["stopped"] == 1.0 and pl["flat"]["p"] > 0.05
    assert pl["rising"]["stopped"] == 0.0 and pl["rising"]["p"] < 1e-6
    tail = df[(df["model"] == "rising") & (df["step"] >= 1500)]
    slope, intercept = np.polyfit(tail["step"], tail["value"], 1)
    assert pl["rising"]["rise"] == pytest.approx(slope * 500 / (intercept + slope * 1500))  # ≈ 3.51 → 4.49


# ---- the report on hand-made summaries -----------------------------------------------------------------
def summary_rows(table: str, values: dict[str, list[float]], metric: str) -> list[dict[str, object]]:
    return [{"sweep": table, "run_id": f"{m}-s{s}", "dataset": "digits@16", "model": m, "seed": s, "protocol": "fair",
             "status": "completed", "step": 2000, "params": "{}", "metric": metric, "value": v, "n_samples": 300}
            for m, vs in values.items() for s, v in enumerate(vs)]


def test_schedule_text_reads_the_training_length_from_the_summaries() -> None:
    """The report states the length the runs actually trained (their last step), not a constant: the common
    count, then the models trained longer; a failed run does not count."""
    rows = [{"run_id": f"{m}{s}", "model": m, "seed": s, "status": "completed", "step": n, "metric": k}
            for m, n in (("dcgan", 4000), ("avae", 4000), ("vae", 8000)) for s in (0, 1) for k in ("a", "b")]
    rows.append({"run_id": "x", "model": "age", "seed": 0, "status": "failed", "step": 120, "metric": "a"})
    assert report.schedule_text(pd.DataFrame(rows)) == "4,000 iterations (vae: 8,000)"
    only = pd.DataFrame([r for r in rows if r["model"] != "vae"])
    assert report.schedule_text(only) == "4,000 iterations"


def test_report_from_hand_made_summaries(tmp_path: Path) -> None:
    """Khan's finding (VAE+BEGAN*+LSM above BEGAN*+LSM on IS) is contradicted on these seeds (Welch t = −18.6,
    Holm p ≪ 0.05), with τ-b = −1 on 2 models (exact p over the 2 label orders: 1); α-GAN's 'WGAN-GP best on the
    critic' is contradicted by α-GAN (2.0 > 1.0) and its sweep sentence is not testable."""
    out = tmp_path / "study"
    (out / "khan_table1").mkdir(parents=True)
    (out / "alphagan").mkdir(parents=True)
    pd.DataFrame(summary_rows("khan_table1", {"began-lsm": [5.0, 5.2, 5.1, 4.9, 5.0],
                                              "vae-began": [4.0, 4.1, 3.9, 4.0, 4.2]}, "is_domain")).to_csv(
        out / "khan_table1" / "summary.csv", index=False)
    pd.DataFrame(summary_rows("alphagan", {"wgan-gp": [1.0, 1.1, 0.9, 1.0, 1.0], "dcgan": [0.5, 0.6, 0.4, 0.5, 0.5],
                                           "alpha-gan": [2.0, 2.1, 1.9, 2.0, 2.0], "age": [0.1, 0.2, 0.1, 0.1, 0.2]},
                              "critic_w")).to_csv(out / "alphagan" / "summary.csv", index=False)
    (out / report.REFERENCE_FILE).write_text(json.dumps({"is_domain": 7.0, "n": 300}))
    tables = study.select(["khan_table1", "alphagan"])
    report.write_report(out, tables)
    agree = pd.read_csv(out / "agreement.csv")
    khan = agree[agree["table"] == "khan_table1"].iloc[0]
    assert khan["n_models"] == 2 and khan["tau_b"] == pytest.approx(-1.0)  # paper 6.80 > 6.12; suite 4.04 < 5.04
    assert khan["p_exact"] == pytest.approx(1.0)
    pair = pd.read_csv(out / "pairwise.csv")
    k = pair[pair["table"] == "khan_table1"].iloc[0]
    assert (k["a"], k["b"]) == ("began-lsm", "vae-began") and k["diff"] == pytest.approx(1.0)
    assert k["p_holm"] == pytest.approx(k["p_welch"]) and k["p_welch"] < 1e-6  # a family of one test
    assert len(pair[pair["table"] == "alphagan"]) == 6  # critic_w: every pair of the 4 models
    found = pd.read_csv(out / "findings.csv", keep_default_na=False)
    def verdict(table: str, start: str) -> set[str]:
        return set(found[(found["table"] == table) & found["quote"].str.startswith(start)]["finding"])

    assert verdict("khan_table1", "The proposed model with the inclusion of VAE") == {"contradicted"}
    assert verdict("alphagan", "However, WGAN-GP produces the samples rated best") == {"contradicted"}
    sweep = found[found["quote"].str.startswith("On this metric, most")]
    assert sweep["verdict"].tolist() == ["not testable (sweep)"]
    text = (out / "report.md").read_text()
    assert "“The proposed model with the inclusion of VAE" in text
    head = report.headline_markdown(out)
    assert "Khan et al. Table 1" in head and "| -1.00 |" in head and "0 of 2 held (2 contradicted)" in head
    assert "report.html" in {p.name for p in out.iterdir()} and (out / "summary.csv").exists()


# ---- running: a shared run is trained once; the curve changes nothing ---------------------------------
def test_shared_runs_are_planned_once(tmp_path: Path) -> None:
    sp = study.make_study_plan(list(study.TABLES), tmp_path, apply=False)
    trained = [s.run_id() for s, _ in sp.plan.todo]
    assert len(trained) == len(set(trained))
    copied = sorted(dst.name.split("-digits")[0] for _, dst in sp.copies)
    # dcgan (AVAE Table I & α-GAN), alpha-gan and age (IDVAE & α-GAN), vae (IDVAE & AVAE-S): 5 seeds each
    assert copied == sorted(["dcgan"] * 5 + ["alpha-gan"] * 5 + ["age"] * 5 + ["vae"] * 5)
    assert len(trained) == 35 + 30 + 20 + 10 + 20 - 20


def run_sweep_file(tmp_path: Path, name: str, curve: bool) -> dict[str, object]:
    ev = "{metrics: [is_domain, fd_domain, mse], n: 60" + (", curve: [is_domain], curve_every: 10}" if curve else "}")
    f = tmp_path / f"{name}.yaml"
    f.write_text(f"name: {name}\nmodels: [vae]\ndatasets: [digits@16]\nseeds: [0]\nsteps: 20\n"
                 f"set: {{width: 8, latent_dim: 4, batch_size: 16}}\neval: {ev}\nlog_every: 10\n")
    subprocess.run([sys.executable, "-m", "bench", "sweep", str(f), "--out", str(tmp_path), "--quiet", "--parallel", "1"],
                   cwd=ROOT, check=True, capture_output=True)
    run = next((tmp_path / name / "runs").iterdir())
    return {"metrics": json.loads((run / "metrics.json").read_text()),
            "log": [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]}


def test_the_learning_curve_leaves_the_results_unchanged(tmp_path: Path) -> None:
    with_curve, without = run_sweep_file(tmp_path, "with", True), run_sweep_file(tmp_path, "without", False)
    assert [r["step"] for r in with_curve["log"] if "curve.is_domain" in r] == [10, 20]
    assert not any("curve.is_domain" in r for r in without["log"])
    assert with_curve["metrics"] == without["metrics"]  # same training, sampling and metrics to the last bit


@pytest.mark.parametrize("ev, message", [
    ("{curve: [is_domain]}", "eval.curve_every"),
    ("{curve: [is_domain], curve_every: 15}", "multiple of log_every"),
    ("{curve: [nope], curve_every: 10}", "unknown metric 'nope'"),
])
def test_bad_curve_settings_are_one_line_errors(tmp_path: Path, ev: str, message: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(f"name: bad\nmodels: [vae]\ndatasets: [digits@16]\nsteps: 20\neval: {ev}\nlog_every: 10\n")
    r = subprocess.run([sys.executable, "-m", "bench", "sweep", str(f), "--out", str(tmp_path), "--dry-run"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_unknown_table_is_a_one_line_error() -> None:
    r = subprocess.run([sys.executable, "-m", "bench", "study", "--tables", "nope", "--dry-run"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 2 and "unknown study table 'nope'" in r.stderr


def test_run_study_trains_a_shared_run_once_and_copies_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """AVAE Table I and α-GAN's comparison share dcgan: cut both tables down to dcgan, 1 seed, 20 steps; the
    run is trained in the first table and copied (without its checkpoint) to the second, both summaries list it."""
    import dataclasses

    original = study.sweep_of

    def small(table: study.StudyTable) -> object:
        s = original(table)
        return dataclasses.replace(s, models=["dcgan"], seeds=[0], steps=20, per_model={}, metrics=["is_domain"],
                                   set={"width": 8, "latent_dim": 4, "batch_size": 16}, n_eval=60, log_every=10,
                                   curve_every=10)

    monkeypatch.setattr(study, "sweep_of", small)
    tables = study.select(["avae_table1", "alphagan"])
    sp = study.run_study(tables, tmp_path, parallel=1, progress=False)
    assert len(sp.plan.todo) == 1 and len(sp.copies) == 1
    (run_a,) = (tmp_path / "avae_table1" / "runs").iterdir()
    (run_b,) = (tmp_path / "alphagan" / "runs").iterdir()
    assert run_a.name == run_b.name and (run_a / "checkpoint.pt").exists() and not (run_b / "checkpoint.pt").exists()
    assert (run_b / "copied_from.txt").read_text().strip() == str(run_a)
    assert (run_a / "metrics.json").read_text() == (run_b / "metrics.json").read_text()
    for t in ("avae_table1", "alphagan"):
        df = pd.read_csv(tmp_path / t / "summary.csv")
        assert set(df["metric"]) == {"is_domain", "is_domain_std"} and set(df["status"]) == {"completed"}
        curves = pd.read_csv(tmp_path / t / study.CURVES_FILE)
        assert curves["step"].tolist() == [10, 20] and set(curves["model"]) == {"dcgan"}
    again = study.make_study_plan(tables, tmp_path)  # resumable: nothing left to train or copy
    assert not again.plan.todo and not again.copies


def test_report_only_rebuilds_from_the_summaries(tmp_path: Path) -> None:
    out = tmp_path / "study"
    (out / "khan_table1").mkdir(parents=True)
    pd.DataFrame(summary_rows("khan_table1", {"began-lsm": [5.0, 5.2, 5.1, 4.9, 5.0],
                                              "vae-began": [6.0, 6.1, 5.9, 6.0, 6.2]}, "is_domain")).to_csv(
        out / "khan_table1" / "summary.csv", index=False)
    (out / report.REFERENCE_FILE).write_text(json.dumps({"is_domain": 7.0, "n": 300}))
    r = subprocess.run([sys.executable, "-m", "bench", "study", "--tables", "khan_table1", "--report-only", "--out",
                        str(out)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "| +1.00 |" in r.stdout and "1 of 2 held (1 held where testable)" in r.stdout  # τ-b = 1 on 2 models
    assert (out / "report.md").exists() and (out / "report.html").exists()


def test_committed_report_regenerates_from_the_committed_summaries(tmp_path: Path) -> None:
    """results/study/ as committed (summaries, curves, the real-data reference, the mosaics; no run
    directories): the report rebuilt from it is the committed report, table for table."""
    import shutil

    src = ROOT / "results" / "study"
    out = tmp_path / "study"
    shutil.copytree(src, out, ignore=shutil.ignore_patterns("runs", "submitit", "_jobs", "*.pdf"))
    for f in ("report.md", "agreement.csv"):
        (out / f).unlink()
    report.write_report(out)
    assert (out / "report.md").read_text() == (src / "report.md").read_text()
    pd.testing.assert_frame_equal(pd.read_csv(out / "agreement.csv"), pd.read_csv(src / "agreement.csv"))


def test_readme_quotes_the_committed_headline() -> None:
    """The README's study table is the committed Fashion-MNIST edition's headline (issue #30: the README's headline
    becomes that edition's): every row of ``results/study-fashion/report.md``'s headline, its first eight cells
    (table, ranked metric, comparisons, τ-b, interval, p, ceiling, and the verdict's first clause) starts a row of
    the README's table (a re-run study that is not copied into the README fails here)."""
    md = (ROOT / "results" / "study-fashion" / "report.md").read_text()
    rows = [ln for ln in md.split("## Headline")[1].split("How the numbers")[0].splitlines() if ln.startswith("| ")]
    readme = [ln for ln in (ROOT / "README.md").read_text().splitlines() if ln.startswith("| ")]
    body = [r for r in rows[1:] if not r.startswith("|---")]
    assert len(body) == 6
    for row in body:
        cells = [c.strip() for c in row.strip("|").split("|")][:8]
        cells[7] = cells[7].split(";")[0]
        prefix = "| " + " | ".join(cells) + " |"
        assert any(ln.startswith(prefix) for ln in readme), prefix
