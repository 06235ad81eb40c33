"""The Fashion-MNIST edition's registered findings (docs/study-plan.md §8) as data, and their evaluation on
synthetic summaries: family sizes, shared tests counted once, Holm, the verdict words, the best learning-rate
setting of the sweep (a diverged setting never best) and diverged configurations."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from bench.report import plan_findings as pf
from bench.report import study_stats as ss

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "docs" / "study-plan.md"


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("finding", pf.FINDINGS, ids=lambda f: f.id)
def test_quotes_are_the_plan_s_word_for_word(finding: pf.PlanFinding) -> None:
    plan = flat(PLAN.read_text())
    for _, quote in finding.quotes:
        assert flat(quote) in plan


def test_the_registered_ids_and_family_sizes_are_the_plan_s() -> None:
    ids = [f.id for f in pf.FINDINGS]
    assert ids == [*(f"AV{i}" for i in range(1, 7)), *(f"ID{i}" for i in range(1, 7)), *(f"AS{i}" for i in range(1, 7)),
                   "KH1", "KH2", *(f"AG{i}" for i in range(1, 9))]
    # §8's m per table: AVAE I 10 (12 with LPIPS), IDVAE 23, AVAE-S 12, Khan 6, α-GAN 12
    assert len(pf.family(pf.AV, lpips=False)) == 10 and len(pf.family(pf.AV)) == 12
    assert {t: len(pf.family(t)) for t in (pf.ID, pf.AS, pf.KH, pf.AG)} == {pf.ID: 23, pf.AS: 12, pf.KH: 6, pf.AG: 12}
    # the shared tests: AV4 = AV1a, AV5's mse = AV1b, ID4's first = ID1a, ID5 = ID4's idvae vs alpha-gan
    part = {(f.id, p.label): p for f in pf.FINDINGS for p in f.parts}
    assert part[("AV4", "")].key() == part[("AV1", "a")].key()
    assert part[("AV5", "a")].key() == part[("AV1", "b")].key()
    assert part[("ID4", "1")].key() == part[("ID1", "a")].key()
    assert part[("ID5", "")].key() == part[("ID4", "5")].key()
    ag1 = next(f for f in pf.FINDINGS if f.id == "AG1")
    assert ag1.k_min == 24 // 2 + 1 == 13  # "most" of 24 jobs: more than half, the rule part_verdict applies
    kinds = {p.kind for f in pf.FINDINGS for p in f.parts}
    assert kinds == {"d", "dd", "eq", "ni", "r", "sp", "ex"}


# ---- synthetic summaries ----------------------------------------------------------------------------------
def rows(table: str, model: str, metrics: dict[str, list[float]], lr: float | None = None,
         diverged: tuple[int, ...] = ()) -> list[dict[str, object]]:
    n = len(next(iter(metrics.values())))
    out: list[dict[str, object]] = []
    for s in range(n + len(diverged)):
        rid = f"{model}-{lr}-s{s}"
        if s >= n:
            out.append({"sweep": table, "run_id": rid, "dataset": "fashion-mnist@32", "model": model, "seed": s,
                        "protocol": "fair", "status": "diverged", "step": 17, "n_samples": 0,
                        "params": "{}", "hp.lr": lr if lr is not None else 2e-4, "metric": "", "value": np.nan})
            continue
        for k, vs in metrics.items():
            out.append({"sweep": table, "run_id": rid, "dataset": "fashion-mnist@32", "model": model, "seed": s,
                        "protocol": "fair", "status": "completed", "step": 4000, "n_samples": 10000,
                        "params": "{}" if lr is None else f'{{"lr": {lr}}}', "hp.lr": lr if lr is not None else 2e-4,
                        "metric": k, "value": vs[s]})
    return out


def write(out: Path, table: str, rs: list[dict[str, object]]) -> None:
    (out / table).mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rs).to_csv(out / table / "summary.csv", index=False)


def noise(center: float, seed: int, n: int = 5, scale: float = 0.01) -> list[float]:
    return list(center + scale * np.random.default_rng(seed).standard_normal(n))


REAL = {"sharpness": 0.5, "sharpness_recon": 0.5, "is_domain": 8.0}


def avae_table(out: Path) -> None:
    """avae reconstructs best among the hybrids and samples better than the VAE (AV1 a–c hold); the VAE is
    blurrier than real data (AV3); vae-gan's samples are no worse than dcgan's (AV5b a tie by construction)."""
    m = {"vae": {"mse": noise(0.010, 1, scale=0.001), "fd_domain": noise(9.0, 2), "sharpness": noise(0.30, 3),
                 "sharpness_recon": noise(0.31, 4)},
         "avae": {"mse": noise(0.020, 5, scale=0.001), "fd_domain": noise(5.0, 6), "sharpness": noise(0.45, 7),
                  "sharpness_recon": noise(0.46, 8)},
         "bigan": {"mse": noise(0.080, 9, scale=0.001), "fd_domain": noise(4.0, 10), "sharpness": noise(0.5, 11),
                   "sharpness_recon": noise(0.5, 12)},
         "vae-gan": {"mse": noise(0.050, 13, scale=0.001), "fd_domain": [5.0, 7.0, 3.0, 6.5, 3.5], "sharpness": noise(0.5, 14),
                     "sharpness_recon": noise(0.5, 15)},
         "dcgan": {"mse": noise(0.5, 16), "fd_domain": [5.1, 5.0, 4.9, 5.05, 4.95], "sharpness": noise(0.5, 17),
                   "sharpness_recon": noise(0.5, 18)}}
    write(out, pf.AV, [r for model, ks in m.items() for r in rows(pf.AV, model, ks)])


def test_avae_table_verdicts_and_holm_over_its_ten_distinct_tests(tmp_path: Path) -> None:
    avae_table(tmp_path)
    data = pf.load_table(tmp_path, pf.AV, REAL)
    assert data is not None
    ev = pf.evaluate(data, pf.AV)
    assert not ev.lpips and len(ev.family) == 10
    assert list(ev.p_holm.values()) == pytest.approx(ss.holm(list(ev.p_raw.values())))
    v = {f.id: verdict for f, _, verdict in ev.findings}
    parts = {(f.id, pr.part.label): pr for f, prs, _ in ev.findings for pr in prs}
    assert parts[("AV1", "d")].verdict == "not testable (LPIPS not measured)"
    assert v["AV1"] == "held"  # a–c held; the LPIPS parts are out of the family
    assert v["AV3"] == "held" and v["AV4"] == "held"
    assert v["AV6"] == "held"  # vae's mse 0.010 < avae's 0.020
    # AV4 is AV1a read the other way: the same Holm p, the difference flipped
    a1, a4 = parts[("AV1", "a")], parts[("AV4", "")]
    assert a1.p_holm == a4.p_holm and a1.result is not None and a4.result is not None
    assert a4.result.diff == pytest.approx(-a1.result.diff)
    # AV5: vae-gan's fd_domain (mean 5.0, wide) vs dcgan's (5.0): a tie; vae-gan's fd vs avae: a tie; mse: held
    assert parts[("AV5", "b")].verdict == "not established (tie)"
    assert v["AV5"].startswith("not established")
    # AV2: avae's fd_domain 5.0 vs dcgan's 5.0, δ = 0.5: TOST by hand with scipy's shifted one-sided tests
    av2 = parts[("AV2", "")]
    a, b = data.configs[("avae", "")].values["fd_domain"], data.configs[("dcgan", "")].values["fd_domain"]
    p_tost = max(sps.ttest_ind(np.add(a, 0.1 * np.mean(b)), b, equal_var=False, alternative="greater").pvalue,
                 sps.ttest_ind(np.subtract(a, 0.1 * np.mean(b)), b, equal_var=False, alternative="less").pvalue)
    assert av2.result is not None and av2.result.p == pytest.approx(p_tost)
    assert av2.verdict == "equivalent within 10 %"
    # the r test of AV3a against the real images' sharpness
    assert parts[("AV3", "a")].result.p == pytest.approx(  # type: ignore[union-attr]
        sps.ttest_1samp(data.configs[("vae", "")].values["sharpness"], 0.5).pvalue)


def test_a_contradicted_part_and_a_diverged_configuration(tmp_path: Path) -> None:
    """Khan: began-lsm beats vae-began (KH1 contradicted); bigan has 2 of 5 finished seeds (diverged): every part
    with bigan is "not testable (diverged)" and still counts in m = 6 with p = 1."""
    rs = [*rows(pf.KH, "vae-began", {"is_domain": noise(5.0, 1)}), *rows(pf.KH, "began-lsm", {"is_domain": noise(6.0, 2)}),
          *rows(pf.KH, "dcgan", {"is_domain": noise(4.0, 3)}),
          *rows(pf.KH, "bigan", {"is_domain": noise(4.5, 4, n=2)}, diverged=(2, 3, 4))]
    write(tmp_path, pf.KH, rs)
    data = pf.load_table(tmp_path, pf.KH, REAL)
    assert data is not None
    ev = pf.evaluate(data, pf.KH)
    v = {f.id: verdict for f, _, verdict in ev.findings}
    assert v["KH1"] == "contradicted" and v["KH2"] == "not testable (diverged)"
    assert len(ev.family) == 6 and sorted(ev.p_raw.values()).count(1.0) == 3
    parts = {(f.id, pr.part.label): pr for f, prs, _ in ev.findings for pr in prs}
    assert parts[("KH2", "2")].verdict == "held"  # vae-began 5.0 > dcgan 4.0
    # the three computed p's Holm-adjusted with m = 6 (the three bigan tests at p = 1 stay in the family)
    computed = [parts[k].result.p for k in (("KH1", ""), ("KH2", "2"), ("KH2", "4"))]  # type: ignore[union-attr]
    assert [parts[k].p_holm for k in (("KH1", ""), ("KH2", "2"), ("KH2", "4"))] == pytest.approx(
        ss.holm([*computed, 1.0, 1.0, 1.0])[:3])


def sweep_rows() -> list[dict[str, object]]:
    """α-GAN's sweep in miniature: wgan-gp's best critic_w setting is lr 3e-4; alpha-gan's lr 5e-4 would be best
    but has 1 of 3 finished seeds (diverged), so its best is 1e-4."""
    out: list[dict[str, object]] = []
    spec = {("wgan-gp", 1e-4): 1.0, ("wgan-gp", 2e-4): 1.5, ("wgan-gp", 3e-4): 2.0,
            ("dcgan", 1e-4): 0.6, ("dcgan", 2e-4): 0.8, ("dcgan", 3e-4): 0.7,
            ("alpha-gan", 1e-4): 1.2, ("age", 1e-4): 0.9, ("age", 2e-4): 1.1, ("age", 5e-4): 0.5}
    for i, ((model, lr), c) in enumerate(spec.items()):
        vals = noise(c, i, n=3, scale=0.02)
        out += rows(pf.AG, model, {"critic_w": vals, "is_domain": [v * 3 for v in vals], "mse": noise(0.05, i, 3)}, lr)
    out += rows(pf.AG, "alpha-gan", {"critic_w": [9.0], "is_domain": [9.0], "mse": [0.01]}, 5e-4, diverged=(1, 2))
    return out


def test_sweep_tests_use_each_model_s_best_setting_and_never_a_diverged_one(tmp_path: Path) -> None:
    write(tmp_path, pf.AG, sweep_rows())
    data = pf.load_table(tmp_path, pf.AG, REAL)
    assert data is not None and data.is_sweep()
    ev = pf.evaluate(data, pf.AG)
    parts = {(f.id, pr.part.label): pr for f, prs, _ in ev.findings for pr in prs}
    ag2 = parts[("AG2", "1")]  # wgan-gp vs alpha-gan on critic_w
    assert [s.setting for s in ag2.sides] == ["0.0003", "0.0001"]
    assert ag2.verdict == "held"
    # AG1: every non-DCGAN job (3·3 wgan-gp + 3 + 1 alpha-gan + 3·3 age = 22 finished) above DCGAN's best job
    # (≈ 0.8 + noise); count by hand from the summary and p = C(22, K)/C(31, K)
    df = pd.DataFrame(sweep_rows())
    cw = df[(df["metric"] == "critic_w") & (df["status"] == "completed")]
    best = cw[cw["model"] == "dcgan"]["value"].max()
    named = cw[cw["model"] != "dcgan"]["value"]
    k = int((named > best).sum())
    ag1 = parts[("AG1", "")]
    assert ag1.result is not None and (ag1.result.k, ag1.result.n_a, ag1.result.n_b) == (k, 22, 9)
    from math import comb

    assert ag1.result.p == pytest.approx(comb(22, k) / comb(31, k))
    # AG5's spread: every finished job of alpha-gan (4) against wgan-gp's (9)
    ag5 = parts[("AG5", "")]
    assert ag5.result is not None and (ag5.result.n_a, ag5.result.n_b) == (4, 9)
    a = cw[cw["model"] == "alpha-gan"]["value"].to_numpy()
    w = cw[cw["model"] == "wgan-gp"]["value"].to_numpy()
    assert ag5.result.p == pytest.approx(sps.levene(a, w, center="median").pvalue)
    assert len(ev.family) == 12


def test_part_verdict_words() -> None:
    from bench.report.plan_tests import TestResult

    eq = pf.Part("", "eq", "critic_w", "a", "b")
    r = TestResult(0.2, 0.5, 0.3, 0.7, 3, 3, 1.5, 1.0, delta=0.1)
    assert pf.part_verdict(eq, r, 0.2, "") == "not competitive at this margin"  # [0.3, 0.7] wholly beyond δ 0.1
    r2 = TestResult(0.2, 0.05, -0.05, 0.15, 3, 3, 1.05, 1.0, delta=0.1)
    assert pf.part_verdict(eq, r2, 0.2, "") == "not decided"
    assert pf.part_verdict(eq, r2, 0.01, "") == "equivalent within 10 %"
    ni = pf.Part("", "ni", "mse", "a", "b")
    assert pf.part_verdict(ni, TestResult(0.3, 0.02, 0.012, 0.03, 5, 5, 0.07, 0.05, delta=0.005), 0.3, "") == "inferior"
    assert pf.part_verdict(pf.Part("", "dd", "fd_domain", "a", "b"), r, 0.01, "").startswith("difference detected")
    assert pf.part_verdict(pf.Part("", "d", "mse", "a", "b", "<"), None, 1.0, "diverged") == "not testable (diverged)"


def test_ex_needs_most_of_the_jobs_as_well_as_holm() -> None:
    from bench.report.plan_tests import TestResult, exceed_p

    ex = pf.Part("", "ex", "critic_w", "wgan-gp,alpha-gan,age", "dcgan", ">")
    # K = 12 of 24: p = C(24, 12)/C(33, 12) = 2704156/354817320 = 0.00762 < 0.05, but 12 is not "most" of 24
    p12 = exceed_p(24, 9, 12)
    assert p12 == pytest.approx(2704156 / 354817320)
    assert pf.part_verdict(ex, TestResult(p12, 12, np.nan, np.nan, 24, 9, 1.0, 0.5, k=12), p12, "") == "not established"
    p13 = exceed_p(24, 9, 13)
    assert pf.part_verdict(ex, TestResult(p13, 13, np.nan, np.nan, 24, 9, 1.0, 0.5, k=13), p13 * 2, "") == "held"
