"""The pre-registered edition's report (bench/report/study_fashion.py) on a synthetic Fashion-MNIST edition: the
header read from the sweep files, α-GAN per learning-rate setting with the best setting and the box plot, §7's
verdicts, §8's findings with Holm, the descriptive all-pairs, §5's length decisions and §6's counts. No
Fashion-MNIST run is trained: the summaries and curves are written here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import study
from bench.report import plan_findings as pf
from bench.report.study_fashion import write_fashion_report

METRICS = ("fd_domain", "is_domain", "mse", "cosine", "sharpness", "sharpness_recon", "fd_domain_recon", "critic_w")


def synthetic_edition(out: Path, diverged: str = "avae-ft") -> None:
    """Every table of the edition from its shipped sweep file: each cell a completed run with made-up values
    (a model's level × a small seed noise), except ``diverged`` whose seeds 0–2 diverge; curves every 250 steps
    to the sweep's length N, dcgan rising on is_domain (by 0.2 · N/4000 · … ≥ 10 % over the last quarter), the
    rest flat."""
    rng = np.random.default_rng(0)
    level = {m: 1.0 + i / 10 for i, m in enumerate(sorted({c.model for t in study.FASHION_TABLES
                                                           for c in study.sweep_of(t).cells()}))}
    for t in study.FASHION_TABLES:
        sw = study.sweep_of(t)
        n = int(sw.steps)
        rows, curves = [], []
        for c in sw.cells():
            spec = sw.run_spec(c)
            rid = spec.run_id()
            lr = float(c.overrides.get("lr", 2e-4))
            base = {"sweep": t.key, "run_id": rid, "dataset": "fashion-mnist@32", "model": c.model, "seed": c.seed,
                    "protocol": "fair", "step": n, "params": json.dumps(c.overrides, sort_keys=True),
                    "hp.lr": lr, "hp.width": 16, "n_samples": 10000}
            if c.model == diverged and c.seed <= 2:
                rows.append({**base, "status": "diverged", "step": 1234, "metric": "", "value": np.nan})
                continue
            for k in METRICS:
                rows.append({**base, "status": "completed", "metric": k,
                             "value": level[c.model] * (1 + 0.3 * (lr - 2e-4) / 1e-4 * (k == "critic_w"))
                             * (1 + 0.02 * rng.standard_normal()) * (0.1 if k == "mse" else 1.0)})
            for step in range(250, n + 1, 250):
                rise = 0.002 * (step - 0.75 * n) if c.model == "dcgan" else 0.0  # +0.5·n/1000 over the quarter
                curves.append({"model": c.model, "seed": c.seed, "run_id": rid, "step": step, "metric": "is_domain",
                               "value": 5.0 + rise + 0.01 * rng.standard_normal()})
        (out / t.key).mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(out / t.key / "summary.csv", index=False)
        pd.DataFrame(curves).to_csv(out / t.key / study.CURVES_FILE, index=False)
    (out / "reference.json").write_text(json.dumps({"is_domain": 9.0, "sharpness": 1.5, "sharpness_recon": 1.5,
                                                    "fd_domain": 0.1, "n": 10000, "split": "test"}))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("fashion")
    synthetic_edition(out)
    write_fashion_report(out, list(study.FASHION_TABLES), list(study.FASHION_TABLES))
    return out, (out / "report.md").read_text()


def test_header_is_read_from_the_sweep_files_not_the_digits_constants(report: tuple[Path, str]) -> None:
    _, md = report
    head = md.split("## Headline")[0]
    sw = study.sweep_of(study.FASHION_TABLES[0])  # the shipped sweep file, whatever the plan's §2 set there
    assert sw.datasets == ["fashion-mnist@32"] and "fashion-mnist at 32 px" in head
    assert f"width {sw.set['width']}, latent {sw.set['latent_dim']}, batch {sw.set['batch_size']}, " \
           f"Adam lr {sw.set['lr']:g}" in head
    assert f"{sw.steps:,} iterations" in head and f"{sw.n_eval:,} images per metric" in head
    assert f"every {sw.curve_every} iterations on {sw.curve_n:,} images" in head
    assert "digits" not in head and "300" not in head


def test_alpha_gan_is_reported_per_lr_setting_with_its_best_and_the_box_plot(report: tuple[Path, str]) -> None:
    out, md = report
    sec = md.split("## α-GAN comparison")[1].split("\n## ")[0]
    for label in ("dcgan (lr 0.0001) ↑", "dcgan (lr 0.0003) ↑", "alpha-gan (lr 0.0005)", "age (lr 0.0005)"):
        assert f"| {label} |" in sec  # dcgan rises in every configuration by construction: ↑ (§5.6)
    # critic_w rises with lr by construction: every model's best critic_w setting is its largest lr
    row = next(ln for ln in sec.splitlines() if ln.startswith("| wgan-gp (lr 0.0003) |"))
    assert row.count("*") >= 1
    assert (out / "alphagan" / "lr-sweep.png").exists() and "![lr-sweep](alphagan/lr-sweep.png)" in sec


def test_sections_verdicts_findings_and_counts(report: tuple[Path, str]) -> None:
    out, md = report
    for heading in ("## Headline", "## AVAE Table I", "## Training length (§5)", "## Finished and diverged runs (§6)"):
        assert heading in md
    assert "verdict (§7)" in md and "Descriptive (not registered;" in md
    # the descriptive family is the digits edition's (§7), with the sweep's settings kept apart, never borrowed
    pairs = pd.read_csv(out / "pairwise.csv", keep_default_na=False)
    sweep = pairs[pairs["table"] == pf.AG]
    assert len(sweep) and sweep["a"].str.contains(r"\[lr=").all() and sweep["b"].str.contains(r"\[lr=").all()
    assert (sweep["borrowed"] == "").all()
    found = pd.read_csv(out / "findings.csv")
    assert list(dict.fromkeys(found["finding"])) == [f.id for f in pf.FINDINGS]
    assert dict(found.groupby("table")["m"].first()) == {pf.AV: 10, pf.ID: 23, pf.AS: 12, pf.KH: 6, pf.AG: 12}
    # avae-ft diverged (2 of 5 finished): AS3's parts with it are not testable, and so is the finding
    as3 = found[found["finding"] == "AS3"]
    assert set(as3[as3["test"].str.contains("avae-ft")]["verdict"]) == {"not testable (diverged)"}
    assert set(as3["finding_verdict"]) == {"not testable (diverged)"}
    counts = md.split("## Finished and diverged runs (§6)")[1]
    assert "| avaes_table3 | avae-ft | 5 | 2 | 3 | 0 | yes |" in counts
    agree = pd.read_csv(out / "agreement.csv")
    assert set(agree["verdict"]) <= {"agrees", "disagrees", "not decided", "not computed"} and len(agree) >= 5


def test_length_decisions_are_written_and_shown(report: tuple[Path, str]) -> None:
    out, md = report
    dec = pd.read_csv(out / "length_decisions.csv")
    up = set(dec[dec["still_improving"]]["configuration"])
    assert up and all(c.startswith("dcgan") for c in up)  # only dcgan rises (20 % over the quarter)
    assert "↑" in md.split("## Khan")[1].split("\n## ")[0]  # dcgan is in Khan's table: flagged there
    # §5.6's summary line: dcgan rises by construction in each of its 4 configurations (the shared fair-lr run of
    # AVAE Table I and Khan's table, and the sweep's 3 lrs); nothing else does
    line = next(ln for ln in md.splitlines() if ln.startswith("Still improving at their final length"))
    n_conf = dec["configuration"].nunique()
    assert f"(4 of {n_conf} configurations;" in line and len(up) == 4
    listed = line.split("): ", 1)[1].split(". Which")[0]
    assert all(c in listed for c in up) and listed.count("dcgan") == 4


def test_a_diverged_configuration_leaves_tau_and_is_shown_placed_last(report: tuple[Path, str]) -> None:
    """§6: avae-ft (2 of 5 finished) is left out of AVAE-S's τ (4 → 3 models), and τ with it placed last is beside."""
    _, md = report
    row = next(ln for ln in md.split("## Headline")[1].splitlines() if ln.startswith("| AVAE-S"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert "(without avae-ft: diverged, §6)" in cells[1] and cells[2].endswith("× 3")
    assert cells[-1] != "—" and "p " in cells[-1]
    # placed last: avae-ft gets the worst value of every metric on every seed
    from bench.report import study_tables as st

    seeds = {"a": {"mse": [0.1, 0.2], "cosine": [0.9, 0.8]}, "x": {"mse": [0.0, 0.0]}}
    last = st.placed_last({"x"}, 3)(seeds)
    assert last["x"] == {"mse": [0.2 + 1.1] * 3, "cosine": [0.8 - 1.1] * 3}  # span = 0.1 + 1; beyond the worst
    assert st.without({"x"})(seeds) == {"a": seeds["a"]}


def test_exploratory_and_beside(report: tuple[Path, str]) -> None:
    _, md = report
    idvae = md.split("## IDVAE")[1].split("\n## ")[0]
    assert "Exploratory, outside the family" in idvae and "`sharpness_recon` idvae-r < idvae" in idvae
    alpha = md.split("## α-GAN comparison")[1].split("\n## ")[0]
    assert "(per model, not tested: wgan-gp:" in alpha and "alpha-gan: " in alpha
    assert "| recon_class_acc |" in alpha or "recon_class_acc" in alpha
