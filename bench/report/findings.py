"""The papers' stated findings, quoted word for word (#27), and how the study tests each as stated.

Each :class:`Finding` is one sentence of a paper (``/work/shared/papers``; the OCR's "α -GAN" spacing and LaTeX
``$\\alpha$`` are written as "α-GAN"), with where it stands, and its parts:

* ``better``: the paper says ``a`` beats ``b`` on ``metric`` (the suite's stand-in). Tested with Welch's
  t-test over seeds, Holm-corrected within the table's family (:func:`family`): *held* when the Holm p < 0.05 in
  the stated direction, *contradicted* when < 0.05 the other way, else *not established*.
* ``competitive``: an equivalence claim ("competitive with", "no significant difference"): the difference and
  its 95 % interval are reported and no winner is named; the suite *separates* the two when the Holm p < 0.05.
* ``sweep``: a claim about a hyper-parameter sweep (its best job, its spread). The study trains one setting
  per model, so it is *not testable* here; the Fashion-MNIST edition runs α-GAN's learning-rate sweep.
* ``untestable``: a part the study cannot measure (named why).

The family of a table is every pair of its models on every suite metric its rank comparisons or findings use:
fixed before the numbers are read, and the same for the next edition (``family(out, table, published)``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from bench.report import stats
from bench.report import study_stats as ss
from bench.report.published import PublishedValues
from bench.report.study_tables import Seeds, published_rows, table_seeds
from bench.study import StudyTable

ALPHA = 0.05
Kind = Literal["better", "competitive", "sweep", "untestable"]
NO_SWEEP = ("not testable here: a claim about a hyper-parameter sweep, and the digits study trains one setting per "
            "model (the Fashion-MNIST edition runs α-GAN's learning-rate sweep)")


@dataclass(frozen=True)
class Part:
    kind: Kind
    metric: str = ""
    a: str = ""
    b: str = ""
    what: str = ""  # for sweep/untestable parts: what the paper claims


@dataclass(frozen=True)
class Finding:
    table: str
    where: str
    quote: str
    parts: tuple[Part, ...]
    reading: str = ""  # how the study reads the sentence, where it had to choose


def _better(metric: str, a: str, *bs: str) -> tuple[Part, ...]:
    return tuple(Part("better", metric, a, b) for b in bs)


FINDINGS: tuple[Finding, ...] = (
    # ---- AVAE (Plumerault et al.), 000 ----
    Finding("avae_table1", "§V-C (Quantitative results), Table I",
            "Globally, our model exhibits a good compromise between accurate reconstructions (MSE and LPIPS) and "
            "realism (FID), thus combining the best of VAE and GAN.",
            (*_better("fd_domain", "avae", "vae"), *_better("mse", "avae", "vae-gan", "bigan"),
             Part("untestable", what="LPIPS: needs images of at least 31 px (digits are 16 px), not measured")),
            "a compromise read as: AVAE's samples beat the VAE's, its reconstructions beat the adversarial hybrids'"),
    # ---- IDVAE (Munjal et al.), 002 ----
    Finding("idvae_table1", "§1 (Introduction)",
            "In this work we show that our proposed simpler hybrid VAE/GAN model, IDVAE outperforms the prior "
            "approaches in terms of visual fidelity measured in terms of FID score.",
            _better("fd_domain", "idvae", "vae", "vae-gan", "age", "alpha-gan")),
    Finding("idvae_table1", "§5.1, Table 1 (CIFAR-10)",
            "There is no significant difference between IDVAE and α-GAN with each performing better than the other "
            "only according to a single measure.",
            (Part("competitive", "fd_domain", "idvae", "alpha-gan"),)),
    Finding("idvae_table1", "§5.1, Fig. 3",
            "The reconstruction loss of IDVAE(R) is the best among all the variants of VAE, However, this comes at "
            "the cost of quality of the generations.",
            (*_better("mse", "idvae-r", "idvae", "vae"), *_better("fd_domain", "idvae", "idvae-r")),
            "the variants of VAE: IDVAE and the VAE; the cost in generations: IDVAE(R)'s fd_domain above IDVAE's"),
    Finding("idvae_table1", "§5.1, Fig. 3", "However the lowest reconstruction error is obtained by VAE.",
            _better("mse", "vae", "idvae", "idvae-r", "vae-gan", "age", "alpha-gan")),
    # ---- AVAE-S (Naderi et al.), 003 ----
    Finding("avaes_table3", "§III, Table III",
            "As we can see from the table, our specialized loss function for VAE improves the overall sharpness and "
            "reconstruction quality of generated images.",
            (*_better("sharpness_recon", "vae-s", "vae"), *_better("mse", "vae-s", "vae"),
             *_better("cosine", "vae-s", "vae"))),
    Finding("avaes_table3", "§III, Table III",
            "Additionally, the adversarial fine-tuning takes it a step further to make crisp and realistic images.",
            (*_better("sharpness_recon", "avae-s", "vae-s"), *_better("fd_domain_recon", "avae-s", "vae-s")),
            "crisp: sharper reconstructions; realistic: a lower Fréchet distance of reconstructions (Table III)"),
    # ---- Khan et al., 001 ----
    Finding("khan_table1", "§5.2 (Results), Table 1",
            "The proposed model with the inclusion of VAE with additional constraints on the latent representations "
            "lead to the significantly better performance compared to the closely related BEGAN.",
            _better("is_domain", "vae-began", "began-lsm"),
            "the study's BEGAN is the paper's own BEGAN* + LSM row (6.12); plain BEGAN (5.62) is not run"),
    Finding("khan_table1", "Table 1 (Inception score, CIFAR-10)",
            "Table 1: Quantitative comparison on the CIFAR-10 dataset in terms of Inception score.",
            (*_better("is_domain", "vae-began", "began-lsm", "bigan", "dcgan"),
             *_better("is_domain", "began-lsm", "bigan", "dcgan"), *_better("is_domain", "bigan", "dcgan")),
            "the table's order of the four models the study runs: VAE + BEGAN* + LSM 6.80 > BEGAN* + LSM 6.12 > ALI 5.34 "
            "> DCGAN 4.89; ALI's and DCGAN's values are quoted by Khan from [5] and [25], not measured by Khan; the "
            "study's ALI (= BiGAN) and DCGAN runs are AVAE Table I's"),
    # ---- α-GAN (Rosca et al.), 004 ----
    Finding("alphagan", "§5, Results on ColorMNIST, Fig. 2(a)",
            "On this metric, most of hyperparameters tried achieve a higher value than the best DC-GAN results.",
            (Part("sweep", what="most α-GAN settings above DCGAN's best setting on the independent critic"),)),
    Finding("alphagan", "§5, Results on ColorMNIST, Fig. 2(a)",
            "However, WGAN-GP produces the samples rated best by this metric.",
            _better("critic_w", "wgan-gp", "alpha-gan", "dcgan", "age"),
            "best of the sweeps; the study compares one setting per model"),
    Finding("alphagan", "§5, Results on CelebA, Fig. 2(b)",
            "α-GAN is competitive with WGAN-GP and AGE, but has a wider spread than the WGAN-GP model, which "
            "produces the best results.",
            (Part("competitive", "critic_w", "alpha-gan", "wgan-gp"), Part("competitive", "critic_w", "alpha-gan", "age"),
             Part("sweep", what="α-GAN's spread over hyper-parameters wider than WGAN-GP's"),
             *_better("critic_w", "wgan-gp", "alpha-gan", "dcgan", "age"))),
    Finding("alphagan", "§5, Results on CelebA; App. C, Figs. 8-9",
            "Appendix C shows that α-GAN produces better reconstructions than AGE.",
            (*_better("mse", "alpha-gan", "age"), *_better("recon_class_acc", "alpha-gan", "age")),
            "App. C shows training reconstructions as pictures; the suite measures test reconstructions"),
    Finding("alphagan", "§5, Results on CIFAR-10, Fig. 2(c)",
            "We evaluate α-GAN using the independent critic, shown in Figure 2(c), where WGAN-GP is the best "
            "performing model.",
            _better("critic_w", "wgan-gp", "alpha-gan", "dcgan", "age")),
    Finding("alphagan", "§5, Results on CIFAR-10, Fig. 5(c)",
            "While our model produces the best Inception score result on the ImageNet-based inception score, it has "
            "wide spread on the CIFAR-10 Inception score, where WGAN-GP both performs best, and has less "
            "hyperparameter spread.",
            (Part("untestable", what="the ImageNet-based Inception score: no ImageNet network offline"),
             *_better("is_domain", "wgan-gp", "alpha-gan", "dcgan", "age"),
             Part("sweep", what="WGAN-GP's spread over hyper-parameters narrower than α-GAN's"))),
)


def findings_of(table: StudyTable) -> list[Finding]:
    return [f for f in FINDINGS if f.table == table.key]


# ---- the table's family of pairwise tests ------------------------------------------------------------
def family_metrics(table: StudyTable) -> list[str]:
    used = [p.metric for f in findings_of(table) for p in f.parts if p.metric]
    return list(dict.fromkeys([*table.metric_map.values(), *used]))


def family_seeds(out: Path, table: StudyTable, published: PublishedValues) -> tuple[Seeds, dict[str, str]]:
    """The table's seeds, plus the models its findings name taken from other tables; a model the table runs at
    several settings (``model[lr=…]``, a sweep) is never borrowed at another table's setting."""
    from bench.report.load import read_summary
    from bench.report.study_tables import seeds_of

    wanted = [r.model for r in published_rows(table, published)]
    wanted += [m for f in findings_of(table) for p in f.parts for m in (p.a, p.b) if m]
    own = seeds_of(read_summary(out / table.key / "summary.csv"))
    swept = {k.split("[", 1)[0] for k in own if "[" in k}
    return table_seeds(out, table, [m for m in dict.fromkeys(wanted) if m not in swept])


def family(out: str | Path, table: StudyTable, published: PublishedValues) -> pd.DataFrame:
    """Every pair of the table's models (its own, then those borrowed) on every metric of
    :func:`family_metrics`: the difference a − b with its Welch 95 % interval, Hedges' g with its 95 % interval,
    Welch's two-sided p and Holm's adjusted p over the whole family."""
    seeds, borrowed = family_seeds(Path(out), table, published)
    rows = []
    for metric in family_metrics(table):
        have = [m for m in seeds if len(seeds[m].get(metric, [])) >= 2]
        for a, b in itertools.combinations(have, 2):
            d = ss.difference(seeds[a][metric], seeds[b][metric])
            if d is None:
                continue
            rows.append({"metric": metric, "a": a, "b": b, "n_a": len(seeds[a][metric]), "n_b": len(seeds[b][metric]),
                         "mean_a": sum(seeds[a][metric]) / len(seeds[a][metric]),
                         "mean_b": sum(seeds[b][metric]) / len(seeds[b][metric]),
                         "diff": d.diff, "diff_lo": d.diff_lo, "diff_hi": d.diff_hi, "g": d.g, "g_lo": d.g_lo,
                         "g_hi": d.g_hi, "p_welch": d.p, "borrowed": ",".join(m for m in (a, b) if m in borrowed)})
    df = pd.DataFrame(rows, columns=["metric", "a", "b", "n_a", "n_b", "mean_a", "mean_b", "diff", "diff_lo", "diff_hi",
                                     "g", "g_lo", "g_hi", "p_welch", "borrowed"])
    df["p_holm"] = ss.holm(df["p_welch"].tolist()) if len(df) else []
    return df


# ---- verdicts -----------------------------------------------------------------------------------------
@dataclass
class PartResult:
    part: Part
    verdict: str  # held / contradicted / not established / separated / not separated / not testable
    row: dict | None  # the family row, oriented a − b as the part names them


def lookup(fam: pd.DataFrame, metric: str, a: str, b: str) -> dict | None:
    """The family row of (metric, a, b), flipped to read ``a`` − ``b`` when stored the other way."""
    hit = fam[(fam["metric"] == metric) & (fam["a"] == a) & (fam["b"] == b)]
    if len(hit):
        return hit.iloc[0].to_dict()
    hit = fam[(fam["metric"] == metric) & (fam["a"] == b) & (fam["b"] == a)]
    if not len(hit):
        return None
    r = hit.iloc[0].to_dict()
    return {**r, "a": a, "b": b, "n_a": r["n_b"], "n_b": r["n_a"], "mean_a": r["mean_b"], "mean_b": r["mean_a"],
            "diff": -r["diff"], "diff_lo": -r["diff_hi"], "diff_hi": -r["diff_lo"], "g": -r["g"], "g_lo": -r["g_hi"],
            "g_hi": -r["g_lo"]}


def judge(part: Part, fam: pd.DataFrame) -> PartResult:
    if part.kind == "sweep":
        return PartResult(part, "not testable (sweep)", None)
    if part.kind == "untestable":
        return PartResult(part, "not testable", None)
    row = lookup(fam, part.metric, part.a, part.b)
    if row is None:
        return PartResult(part, "not testable (a model is missing, or run at several settings)", None)
    if part.kind == "competitive":
        return PartResult(part, "separated" if row["p_holm"] < ALPHA else "not separated", row)
    how = stats.direction(part.metric)
    as_stated = row["diff"] < 0 if how == "lower" else row["diff"] > 0
    if row["p_holm"] < ALPHA:
        return PartResult(part, "held" if as_stated else "contradicted", row)
    return PartResult(part, "not established" + ("" if as_stated else " (mean the other way)"), row)


@dataclass
class FindingResult:
    finding: Finding
    parts: list[PartResult]

    @property
    def verdict(self) -> str:
        """held (every directional part held), contradicted (one held the other way), not established, held
        where testable (the parts with a model the study does not run are left out), or — where the sentence
        has no directional part the study can test."""
        directional = [p for p in self.parts if p.part.kind == "better" and p.row is not None]
        if not directional:
            return "—"
        if any(p.verdict == "contradicted" for p in directional):
            return "contradicted"
        if not all(p.verdict == "held" for p in directional):
            return "not established"
        missing = any(p.part.kind == "better" and p.row is None for p in self.parts)
        return "held where testable" if missing else "held"


def evaluate(out: str | Path, table: StudyTable, published: PublishedValues,
             fam: pd.DataFrame | None = None) -> list[FindingResult]:
    fam = family(out, table, published) if fam is None else fam
    return [FindingResult(f, [judge(p, fam) for p in f.parts]) for f in findings_of(table)]


def fmt_interval(v: float, lo: float, hi: float) -> str:
    def f(x: float) -> str:
        return "—" if not math.isfinite(x) else f"{x:+.3g}"

    return f"{f(v)} [{f(lo)}, {f(hi)}]"
