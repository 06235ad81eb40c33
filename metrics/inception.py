"""Inception Score, KID and improved precision/recall on the shared ``inception-v3-compat`` pass.

The math is torch-fidelity 0.4.0's own functions (``isc_features_to_metric``, ``kid_features_to_metric``,
``prc_features_to_metric``) applied to the features of :mod:`metrics.features`, with torch-fidelity's
defaults, so values equal ``torch_fidelity.calculate_metrics`` on the same images:

- ``is`` / ``is_std``: exp(E_x KL(p(y|x) ‖ p(y))) on the unbiased logits (1008 classes of the TF graph),
  10 splits, mean ± std over splits (Salimans et al. 2016; Khan et al. Table 1, α-GAN).
- ``kid`` / ``kid_std``: unbiased MMD² with the cubic polynomial kernel k(x, y) = (xᵀy/d + 1)³ on pool3,
  100 subsets of min(1000, n) (Bińkowski et al. 2018).
- ``precision`` / ``recall``: improved precision and recall with k = 3 nearest neighbours (Kynkäänniemi et al.
  2019) on Inception pool3 — the suite's choice, so that the whole family reads one Inception pass
  (torch-fidelity's own default for PR is VGG-16).

KID and PR compare the samples with the training split (the same cached reference as FID).
"""

from __future__ import annotations

from typing import Any

from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric

from metrics.base import IMAGES, SAMPLES, EvalContext, MetricUnavailable
from metrics.fid import _FeatureMetric

IS_SPLITS = 10
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000
PRC_K = 3
RNG_SEED = 2020  # torch-fidelity's default rng_seed (IS shuffling, KID subsets)


class InceptionScore(_FeatureMetric):
    name = "is"
    description = "Inception Score (TF 2015 Inception logits, 10 splits); also is_std"
    paper = "Khan et al. Table 1; α-GAN (Salimans et al. 2016)"
    direction = "higher"
    needs = frozenset({SAMPLES, IMAGES})

    def compute(self, ctx: EvalContext) -> dict[str, Any]:
        """Salimans et al. 2016: exp(E KL(p(y|x) ‖ p(y))) per split, mean and std over 10 splits."""
        logits = self.fake(ctx)["logits_unbiased"]
        if len(logits) < IS_SPLITS:
            raise MetricUnavailable(f"is needs at least {IS_SPLITS} samples, got {len(logits)}")
        out = isc_features_to_metric(logits, splits=IS_SPLITS, shuffle=True, rng_seed=RNG_SEED)
        return {"is": out["inception_score_mean"], "is_std": out["inception_score_std"], "__n__": len(logits)}


class KID(_FeatureMetric):
    name = "kid"
    description = "Kernel Inception Distance (cubic polynomial MMD², pool3), samples vs train; also kid_std"
    paper = "Bińkowski et al. 2018 (beyond the papers)"
    direction = "lower"

    def compute(self, ctx: EvalContext) -> dict[str, Any]:
        """Bińkowski et al. 2018 eq. 5 (unbiased MMD², polynomial kernel), mean/std over random subsets."""
        fake = self.fake(ctx)["2048"]
        ref = self.ref(ctx)
        real = ref.feats["2048"]
        size = min(KID_SUBSET_SIZE, len(fake), len(real))
        if size < 2:
            raise MetricUnavailable(f"kid needs at least 2 samples per set, got {len(fake)} and {len(real)}")
        out = kid_features_to_metric(fake, real, kid_subsets=KID_SUBSETS, kid_subset_size=size, rng_seed=RNG_SEED,
                                     verbose=False)
        return {"kid": out["kernel_inception_distance_mean"], "kid_std": out["kernel_inception_distance_std"],
                **self.provenance(len(fake), ref)}


def precision_recall(ctx: EvalContext, metric: _FeatureMetric) -> tuple[float, float, int, Any]:
    """Kynkäänniemi et al. 2019 improved precision/recall (k = 3) of samples vs train, computed once."""
    fake = metric.fake(ctx)["2048"]
    ref = metric.ref(ctx)
    key = ("prc", len(fake), ref.split, ref.n)
    if key not in ctx.cache:
        real = ref.feats["2048"]
        if min(len(fake), len(real)) <= PRC_K:
            raise MetricUnavailable(f"precision/recall need more than k={PRC_K} samples per set")
        # torch-fidelity's convention: features_1 = generated, features_2 = real
        out = prc_features_to_metric(fake, real, prc_neighborhood=PRC_K, prc_batch_size=10_000, save_cpu_ram=False,
                                     verbose=False)
        ctx.cache[key] = (out["precision"], out["recall"])
    p, r = ctx.cache[key]
    return p, r, len(fake), ref


class Precision(_FeatureMetric):
    name = "precision"
    description = "improved precision (k=3, Inception pool3): share of samples on the real manifold"
    paper = "Kynkäänniemi et al. 2019 (beyond the papers)"
    direction = "higher"

    def compute(self, ctx: EvalContext) -> dict[str, Any]:
        """Kynkäänniemi et al. 2019 eq. 1 (precision) with k = 3."""
        p, _, n_fake, ref = precision_recall(ctx, self)
        return {"precision": p, **self.provenance(n_fake, ref)}


class Recall(_FeatureMetric):
    name = "recall"
    description = "improved recall (k=3, Inception pool3): share of real images on the samples' manifold"
    paper = "Kynkäänniemi et al. 2019 (beyond the papers)"
    direction = "higher"

    def compute(self, ctx: EvalContext) -> dict[str, Any]:
        """Kynkäänniemi et al. 2019 eq. 2 (recall) with k = 3."""
        _, r, n_fake, ref = precision_recall(ctx, self)
        return {"recall": r, **self.provenance(n_fake, ref)}
