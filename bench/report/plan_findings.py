"""The Fashion-MNIST edition's registered findings (docs/study-plan.md §8) as data, and their evaluation.

Each :class:`PlanFinding` carries the plan's ID (AV1–AV6, ID1–ID6, AS1–AS6, KH1–KH2, AG1–AG8), the quotes as
the plan copies them, the plan's reading, and its parts: one registered test each (:mod:`bench.report.plan_tests`
for the kinds). A test that two findings share (AV4 = AV1a, AV5's first = AV1b, ID4's first = ID1a, ID5 = ID4's
idvae vs alpha-gan) is one test: :meth:`Part.key` identifies it, and Holm runs within each table over the
distinct keys of the registered family (m = 10 or 12 with LPIPS, 23, 12, 6, 12).

Readings made here where the plan leaves a detail open (each stated in the report):

* A registered test that cannot be computed (a diverged configuration, a missing model) stays in its table's
  family with p = 1: the family is fixed before the data, so m never shrinks after the fact. LPIPS is the one
  exception the plan names: when it is not measured, its two parts leave the family (m = 10, not 12).
* A finding held = every part holds (intersection–union; eq parts hold as "equivalent within 10 %"); contradicted
  = some part is contradicted; not testable (diverged) = some part involves a diverged configuration; otherwise
  "not established" with the count of parts held. A one-part finding reads its part's verdict.
* α-GAN sweep tests (d, eq) use each model's best learning-rate setting on the tested metric among its
  non-diverged settings (≥ 2 of 3 seeds finished); sp and ex use every finished job of the models (every point
  of the box plot).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from bench.report import plan_tests as pt
from bench.report import stats
from bench.report import study_stats as ss
from bench.report.load import read_summary

ALPHA = 0.05
Kind = Literal["d", "dd", "eq", "ni", "r", "sp", "ex"]
SWEEP_TABLE = "alphagan"
MIN_FINISHED = {5: 3, 3: 2}  # §6: fewer than 3 of 5 (sweep: 2 of 3) finished seeds → the configuration diverged


@dataclass(frozen=True)
class Part:
    """One registered test. ``op``: the stated direction of a against b (d, r: values; sp: standard deviations;
    ex: the named jobs above b's best); ``a`` of an ex part lists the named models ("x,y,z"); ``b_table``: the
    table whose runs give b (AS6's vae-gan from IDVAE Table 1). ``kind`` "dd" is ID5's: the d test read as
    "a difference detected or not" without a direction."""

    label: str
    kind: Kind
    metric: str
    a: str
    b: str = ""
    op: str = ""
    b_table: str = ""

    def key(self) -> tuple[str, str, str, str]:
        """What makes two parts one test: a two-sided d test is the same whichever side is named first."""
        kind = "d" if self.kind == "dd" else self.kind
        b = f"{self.b}@{self.b_table}" if self.b_table else self.b
        if kind == "d":
            a, b = sorted((self.a, b))
            return kind, self.metric, a, b
        return kind, self.metric, self.a, b

    def models(self) -> list[str]:
        return [m for m in (*self.a.split(","), self.b) if m]

    def text(self) -> str:
        b = self.b + (f" ({self.b_table}'s run)" if self.b_table else "")
        if self.kind == "r":
            return f"{self.kind}: `{self.metric}` {self.a} {self.op} real test images"
        if self.kind == "ex":
            return f"ex: `{self.metric}` jobs of {self.a.replace(',', ', ')} above {b}'s best job"
        if self.kind == "sp":
            return f"sp: `{self.metric}` SD over {self.a}'s jobs {self.op} SD over {b}'s"
        rel = {"eq": "≈ (equivalent within 10 %)", "ni": "≤ (better than or at par)", "dd": "vs"}.get(self.kind, self.op)
        return f"{self.kind if self.kind != 'dd' else 'd'}: `{self.metric}` {self.a} {rel} {b}"


@dataclass(frozen=True)
class PlanFinding:
    id: str
    table: str
    quotes: tuple[tuple[str, str], ...]  # (where, text as the plan copies it)
    parts: tuple[Part, ...]
    reading: str = ""
    k_min: int = 0  # ex: the count the plan names for "most" (AG1: 13 of 24 = more than half, as applied)


def _d(label: str, metric: str, a: str, op: str, b: str, b_table: str = "") -> Part:
    return Part(label, "d", metric, a, b, op, b_table)


AV, ID, AS, KH, AG = "avae_table1", "idvae_table1", "avaes_table3", "khan_table1", SWEEP_TABLE
FD, MSE = "fd_domain", "mse"

FINDINGS: tuple[PlanFinding, ...] = (
    # ---- AVAE Table I (Plumerault et al.) ----
    PlanFinding("AV1", AV, (("§V-C", "Globally, our model exhibits a good compromise between accurate reconstructions "
                                      "(MSE and LPIPS) and realism (FID), thus combining the best of VAE and GAN."),),
                (_d("a", MSE, "avae", "<", "bigan"), _d("b", MSE, "avae", "<", "vae-gan"), _d("c", FD, "avae", "<", "vae"),
                 _d("d", "lpips", "avae", "<", "bigan"), _d("e", "lpips", "avae", "<", "vae-gan")),
                "\"our model\" = avae; compromise = better reconstructions than the adversarial hybrids and better "
                "samples than the VAE; held if all parts hold"),
    PlanFinding("AV2", AV, (("Abstract", "… an auto-encoding model that keeps VAEs properties while generating images "
                                         "of GAN-quality."),
                            ("§I", "… to produce samples of comparable quality as those generated by a GAN while "
                                   "allowing high fidelity reconstructions when used as an auto-encoder."),
                            ("§V-B", "We can see on these figures that generated images are of comparable quality of "
                                     "GAN generated images for both generation and reconstructions.")),
                (Part("", "eq", FD, "avae", "dcgan"),)),
    PlanFinding("AV3", AV, (("§V-B", "VAE reconstructions and generated samples look blurry, …"),),
                (Part("a", "r", "sharpness", "vae", "", "<"), Part("b", "r", "sharpness_recon", "vae", "", "<"))),
    PlanFinding("AV4", AV, (("§V-B", "… BiGAN generated images are of good quality but reconstructions are not "
                                     "accurate."),),
                (_d("", MSE, "bigan", ">", "avae"),), "= AV1a, counted once; \"good quality\" names no comparison: not tested"),
    PlanFinding("AV5", AV, (("§V-B", "However, while our judgment is subjective, we find that reconstructions produced "
                                     "by VAE/GAN are less accurate than ours and images are less realistic than with "
                                     "GAN, BiGAN or our approach."),),
                (_d("a", MSE, "vae-gan", ">", "avae"), _d("b", FD, "vae-gan", ">", "dcgan"),
                 _d("c", FD, "vae-gan", ">", "bigan"), _d("d", FD, "vae-gan", ">", "avae")),
                "the mse part = AV1b, counted once"),
    PlanFinding("AV6", AV, (("§V-C", "… the MSE is favorable to the VAE model because it is the loss used to train "
                                     "it."),),
                (_d("", MSE, "vae", "<", "avae"),)),
    # ---- IDVAE Table 1 (Munjal et al.) ----
    PlanFinding("ID1", ID, (("§5.1", "The reconstruction loss of IDVAE(R) is the best among all the variants of VAE, "
                                     "However, this comes at the cost of quality of the generations."),
                            ("§5.1", "We also observe a dip in the Fréchet distance for the IDVAE(R) model in "
                                     "comparison to IDVAE. As the decoder/generator of IDVAE(R) focuses on "
                                     "reconstructions in the image space we observe a drop in the Fréchet distance at "
                                     "the cost of a better reconstruction loss.")),
                (_d("a", FD, "idvae-r", ">", "idvae"), _d("b1", MSE, "idvae-r", "<", "idvae"),
                 _d("b2", MSE, "idvae-r", "<", "vae-gan"), _d("b3", MSE, "idvae-r", "<", "age"),
                 _d("b4", MSE, "idvae-r", "<", "alpha-gan")),
                "\"dip\"/\"drop\" read as a drop in quality; \"variants of VAE\" = the hybrids (ID3 gives the VAE)"),
    PlanFinding("ID2", ID, (("§5.1", "It is evident from the results presented in Figure 3 that for the reconstruction "
                                     "task IDVAE performs better than or is at par with VAE-GAN, AGE and α-GAN."),),
                tuple(Part(str(i), "ni", MSE, "idvae", b) for i, b in enumerate(("vae-gan", "age", "alpha-gan"), 1))),
    PlanFinding("ID3", ID, (("§5.1", "However the lowest reconstruction error is obtained by VAE."),),
                tuple(_d(str(i), MSE, "vae", "<", b) for i, b in
                      enumerate(("idvae", "idvae-r", "vae-gan", "age", "alpha-gan"), 1))),
    PlanFinding("ID4", ID, (("§1", "In this work we show that our proposed simpler hybrid VAE/GAN model, IDVAE "
                                   "outperforms the prior approaches in terms of visual fidelity measured in terms of "
                                   "FID score."),
                            ("Abstract", "The qualitative and quantitative experiments on real-world benchmark datasets "
                                         "demonstrates that IDVAE perform better than the state of the art hybrid "
                                         "approaches."),
                            ("§5.1", "IDVAE performs better than all the other approaches on the CelebA dataset.")),
                tuple(_d(str(i), FD, "idvae", "<", b) for i, b in
                      enumerate(("idvae-r", "vae-gan", "vae", "age", "alpha-gan"), 1)),
                "the idvae-r part = ID1a, counted once"),
    PlanFinding("ID5", ID, (("§5.1", "On the other hand both IDVAE and α-GAN result in the best performance on the "
                                     "CIFAR10 dataset. There is no significant difference between IDVAE and α-GAN with "
                                     "each performing better than the other only according to a single measure."),),
                (Part("", "dd", FD, "idvae", "alpha-gan"),),
                "ID4's idvae vs alpha-gan test (no new test): a difference matches CelebA's sentence, none "
                "CIFAR-10's (\"no difference detected\", not equivalence)"),
    PlanFinding("ID6", ID, (("§5.2", "It is quite evident from the images that VAE results in blurry reconstructions "
                                     "while the rest of the approaches output sharp images, which is due to presence of "
                                     "adversarial loss. On both CelebA and CIFAR10 datasets, we observe IDVAE and "
                                     "IDVAE(R) performing on par with VAE-GAN and α-GAN, while significantly "
                                     "outperforming VAE in terms of sharpness of the images."),),
                (_d("1", "sharpness_recon", "idvae", ">", "vae"), _d("2", "sharpness_recon", "idvae-r", ">", "vae"),
                 Part("3", "eq", "sharpness_recon", "idvae", "vae-gan"),
                 Part("4", "eq", "sharpness_recon", "idvae", "alpha-gan"),
                 Part("5", "eq", "sharpness_recon", "idvae-r", "vae-gan"),
                 Part("6", "eq", "sharpness_recon", "idvae-r", "alpha-gan")),
                "Table 2 shows reconstructions: sharpness_recon"),
    # ---- AVAE-S Tables II–III (Naderi et al.) ----
    PlanFinding("AS1", AS, (("§III", "As we can see from the table, our specialized loss function for VAE improves the "
                                     "overall sharpness and reconstruction quality of generated images."),),
                (_d("a", "sharpness_recon", "vae-s", ">", "vae"), _d("b", MSE, "vae-s", "<", "vae"),
                 _d("c", "cosine", "vae-s", ">", "vae"))),
    PlanFinding("AS2", AS, (("§III", "Additionally, the adversarial fine-tuning takes it a step further to make crisp "
                                     "and realistic images."),),
                (_d("a", "sharpness_recon", "avae-s", ">", "vae-s"), _d("b", "fd_domain_recon", "avae-s", "<", "vae-s"))),
    PlanFinding("AS3", AS, (("§III (Fig. 3)", "Moreover, the adversarial fine-tuning improves the generation and "
                                              "reconstruction quality."),),
                (_d("a", FD, "avae-ft", "<", "vae"), _d("b", MSE, "avae-ft", "<", "vae"),
                 _d("c", FD, "avae-s", "<", "vae-s"), _d("d", MSE, "avae-s", "<", "vae-s"))),
    PlanFinding("AS4", AS, (("§III", "Even though the obtained results are not consistent and highly sensitive to the "
                                     "depth of the selected activations layer in the Inception network, Table II shows "
                                     "that AVAE-S has improved the VAE’s FID scores significantly in all cases."),),
                (_d("", "fd_domain_recon", "avae-s", "<", "vae"),)),
    PlanFinding("AS5", AS, (("Abstract", "AVAE-S shares many of the good properties of the VAE (stable training, "
                                         "encoder-decoder architecture, nice latent manifold structure) while "
                                         "generating more realistic images, as measured by the sharpness score."),),
                (_d("", "sharpness", "avae-s", ">", "vae"),)),
    PlanFinding("AS6", AS, (("§III", "In terms of sharpness, our AVAE-S model outperforms state-of-the-art VAE models "
                                     "such as RAE [7], WAE [26], and hybrid VAE/GAN [17] networks."),),
                (_d("", "sharpness_recon", "avae-s", ">", "vae-gan", ID),),
                "vae-gan is IDVAE Table 1's run (same shared setting, amortised σ_z; borrowed); RAE, WAE: not run"),
    # ---- Khan et al. Table 1 ----
    PlanFinding("KH1", KH, (("§5.3", "Our quantitative results show the significance of using a learned similarity "
                                     "metric which provides significant improvement over the BEGAN [4] approach. The "
                                     "proposed model with the inclusion of VAE with additional constraints on the "
                                     "latent representations lead to the significantly better performance compared to "
                                     "the closely related BEGAN."),),
                (_d("", "is_domain", "vae-began", ">", "began-lsm"),),
                "plain BEGAN (5.62) is not run; the nearest test is the ablation, the VAE inclusion"),
    PlanFinding("KH2", KH, (("Table 1 (Inception score, CIFAR-10)", "\"Ours (VAE + BEGAN* + LSM) 6.80\", \"Ours "
                                                                   "(BEGAN* + LSM) 6.12\", \"ALI (ICLR'17) [5] 5.34\", "
                                                                   "\"DCGAN (ICLR'16) [25] 4.89\""),),
                (_d("1", "is_domain", "vae-began", ">", "bigan"), _d("2", "is_domain", "vae-began", ">", "dcgan"),
                 _d("3", "is_domain", "began-lsm", ">", "bigan"), _d("4", "is_domain", "began-lsm", ">", "dcgan"),
                 _d("5", "is_domain", "bigan", ">", "dcgan")),
                "the table's order; ALI and DCGAN quoted by Khan from other papers (flagged \"quoted\")"),
    # ---- α-GAN's comparison on the lr sweep (Rosca et al.) ----
    PlanFinding("AG1", AG, (("§6, Results on ColorMNIST, Fig. 2(a)", "On this metric, most of hyperparameters tried "
                                                                     "achieve a higher value than the best DC-GAN "
                                                                     "results."),),
                (Part("", "ex", "critic_w", "wgan-gp,alpha-gan,age", "dcgan", ">"),),
                "\"hyperparameters tried\" = every non-DCGAN job (24); holds when K ≥ 13 and Holm p < 0.05; "
                "α-GAN's own count (of 6) shown beside, not tested", k_min=13),
    PlanFinding("AG2", AG, (("§6, ColorMNIST", "However, WGAN-GP produces the samples rated best by this metric."),
                            ("§6, CelebA", "… the WGAN-GP model, which produces the best results."),
                            ("§6, CIFAR-10, Fig. 2(c)", "We evaluate α-GAN using the independent critic, shown in "
                                                        "Figure 2(c), where WGAN-GP is the best performing model.")),
                tuple(_d(str(i), "critic_w", "wgan-gp", ">", b) for i, b in enumerate(("alpha-gan", "age", "dcgan"), 1)),
                "best settings; all must hold"),
    PlanFinding("AG3", AG, (("§6, Results on CelebA, Fig. 2(b)", "α-GAN is competitive with WGAN-GP and AGE, but has a "
                                                                 "wider spread than the WGAN-GP model, which produces "
                                                                 "the best results."),),
                (Part("", "eq", "critic_w", "alpha-gan", "wgan-gp"),), "best settings"),
    PlanFinding("AG4", AG, (("§6, Results on CelebA, Fig. 2(b)", "α-GAN is competitive with WGAN-GP and AGE, but has a "
                                                                 "wider spread than the WGAN-GP model, which produces "
                                                                 "the best results."),),
                (Part("", "eq", "critic_w", "alpha-gan", "age"),), "best settings"),
    PlanFinding("AG5", AG, (("§6, Results on CelebA, Fig. 2(b)", "wider spread"),),
                (Part("", "sp", "critic_w", "alpha-gan", "wgan-gp", ">"),), "SD over α-GAN's 6 jobs > WGAN-GP's 9"),
    PlanFinding("AG6", AG, (("§6, Results on CIFAR-10, Fig. 5(c)", "While our model produces the best Inception score "
                                                                   "result on the ImageNet-based inception score, it "
                                                                   "has wide spread on the CIFAR-10 Inception score, "
                                                                   "where WGAN-GP both performs best, and has less "
                                                                   "hyperparameter spread."),),
                tuple(_d(str(i), "is_domain", "wgan-gp", ">", b) for i, b in enumerate(("alpha-gan", "age", "dcgan"), 1)),
                "best settings; all must hold; the ImageNet-based part: not testable offline"),
    PlanFinding("AG7", AG, (("§6, Results on CIFAR-10, Fig. 5(c)", "less hyperparameter spread"),),
                (Part("", "sp", "is_domain", "wgan-gp", "alpha-gan", "<"),)),
    PlanFinding("AG8", AG, (("§6, Results on CelebA", "Appendix C shows that α-GAN produces better reconstructions "
                                                      "than AGE."),),
                (_d("", MSE, "alpha-gan", "<", "age"),),
                "each at its best setting by mse; recon_class_acc and fd_domain_recon shown beside, descriptive"),
)

TABLE_ORDER = (AV, ID, AS, KH, AG)

# §8, IDVAE: "Not a finding of the paper": the suite's own hypothesis (#26, PROTOCOLS §5c), outside the family
EXPLORATORY: dict[str, tuple[Part, ...]] = {
    ID: (_d("x1", "sharpness", "idvae-r", "<", "idvae"), _d("x2", "sharpness_recon", "idvae-r", "<", "idvae")),
}
# §8, AG8: shown beside, descriptive
BESIDE: dict[str, tuple[str, ...]] = {AG: ("recon_class_acc", "fd_domain_recon")}


def findings_of(table: str) -> list[PlanFinding]:
    return [f for f in FINDINGS if f.table == table]


def family(table: str, lpips: bool = True) -> list[tuple[str, str, str, str]]:
    """The distinct registered tests of ``table`` (Holm's family), in order of first registration; without
    ``lpips`` the LPIPS parts are left out (the plan's m = 10 for AVAE Table I)."""
    keys = [p.key() for f in findings_of(table) for p in f.parts if lpips or p.metric != "lpips"]
    return list(dict.fromkeys(keys))


# ---- the data of a table -------------------------------------------------------------------------------
@dataclass
class Config:
    """One configuration's runs: its finished values per metric (seed order) and its run counts."""

    values: dict[str, list[float]] = field(default_factory=dict)
    n_runs: int = 0
    n_completed: int = 0
    n_diverged: int = 0

    def diverged(self, planned: int) -> bool:
        return self.n_completed < MIN_FINISHED.get(planned, math.ceil(planned / 2))


def configs(summary: pd.DataFrame) -> dict[tuple[str, str], Config]:
    """(model, setting) → :class:`Config`; the setting is the learning rate where a model of the summary runs at
    several (the sweep), '' elsewhere."""
    df = summary.copy()
    df["setting"] = ""
    if "hp.lr" in df.columns:
        for _, g in df.groupby("model"):
            if g["hp.lr"].nunique() > 1:
                df.loc[g.index, "setting"] = g["hp.lr"].map(lambda v: f"{float(v):g}")
    out: dict[tuple[str, str], Config] = {}
    for (model, setting), g in df.groupby(["model", "setting"], sort=False):
        runs = g.drop_duplicates("run_id")
        c = Config(n_runs=len(runs), n_completed=int((runs["status"] == "completed").sum()),
                   n_diverged=int((runs["status"] == "diverged").sum()))
        ok = g[(g["status"] == "completed") & g["value"].notna() & (g["metric"].astype(str) != "")]
        for metric, m in ok.groupby("metric"):
            c.values[str(metric)] = [float(v) for v in m.sort_values("seed")["value"]]
        out[(str(model), str(setting))] = c
    return out


@dataclass
class TableData:
    """A table's configurations, the number of seeds planned per configuration, and the real-data values."""

    configs: dict[tuple[str, str], Config]
    planned: int
    real: dict[str, float]
    borrowed: dict[str, dict[tuple[str, str], Config]] = field(default_factory=dict)  # table → its configs

    def is_sweep(self) -> bool:
        return any(s for _, s in self.configs)

    def settings(self, model: str, table: str = "") -> dict[str, Config]:
        src = self.borrowed.get(table, {}) if table else self.configs
        return {s: c for (m, s), c in src.items() if m == model}


def load_table(out: Path, table: str, real: Mapping[str, float], planned: int | None = None) -> TableData | None:
    path = out / table / "summary.csv"
    if not path.exists():
        return None
    cfg = configs(read_summary(path))
    if planned is None:
        planned = 3 if table == SWEEP_TABLE else 5
    borrowed = {}
    for p in (p for f in findings_of(table) for p in f.parts if p.b_table):
        other = out / p.b_table / "summary.csv"
        if other.exists():
            borrowed[p.b_table] = configs(read_summary(other))
    return TableData(cfg, planned, dict(real), borrowed)


# ---- evaluation ------------------------------------------------------------------------------------------
@dataclass
class Side:
    """The values one side of a test uses, the setting chosen (sweep), or why it cannot be used."""

    values: list[float]
    setting: str = ""
    missing: str = ""  # "" | "diverged" | "missing"


def best_setting(settings: dict[str, Config], metric: str, planned: int) -> tuple[str, Config] | None:
    """The best non-diverged setting on ``metric`` (highest seed mean; lowest for a distance)."""
    ok = {s: c for s, c in settings.items() if not c.diverged(planned) and len(c.values.get(metric, [])) >= 2}
    if not ok:
        return None
    lower = stats.direction(metric) == "lower"
    key = {s: sum(c.values[metric]) / len(c.values[metric]) for s, c in ok.items()}
    s = min(key, key=key.__getitem__) if lower else max(key, key=key.__getitem__)
    return s, ok[s]


def side(data: TableData, model: str, metric: str, all_jobs: bool = False, table: str = "") -> Side:
    settings = data.settings(model, table)
    if not settings:
        return Side([], missing="missing")
    if all_jobs:  # sp, ex: every finished job (a point of the box plot), whatever its setting
        vals = [v for c in settings.values() for v in c.values.get(metric, [])]
        return Side(vals, missing="" if vals else "diverged")
    if len(settings) > 1 or data.is_sweep():
        best = best_setting(settings, metric, data.planned)
        return Side([], missing="diverged") if best is None else Side(best[1].values[metric], best[0])
    (c,) = settings.values()
    if c.diverged(data.planned):
        return Side([], missing="diverged")
    vals = c.values.get(metric, [])
    return Side(vals, missing="" if len(vals) >= 2 else "missing")


def run_test(part: Part, data: TableData) -> tuple[pt.TestResult | None, list[Side], str]:
    """The raw test of ``part`` on ``data``; None with the reason ("diverged", "missing") when not computable."""
    lower = stats.direction(part.metric) == "lower"
    if part.kind == "r":
        a = side(data, part.a, part.metric)
        if a.missing or part.metric not in data.real:
            return None, [a], a.missing or "missing"
        return pt.r_test(a.values, data.real[part.metric]), [a], ""
    if part.kind == "ex":
        sides = [side(data, m, part.metric, all_jobs=True) for m in part.a.split(",")]
        b = side(data, part.b, part.metric, all_jobs=True)
        if b.missing or all(s.missing for s in sides):
            return None, [*sides, b], b.missing or "diverged"
        return pt.ex_test([v for s in sides for v in s.values], b.values, part.op == ">"), [*sides, b], ""
    jobs = part.kind == "sp"
    a, b = side(data, part.a, part.metric, jobs), side(data, part.b, part.metric, jobs, part.b_table)
    why = a.missing or b.missing
    if why:
        return None, [a, b], why
    res = {"d": pt.d_test, "dd": pt.d_test, "eq": pt.eq_test, "sp": pt.sp_test}.get(part.kind)
    r = pt.ni_test(a.values, b.values, lower) if part.kind == "ni" else res(a.values, b.values)  # type: ignore[misc]
    return r, [a, b], "" if r is not None else "missing"


@dataclass
class PartResult:
    finding: str
    part: Part
    result: pt.TestResult | None
    sides: list[Side]
    p_holm: float
    verdict: str


def part_verdict(part: Part, r: pt.TestResult | None, p_holm: float, why: str) -> str:
    """The plan's words (§8, §9) for one part."""
    if r is None:
        return "not testable (diverged)" if why == "diverged" else f"not testable ({why or 'missing'})"
    sig = p_holm < ALPHA
    if part.kind == "eq":
        if sig:
            return "equivalent within 10 %"
        outside = r.lo > r.delta or r.hi < -r.delta
        return "not competitive at this margin" if outside else "not decided"
    if part.kind == "ni":
        if sig:
            return "held"
        lower = stats.direction(part.metric) == "lower"
        return "inferior" if (r.lo > r.delta if lower else r.hi < -r.delta) else "not decided"
    if part.kind == "dd":
        return ("difference detected (as the CelebA sentence)" if sig
                else "no difference detected (as the CIFAR-10 sentence; not equivalence)")
    if part.kind == "ex":  # "most": more than half of the named finished jobs (the plan's 13 of 24)
        return "held" if sig and r.k >= r.n_a // 2 + 1 else "not established"
    # d, r: the sign of a − b (or mean − real); sp: the SD ratio against 1
    stated = (r.diff > 1 if part.op == ">" else r.diff < 1) if part.kind == "sp" else \
        (r.diff > 0 if part.op == ">" else r.diff < 0)
    if not sig:
        return "not established (tie)"
    return "held" if stated else "contradicted"


HOLDS = ("held", "equivalent within 10 %")


def finding_verdict(parts: list[PartResult]) -> str:
    counted = [p for p in parts if p.verdict != "not testable (LPIPS not measured)"]
    if not counted:
        return "not testable"
    if len(counted) == 1:
        return counted[0].verdict
    if any(p.verdict == "not testable (diverged)" for p in counted):
        return "not testable (diverged)"
    if any(p.verdict.startswith("not testable") for p in counted):
        return "not testable"
    if all(p.verdict in HOLDS for p in counted):
        return "held"
    if any(p.verdict == "contradicted" for p in counted):
        return "contradicted"
    return f"not established ({sum(p.verdict in HOLDS for p in counted)} of {len(counted)} parts held)"


@dataclass
class TableEvaluation:
    table: str
    family: list[tuple[str, str, str, str]]
    p_raw: dict[tuple[str, str, str, str], float]
    p_holm: dict[tuple[str, str, str, str], float]
    findings: list[tuple[PlanFinding, list[PartResult], str]]
    lpips: bool


def evaluate(data: TableData, table: str) -> TableEvaluation:
    """Every registered test of ``table`` once, Holm over the family (an uncomputable test enters with p = 1),
    and each part's and finding's verdict."""
    lpips = any("lpips" in c.values for c in data.configs.values())
    keys = family(table, lpips)
    raw: dict[tuple[str, str, str, str], tuple[pt.TestResult | None, list[Side], str]] = {}
    for f in findings_of(table):
        for p in f.parts:
            if p.key() in keys and p.key() not in raw:
                raw[p.key()] = run_test(p, data)
    p_raw = {k: (raw[k][0].p if raw[k][0] is not None else 1.0) for k in keys}
    adj = dict(zip(keys, ss.holm([p_raw[k] for k in keys]), strict=True)) if keys else {}
    found = []
    for f in findings_of(table):
        prs = []
        for p in f.parts:
            if p.key() not in keys:
                prs.append(PartResult(f.id, p, None, [], math.nan, "not testable (LPIPS not measured)"))
                continue
            r, sides, why = run_test(p, data)  # oriented as this part names a and b; the p is the shared test's
            prs.append(PartResult(f.id, p, r, sides, adj[p.key()], part_verdict(p, r, adj[p.key()], why)))
        found.append((f, prs, finding_verdict(prs)))
    return TableEvaluation(table, keys, p_raw, adj, found, lpips)


def exploratory(data: TableData, table: str) -> list[PartResult]:
    """The table's exploratory tests (:data:`EXPLORATORY`): d, unadjusted (p_holm is the raw p)."""
    out = []
    for p in EXPLORATORY.get(table, ()):
        r, sides, why = run_test(p, data)
        raw = r.p if r is not None else math.nan
        out.append(PartResult("exploratory", p, r, sides, raw, part_verdict(p, r, raw, why)))
    return out


def beside(data: TableData, table: str) -> list[PartResult]:
    """AG8's metrics shown beside (:data:`BESIDE`): alpha-gan vs age on each, both at their best setting by
    mse (AG8's settings); Welch's d, unadjusted, no verdict."""
    out = []
    for metric in BESIDE.get(table, ()):
        sides = []
        for model in ("alpha-gan", "age"):
            best = best_setting(data.settings(model), MSE, data.planned)
            vals = best[1].values.get(metric, []) if best is not None else []
            sides.append(Side(vals, best[0] if best is not None else "", "" if len(vals) >= 2 else "missing"))
        r = pt.d_test(sides[0].values, sides[1].values) if not any(s.missing for s in sides) else None
        out.append(PartResult("AG8 beside", Part("", "dd", metric, "alpha-gan", "age"), r, sides,
                              r.p if r is not None else math.nan, "descriptive"))
    return out


def evaluation_frame(ev: TableEvaluation) -> pd.DataFrame:
    """One row per part: the finding, the test, numbers and verdicts (findings.csv of the edition)."""
    rows = []
    for f, prs, fv in ev.findings:
        for pr in prs:
            r = pr.result
            rows.append({"table": ev.table, "finding": f.id, "part": pr.part.label, "kind": pr.part.kind,
                         "test": pr.part.text(), "setting": "; ".join(f"{s.setting}" for s in pr.sides if s.setting),
                         "n_a": r.n_a if r else None, "n_b": r.n_b if r else None,
                         "mean_a": r.mean_a if r else None, "mean_b": r.mean_b if r else None,
                         "effect": r.diff if r else None, "lo": r.lo if r else None, "hi": r.hi if r else None,
                         "g": r.g if r else None, "g_lo": r.g_lo if r else None, "g_hi": r.g_hi if r else None,
                         "delta": r.delta if r else None, "p": r.p if r else None, "p_holm": pr.p_holm,
                         "m": len(ev.family), "verdict": pr.verdict, "finding_verdict": fv})
    return pd.DataFrame(rows)
