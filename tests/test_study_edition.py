"""Study editions (#30): the Fashion-MNIST edition's sweeps, committed per-run results that make a fresh clone
train nothing, progress lines, the learning curve's own sample count and reconstruction metrics, and α-GAN's
learning-rate sweep statistics (checked against numpy on a hand-made summary)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bench import study
from bench import sweep as sweepmod
from bench.report import sweep_boxplot
from bench.study_results import (
    EditionPlan,
    export_run,
    make_edition_plan,
    progress_line,
    run_edition,
    watch,
    write_edition_report,
)

pytestmark = pytest.mark.usefixtures("one_thread")
ROOT = Path(__file__).resolve().parents[1]


# ---- the Fashion-MNIST edition's sweep files ------------------------------------------------------------
def fashion_sweeps() -> dict[str, sweepmod.Sweep]:
    return {t.key: sweepmod.load(t.sweep, check_names=False) for t in study.FASHION_TABLES}


def test_fashion_sweeps_are_the_issue_s_tables() -> None:
    """#30 §3: five tables on fashion-mnist@32; 5 seeds except α-GAN's lr sweep (App. H Table 2, 3 seeds each);
    Khan with DCGAN and ALI; every metric on 10,000 images, curves every 250 iterations on 1,000."""
    s = fashion_sweeps()
    counts = {k: len(v) for k, v in s.items()}  # models × seeds × learning rates, counted by hand
    assert counts == {"avae_table1": 7 * 5, "idvae_table1": 6 * 5, "avaes_table3": 4 * 5, "khan_table1": 4 * 5,
                      "alphagan": (3 + 3 + 2 + 3) * 3}
    assert s["khan_table1"].models == ["began-lsm", "vae-began", "dcgan", "bigan"]
    lrs = {m: sorted({c.overrides["lr"] for c in s["alphagan"].cells() if c.model == m}) for m in s["alphagan"].models}
    assert lrs == {"dcgan": [1e-4, 2e-4, 3e-4], "wgan-gp": [1e-4, 2e-4, 3e-4], "alpha-gan": [1e-4, 5e-4],
                   "age": [1e-4, 2e-4, 5e-4]}
    for key, sw in s.items():
        assert sw.datasets == ["fashion-mnist@32"]
        assert sw.seeds == ([0, 1, 2] if key == "alphagan" else [0, 1, 2, 3, 4])
        assert sw.n_eval == 10_000 and sw.curve_every == 250 and sw.curve_n == 1_000
        assert {"is_domain", "fd_domain", "fd_domain_recon"} <= set(sw.curve)
        # docs/study-plan.md §2: width 16, latent 16, batch 32, lr 1e-3, N0 = 3,000, critic_w's critic 500 steps
        assert sw.set == {"width": 16, "latent_dim": 16, "batch_size": 32, "lr": 0.001} and sw.steps == 3000
        assert sw.critic_steps == 500
        text = (sweepmod.SWEEPS_DIR / f"{study.FASHION_SWEEPS}/{key}.yaml").read_text()
        assert "docs/study-plan.md §2" in text
    # one battery, one setting: a model shared between tables is one run id (trained once)
    ids = {t: set(sweepmod.run_ids(sw)) for t, sw in s.items()}
    assert len(ids["avae_table1"] & ids["khan_table1"]) == 10  # dcgan and bigan, 5 seeds
    assert not ids["avae_table1"] & ids["alphagan"]  # the shared lr 1e-3 is none of App. H's learning rates
    # 138 cells - Khan's dcgan and bigan (10) - AVAE-S's vae = IDVAE's vae (5): the plan's 123 distinct runs
    assert len(set().union(*ids.values())) == 35 + 30 + 20 + 20 + 33 - 10 - 5 == 123


def test_fashion_sweeps_validate_against_the_registries() -> None:
    from bench.registries import datasets

    try:
        datasets().entry("fashion-mnist@32")
    except Exception:  # noqa: BLE001 - the dataset is another helper's; until it lands there is nothing to check
        pytest.skip("fashion-mnist@32 is not registered yet")
    for t in study.FASHION_TABLES:
        sweepmod.load(t.sweep)


def test_digits_stays_the_default_edition() -> None:
    assert study.DEFAULT_EDITION == "digits" and study.edition("digits").tables == study.TABLES
    assert study.edition("digits").out == "results/study" and not study.edition("digits").committed
    fashion = study.edition("fashion")
    assert fashion.out == "results/study-fashion" and fashion.committed and fashion.dataset == "fashion-mnist@32"
    r = subprocess.run([sys.executable, "-m", "bench", "study", "--edition", "nope", "--dry-run"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip() == "error: unknown study edition 'nope'; known: digits, fashion"


# ---- a tiny edition: trained once, then a "fresh clone" trains nothing --------------------------------------
SWEEP = """name: {name}
models: {models}
datasets: [digits@16]
seeds: [0, 1]
steps: 20
set: {{width: 8, latent_dim: 4, batch_size: 16, lr: 0.001}}
eval: {{metrics: [is_domain, fd_domain, mse, fd_domain_recon], n: 60, curve: [is_domain, fd_domain, fd_domain_recon],
        curve_every: 10, curve_n: 40}}
log_every: 10
checkpoint_every: 10
{extra}"""


def tiny_edition(tmp: Path) -> study.Edition:
    (tmp / "khan.yaml").write_text(SWEEP.format(name="tiny_khan", models="[vae, dcgan]", extra=""))
    (tmp / "alpha.yaml").write_text(SWEEP.format(name="tiny_alpha", models="[dcgan]",
                                                 extra="per_model:\n  dcgan: {grid: {lr: [0.0005, 0.001]}}\n"))
    tables = (study.StudyTable("khan_table1", str(tmp / "khan.yaml"), "Khan tiny", "Khan et al. (VAE + BEGAN* + LSM)",
                               ("Table 1",), {"is": "is_domain"}, rank_by="is_domain"),
              study.StudyTable("alphagan", str(tmp / "alpha.yaml"), "α-GAN tiny", "α-GAN (Rosca et al.)"))
    return study.Edition("tiny", str(tmp / "study"), tables, "digits@16", 60, True, "tiny test edition")


def committed_hashes(out: Path) -> dict[str, str]:
    """sha256 of every file a commit would hold (no run directories, job logs or PDFs, whose dates change)."""
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.rglob("*"))
            if p.is_file() and p.relative_to(out).parts[0] not in ("_work", "_jobs") and p.suffix != ".pdf"}


@pytest.mark.slow
def test_committed_results_make_a_fresh_clone_train_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ed = tiny_edition(tmp_path)
    out = Path(ed.out)
    ep = run_edition(ed, list(ed.tables), out, parallel=1, progress=False)
    # vae × 2 seeds, dcgan × 2 seeds at lr 1e-3 (shared by both tables), dcgan × 2 seeds at lr 5e-4: 6 runs
    assert len(ep.plan.todo) == 6 and ep.total == 6
    khan, alpha = (sorted((out / k / "results").iterdir()) for k in ("khan_table1", "alphagan"))
    assert len(khan) == 4 and len(alpha) == 4
    shared = {p.name for p in khan} & {p.name for p in alpha}
    assert len(shared) == 2 and all(n.startswith("dcgan-") for n in shared)
    for d in [*khan, *alpha]:
        assert sorted(p.name for p in d.iterdir()) == sorted(["config.json", "metrics.json", "log.jsonl", "samples.png"]
                                                             + (["reconstructions.png"] if "vae" in d.name else []))
        assert (out / "_work").is_dir() and not (d / "checkpoint.pt").exists()
    for n in shared:
        assert (out / "khan_table1/results" / n / "metrics.json").read_bytes() == \
            (out / "alphagan/results" / n / "metrics.json").read_bytes()
    # the learning curve: every 10 steps, the ranked metrics too, reconstructions only for a model that has them
    vae = next(d for d in khan if d.name.startswith("vae-"))
    log = [json.loads(x) for x in (vae / "log.jsonl").read_text().splitlines()]
    points = [r for r in log if "curve.fd_domain_recon" in r]
    assert [r["step"] for r in points] == [10, 20] and all("curve.fd_domain" in r for r in points)
    curves = pd.read_csv(out / "khan_table1" / study.CURVES_FILE)
    assert set(curves["metric"]) == {"is_domain", "fd_domain", "fd_domain_recon"}
    assert set(curves[curves["metric"] == "fd_domain_recon"]["model"]) == {"vae"}  # dcgan does not reconstruct
    write_edition_report(ed, out)
    assert (out / "alphagan" / "lr-sweep.csv").exists() and (out / "report.md").exists()
    before = committed_hashes(out)
    assert "khan_table1/summary.csv" in before and "khan_table1/mosaic-samples.png" in before

    # a fresh clone: no run directories, no job logs; the CLI of the edition trains nothing, the report is the same
    shutil.rmtree(out / "_work")
    shutil.rmtree(out / "_jobs")
    import bench.executors

    def no_training(*_: Any, **__: Any) -> None:
        raise AssertionError("a run with committed results was trained again")

    monkeypatch.setattr(bench.executors, "submit_local", no_training)
    monkeypatch.setitem(study.EDITIONS, "tiny", ed)
    again = make_edition_plan(ed, list(ed.tables), out)
    assert not again.plan.todo and not again.copies and again.done == 6
    from bench.cli import main

    assert main(["study", "--edition", "tiny", "--quiet"]) == 0
    assert not (out / "_work").exists()
    assert committed_hashes(out) == before
    # a subset report (#28.2) goes to its own folder, rebuilt from the committed results; the rest is unchanged
    assert main(["study", "--edition", "tiny", "--report-only", "--tables", "alphagan"]) == 0
    sub = out / "subset-alphagan"
    assert (sub / "report.md").exists() and (sub / "alphagan" / "lr-sweep.md").exists()
    assert not (sub / "alphagan" / "results").exists() and not list(out.glob(".subset-*"))
    assert {k: v for k, v in committed_hashes(out).items() if not k.startswith("subset-")} == before


def test_results_of_another_table_are_copied_not_retrained(tmp_path: Path) -> None:
    """A run whose results exist in one table is done for every table that has it: its results are copied."""
    ed = tiny_edition(tmp_path)
    out = Path(ed.out)
    khan = study.sweep_of(ed.tables[0])
    rid = next(khan.run_spec(c).run_id() for c in khan.cells() if c.model == "dcgan" and c.seed == 0)
    src = out / "khan_table1" / "results" / rid
    src.mkdir(parents=True)
    (src / "metrics.json").write_text(json.dumps({"status": "completed", "step": 20, "is_domain": 1.5}))
    (src / "config.json").write_text("{}")
    (src / "checkpoint.pt").write_text("not copied")
    ep = make_edition_plan(ed, list(ed.tables), out)
    assert ep.total == 6 and ep.done == 1 and len(ep.plan.todo) == 5
    assert ep.copies == [(src, out.resolve() / "alphagan" / "results" / rid)]
    assert export_run(*ep.copies[0])
    assert sorted(p.name for p in ep.copies[0][1].iterdir()) == ["config.json", "metrics.json"]


# ---- progress and a diverged run ----------------------------------------------------------------------------
def test_progress_line_eta_by_hand() -> None:
    # 1 run done before, 3 done now after 600 s: 2 runs / 600 s; 7 left → 2,100 s = 35 min
    assert progress_line(3, 10, 600.0, 1) == "[study] 3.0/10 runs done, 10 min elapsed, ETA 35 min"
    assert progress_line(1, 10, 5.0, 1).endswith("ETA unknown")


class DoneJob:
    job_id = "1"

    def done(self) -> bool:
        return True

    def exception(self) -> None:
        return None


def test_a_diverged_run_is_reported_with_its_step_and_its_results_kept(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from bench.executors import Plan

    run_dir = tmp_path / "_work" / "t" / "runs" / "dcgan-x-s0-abc"
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_text(json.dumps({"status": "diverged", "step": 37, "reason": "non-finite loss"}))
    (run_dir / "checkpoint.pt").write_text("x")

    class Spec:
        def run_id(self) -> str:
            return "dcgan-x-s0-abc"

    dst = tmp_path / "t" / "results" / "dcgan-x-s0-abc"
    ep = EditionPlan(Plan([(Spec(), run_dir)], {}, 0, 0), {"dcgan-x-s0-abc": [dst]}, [], {"t": 1}, 4, 3,
                     {"dcgan-x-s0-abc": "dcgan seed 0 (t)"})
    assert watch([DoneJob()], ep, steps={"dcgan-x-s0-abc": 100}, poll_s=0) == {"dcgan-x-s0-abc": "diverged"}
    line = capsys.readouterr().out.strip()
    assert line.startswith("[study] dcgan seed 0 (t): diverged at step 37; 4.0/4 runs done")
    assert json.loads((dst / "metrics.json").read_text())["step"] == 37 and not (dst / "checkpoint.pt").exists()


# ---- α-GAN's learning-rate sweep: box-plot statistics ------------------------------------------------------
def lr_summary() -> pd.DataFrame:
    rows = []
    values = {("dcgan", 1e-4): [1.0, 2.0, 3.0], ("dcgan", 2e-4): [4.0, 5.0, 9.0],
              ("age", 1e-4): [-1.0, 0.0, 1.0], ("age", 5e-4): [0.5, 0.7, 0.3]}
    for (model, lr), vs in values.items():
        for seed, v in enumerate(vs):
            rows.append({"sweep": "alphagan", "run_id": f"{model}-{lr}-{seed}", "dataset": "d", "model": model,
                         "seed": seed, "protocol": "fair", "status": "completed", "step": 10, "params": "{}",
                         "hp.lr": lr, "metric": "critic_w", "value": v, "n_samples": 10})
    rows.append({**rows[0], "run_id": "dcgan-div", "seed": 9, "status": "diverged", "metric": "", "value": np.nan})
    return pd.DataFrame(rows)


def test_lr_sweep_statistics_by_hand(tmp_path: Path) -> None:
    st = sweep_boxplot.sweep_stats(lr_summary(), "critic_w").set_index("model")
    # critic_w: higher is better. dcgan: means 2 (1e-4), 6 (2e-4) → best 2e-4, mean 6, std of (4, 5, 9) = √7
    assert st.loc["dcgan", "best lr"] == 2e-4 and st.loc["dcgan", "best mean"] == pytest.approx(6.0)
    assert st.loc["dcgan", "best std"] == pytest.approx(7 ** 0.5) and st.loc["dcgan", "runs"] == 6  # not the diverged
    # all 6 dcgan runs 1, 2, 3, 4, 5, 9: median 3.5, quartiles (linear) 2.25 and 4.75
    assert (st.loc["dcgan", "median"], st.loc["dcgan", "q1"], st.loc["dcgan", "q3"]) == pytest.approx((3.5, 2.25, 4.75))
    # age: means 0 (1e-4), 0.5 (5e-4) → 5e-4; std of (0.5, 0.7, 0.3) = 0.2
    assert st.loc["age", "best lr"] == 5e-4 and st.loc["age", "best std"] == pytest.approx(0.2)
    assert (st.loc["age", "min"], st.loc["age", "max"], st.loc["age", "settings"]) == (-1.0, 1.0, 2)
    csv = tmp_path / "summary.csv"
    lr_summary().to_csv(csv, index=False)
    paths = sweep_boxplot.write_lr_sweep(csv, tmp_path)
    assert {p.name for p in paths} == {"lr-sweep.csv", "lr-sweep.md", "lr-sweep.png", "lr-sweep.pdf"}
    assert "| dcgan | critic_w | 6 | 2 | 0.0002 | 6 | 2.646 | 1 | 3.5 | 9 |" in (tmp_path / "lr-sweep.md").read_text()


# ---- the learning curve: its own image count, and reconstructions where the model has them -------------------
@pytest.mark.parametrize("model, reconstructs", [("vae", True), ("dcgan", False)])
def test_curve_points_use_curve_n_images_and_reconstructions(monkeypatch: pytest.MonkeyPatch, model: str,
                                                             reconstructs: bool) -> None:
    """A curve point evaluates ``curve_n`` images (1,000 in the Fashion-MNIST edition), not the final evaluation's
    ``n`` (10,000), and gives a model that reconstructs its reconstruction path (for fd_domain_recon)."""
    import metrics.base
    from bench.run import RunSpec, curve_function, prepare

    spec = RunSpec(model=model, dataset="digits@16", steps=20, overrides={"width": 8, "latent_dim": 4},
                   metrics=["is_domain"], n_eval=60, log_every=10, curve=["is_domain", "fd_domain_recon"],
                   curve_every=10, curve_n=40)
    spec.validate()
    dataset, cls, cfg, device = prepare(spec)
    seen: list[metrics.base.EvalContext] = []
    monkeypatch.setattr(metrics.base, "evaluate", lambda ctx, names: seen.append(ctx) or {"is_domain": 1.0})
    assert curve_function(cls.build(cfg, dataset.spec), dataset, spec, device)(10) == {"curve.is_domain": 1.0}
    (ctx,) = seen
    assert ctx.n_override == 40 and (ctx.recon_fn is not None) == reconstructs and ctx.seed == 10
    # without curve_n the curve uses n, as before; curve_n is not part of the run's identity
    before = RunSpec(**{**spec.__dict__, "curve_n": None})
    curve_function(cls.build(cfg, dataset.spec), dataset, before, device)(20)
    assert seen[-1].n_override == 60 and before.run_id() == spec.run_id()


@pytest.mark.parametrize("value", [0, "many", 1.5])
def test_a_bad_curve_n_names_its_field(value: object) -> None:
    raw = {"models": ["vae"], "datasets": ["digits@16"],
           "eval": {"curve": ["is_domain"], "curve_every": 10, "curve_n": value}}
    with pytest.raises(sweepmod.SweepError, match=r"sweep s: field 'eval.curve_n'"):
        sweepmod.from_dict(raw, "s")
    good = sweepmod.from_dict({**raw, "eval": {**raw["eval"], "curve_n": 40}}, "s")
    assert good.curve_n == 40 and sweepmod.from_dict(good.to_dict(), "s") == good
    assert "curve_n" not in sweepmod.from_dict({**raw, "eval": {"curve": ["is_domain"], "curve_every": 10}},
                                               "s").to_dict()["eval"]  # digits' sweep.yaml files stay as they were


def test_a_diverged_setting_is_never_the_best() -> None:
    """§6: dcgan at lr 3e-4 has one of three runs completed (a diverged setting) with the highest critic_w (20):
    the best stays 2e-4 (mean 6, as in test_lr_sweep_statistics_by_hand); its one finished job still counts as a
    run of the spread (7 runs, max 20)."""
    df = lr_summary()
    extra = [{**df.iloc[0].to_dict(), "run_id": "dcgan-3e-4-0", "seed": 0, "hp.lr": 3e-4, "value": 20.0}]
    extra += [{**df.iloc[0].to_dict(), "run_id": f"dcgan-3e-4-{s}", "seed": s, "hp.lr": 3e-4, "status": "diverged",
               "metric": "", "value": np.nan} for s in (1, 2)]
    st = sweep_boxplot.sweep_stats(pd.concat([df, pd.DataFrame(extra)], ignore_index=True), "critic_w").set_index("model")
    assert st.loc["dcgan", "best lr"] == 2e-4 and st.loc["dcgan", "best mean"] == pytest.approx(6.0)
    assert st.loc["dcgan", "runs"] == 7 and st.loc["dcgan", "max"] == 20.0
