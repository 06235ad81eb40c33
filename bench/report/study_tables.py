"""The study's per-table headline statistics (#27), read from a results directory (``results/study`` or any
other edition's): one row per table and kind (sample quality, reconstruction), with

* the mean Kendall τ-b over *distinct* comparisons (paper columns with the same order on the same models and
  the same suite metric count once: :func:`bench.report.study_stats.distinct`);
* its two-sided joint label-permutation p (the suite's model labels shuffled once for all the row's
  comparisons; exact over every label order up to 8 models);
* the paper's own ceiling: the mean τ-b between its datasets' orders on the same metric;
* a 90 % seed-bootstrap interval of the mean τ-b (each model's seeds resampled with replacement).

Models a paper table ranks that its sweep does not run are taken from another table of the same directory
that ran them (Khan's DCGAN and ALI = BiGAN from AVAE Table I), and named as borrowed.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench.report import study_stats as ss
from bench.report.load import read_summary
from bench.report.published import PublishedValues
from bench.study import TABLES, StudyTable

SAMPLES, RECON = "sample quality", "reconstruction"
RECON_METRICS = frozenset({"mse", "cosine", "recon_class_acc"})
REAL = "real"
BOOT_LEVEL = 0.90


def kind(suite_metric: str) -> str:
    """Whether a suite metric scores reconstructions (``mse``, ``cosine``, ``recon_class_acc``, ``*_recon``)."""
    return RECON if suite_metric in RECON_METRICS or suite_metric.endswith("_recon") else SAMPLES


# ---- per-seed values -----------------------------------------------------------------------------------
Seeds = dict[str, dict[str, list[float]]]  # model → metric → one value per completed seed, in seed order


def seeds_of(summary: pd.DataFrame) -> Seeds:
    """The completed runs' values, aligned by seed across metrics (a seed missing a metric is left out of it)."""
    ok = summary[(summary["status"] == "completed") & (summary["metric"] != "") & summary["value"].notna()]
    ok = ok.assign(entry=entry_names(ok))
    out: Seeds = {}
    for (model, metric), g in ok.groupby(["entry", "metric"]):
        out.setdefault(str(model), {})[str(metric)] = [float(v) for v in g.sort_values("seed")["value"]]
    return out


def entry_names(df: pd.DataFrame) -> pd.Series:
    """The model's name, or ``model[lr=0.0001]`` where the summary holds several settings of one model (a
    sweep: the Fashion-MNIST edition's α-GAN table), naming the settings that differ; settings are never mixed."""
    if "params" not in df.columns:
        return df["model"].astype(str)
    names = df["model"].astype(str).copy()
    for model, g in df.groupby("model"):
        settings = g["params"].unique()
        if len(settings) < 2:
            continue
        parsed = {s: json.loads(s or "{}") for s in settings}
        keys = sorted({k for d in parsed.values() for k in d if len({json.dumps(x.get(k)) for x in parsed.values()}) > 1})
        for s, d in parsed.items():
            names[(df["model"] == model) & (df["params"] == s)] = f"{model}[{', '.join(f'{k}={d.get(k)}' for k in keys)}]"
    return names


def table_seeds(out: Path, table: StudyTable, wanted: list[str] | None = None) -> tuple[Seeds, dict[str, str]]:
    """A table's per-seed values, plus the ``wanted`` models its sweep does not run taken from the first other
    table of ``out`` (in :data:`bench.study.TABLES` order; the editions share the keys) that has them (model →
    that table's key)."""
    own = seeds_of(read_summary(out / table.key / "summary.csv"))
    borrowed: dict[str, str] = {}
    for m in wanted or []:
        if m in own:
            continue
        for other in TABLES:
            path = out / other.key / "summary.csv"
            if other.key == table.key or not path.exists():
                continue
            theirs = seeds_of(read_summary(path))
            if m in theirs:
                own[m], borrowed[m] = theirs[m], other.key
                break
    return own, borrowed


def seed_means(seeds: Seeds) -> dict[tuple[str, str], float]:
    return {(m, k): float(np.mean(v)) for m, ks in seeds.items() for k, v in ks.items() if v}


# ---- the comparisons of a table --------------------------------------------------------------------------
def published_rows(table: StudyTable, published: PublishedValues) -> list:
    return [r for r in published.rows if r.paper == table.paper and r.table in table.tables and r.model != REAL
            and r.metric in table.metric_map]


def comparisons(table: StudyTable, published: PublishedValues, seeds: Seeds) -> list[ss.Comparison]:
    """One comparison per (paper dataset, published metric): the models the paper and the suite both rank."""
    rows = published_rows(table, published)
    out: list[ss.Comparison] = []
    for dataset in dict.fromkeys(r.dataset for r in rows):
        for metric in dict.fromkeys(r.metric for r in rows if r.dataset == dataset):
            sm = table.metric_map[metric]
            paper = {r.model: r.suite_mean for r in rows if r.dataset == dataset and r.metric == metric}
            models = tuple(m for m in paper if seeds.get(m, {}).get(sm))
            out.append(ss.Comparison(f"{dataset} {metric}", sm, models, tuple(paper[m] for m in models), dataset, metric))
    return out


@dataclass
class Ceiling:
    """The paper against itself: τ-b between two of its datasets' orders on one metric, over every such pair."""

    mean: float
    low: float
    high: float
    pairs: list[tuple[str, str, float]]  # (column, column, τ-b)


def ceiling(table: StudyTable, published: PublishedValues, metrics: list[str], models: list[str]) -> Ceiling | None:
    """Mean τ-b between the paper's datasets on the same published metric (each of ``metrics``), over the
    ``models`` both datasets rank; None where the paper reports the metric on one dataset only."""
    rows = [r for r in published_rows(table, published) if r.metric in metrics and r.model in models]
    pairs: list[tuple[str, str, float]] = []
    for metric in dict.fromkeys(r.metric for r in rows):
        by_ds: dict[str, dict[str, float]] = {}
        for r in rows:
            if r.metric == metric:
                by_ds.setdefault(r.dataset, {})[r.model] = r.suite_mean
        for a, b in itertools.combinations(by_ds, 2):
            common = [m for m in by_ds[a] if m in by_ds[b]]
            t = ss.tau_b([by_ds[a][m] for m in common], [by_ds[b][m] for m in common])
            if t is not None:
                pairs.append((f"{a} {metric}", f"{b} {metric}", t))
    if not pairs:
        return None
    taus = [t for _, _, t in pairs]
    return Ceiling(float(np.mean(taus)), min(taus), max(taus), pairs)


@dataclass
class HeadlineRow:
    """One (table, kind) row of the headline."""

    table: StudyTable
    kind: str
    models: list[str]
    comparisons: list[ss.Comparison]
    groups: list[list[ss.Comparison]]
    taus: dict[str, float | None]  # comparison label → τ-b on the seed means
    single: dict[str, ss.PermutationTest]  # comparison label → its own exact two-sided test
    test: ss.PermutationTest | None
    interval: tuple[float, float] | None
    ceiling: Ceiling | None
    borrowed: dict[str, str] = field(default_factory=dict)

    @property
    def mean_tau(self) -> float | None:
        return None if self.test is None else self.test.observed


def headline_rows(out: str | Path, table: StudyTable, published: PublishedValues,
                  adjust: Callable[[Seeds], Seeds] | None = None) -> list[HeadlineRow]:
    """The table's headline rows from ``out/<table>/summary.csv`` (and the summaries it borrows from);
    ``adjust`` rewrites the per-seed values first (the Fashion-MNIST edition: a diverged configuration left out,
    or placed last: :func:`without`, :func:`placed_last`)."""
    out = Path(out)
    wanted = list(dict.fromkeys(r.model for r in published_rows(table, published)))
    seeds, borrowed = table_seeds(out, table, wanted)
    if adjust is not None:
        seeds = adjust(seeds)
    means = seed_means(seeds)
    comps = [c for c in comparisons(table, published, seeds) if len(c.models) >= 2]
    rows: list[HeadlineRow] = []
    for (k, models), cs in sorted(_split(comps).items(), key=lambda kv: (kv[0][0] != SAMPLES, -len(kv[0][1]))):
        groups = ss.distinct(cs)
        heads = [g[0] for g in groups]
        suite = {c.suite_metric: [means[(m, c.suite_metric)] for m in models] for c in heads}
        taus = {c.label: ss.tau_b(list(c.paper), [means[(m, c.suite_metric)] for m in c.models]) for c in cs}
        single = {c.label: ss.single_tau_test(c.paper, [means[(m, c.suite_metric)] for m in c.models]) for c in cs}
        defined = [c for c in heads if taus[c.label] is not None]
        test = ss.permutation_test(defined, suite, models, two_sided=True) if defined else None
        interval = ss.seed_bootstrap(defined, seeds, models, BOOT_LEVEL) if defined else None
        ceil = ceiling(table, published, list(dict.fromkeys(c.paper_metric for c in cs)), list(models))
        rows.append(HeadlineRow(table, k, list(models), cs, groups, taus, single, test, interval, ceil,
                                {m: t for m, t in borrowed.items() if m in models}))
    return rows


def without(models: set[str]) -> Callable[[Seeds], Seeds]:
    """Leave ``models`` out (docs/study-plan.md §6: τ is computed without a diverged configuration)."""
    return lambda seeds: {m: v for m, v in seeds.items() if m not in models}


def placed_last(models: set[str], n_seeds: int = 5) -> Callable[[Seeds], Seeds]:
    """Give ``models`` the worst value of every metric (§6: "beside that with it placed last"): above the largest
    value for a distance, below the smallest for a score (tied last among themselves), on ``n_seeds`` seeds."""
    from bench.report import stats

    def adjust(seeds: Seeds) -> Seeds:
        out = {m: v for m, v in seeds.items() if m not in models}
        metrics = {k for v in out.values() for k in v}
        for k in metrics:
            vals = [x for v in out.values() for x in v.get(k, [])]
            if not vals:
                continue
            span = max(vals) - min(vals) + 1.0
            worst = max(vals) + span if stats.direction(k) == "lower" else min(vals) - span
            for m in models:
                out.setdefault(m, {})[k] = [worst] * n_seeds
        return out

    return adjust


def _split(comps: list[ss.Comparison]) -> dict[tuple[str, tuple[str, ...]], list[ss.Comparison]]:
    """Comparisons by (kind, model set): a row permutes one set of labels."""
    out: dict[tuple[str, tuple[str, ...]], list[ss.Comparison]] = {}
    for c in comps:
        out.setdefault((kind(c.suite_metric), tuple(sorted(c.models))), []).append(c)
    return out
