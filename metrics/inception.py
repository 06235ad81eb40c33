"""Inception Score, KID and improved precision/recall on the shared ``inception-v3-compat`` pass.

The math is torch-fidelity 0.4.0's own functions (``isc_features_to_metric``, ``kid_features_to_metric``,
``prc_features_to_metric``) applied to the features of :mod:`metrics.features`, with torch-fidelity's
defaults, so values equal ``torch_fidelity.calculate_metrics`` on the same images:

- ``is`` / ``is_std``: exp(E_x KL(p(y|x) ‖ p(y))) on the unbiased logits (1008 classes of the TF graph),
  10 splits, mean ± std over splits (Salimans et al. 2016; Khan et al. Table 1, α-GAN).
- ``kid`` / ``kid_std``: unbiased MMD² with the cubic polynomial kernel k(x, y) = (xᵀy/d + 1)³ on pool3,
  100 subsets of min(1000, n) (Bińkowski et al. 2018).
- ``precision`` / ``recall``: improved precision and recall with k = 3 nearest neighbours (Kynkäänniemi et al.
  2019) on Inception pool3 — the suite's default, so that the whole family reads one Inception pass.
- ``precision_vgg16`` / ``recall_vgg16``: the same on torch-fidelity's own default network for PR, VGG-16
  (torchvision ImageNet weights, ``fc2_relu``, 4096-d, TF1 bilinear resize to 224, ImageNet normalisation):
  equal to ``torch_fidelity.calculate_metrics(input1=samples, input2=train images, prc=True)`` with its
  defaults (k = 3, ``prc_batch_size`` 10 000). Opt-in (``--metrics precision_vgg16,recall_vgg16``): a
  VGG-16 pass costs about three Inception passes.

KID and PR compare the samples with the training split (the same cached reference as FID).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric

from metrics.base import IMAGES, SAMPLES, EvalContext, MetricUnavailable
from metrics.fid import _FeatureMetric

IS_SPLITS = 10
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000
PRC_K = 3
RNG_SEED = 2020  # torch-fidelity's default rng_seed (IS shuffling, KID subsets)


def inception_score(logits: Tensor, splits: int = IS_SPLITS) -> tuple[float, float]:
    """Salimans et al. 2016: exp(E_x KL(p(y|x) ‖ p(y))) per split, mean and std over ``splits`` — the suite's
    one implementation, torch-fidelity 0.4.0's ``isc_features_to_metric`` with its defaults (rows shuffled
    with ``rng_seed`` 2020, softmax in float64, no ε). Used by ``is`` (Inception logits) and ``is_domain``
    (the domain classifier's logits)."""
    out = isc_features_to_metric(logits, splits=splits, shuffle=True, rng_seed=RNG_SEED)
    return out["inception_score_mean"], out["inception_score_std"]


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
        mean, std = inception_score(logits, IS_SPLITS)
        return {"is": mean, "is_std": std, "__n__": len(logits)}


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


def precision_recall(ctx: EvalContext, metric: _FeatureMetric, layer: str = "2048") -> tuple[float, float, int, Any]:
    """Kynkäänniemi et al. 2019 improved precision/recall (k = 3) of samples vs train on ``metric``'s
    extractor at ``layer``, computed once per extractor."""
    fake = metric.fake(ctx)[layer]
    ref = metric.ref(ctx)
    key = ("prc", metric.extractor, len(fake), ref.split, ref.n)
    if key not in ctx.cache:
        real = ref.feats[layer]
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


class PrecisionVGG16(_FeatureMetric):
    name = "precision_vgg16"
    extractor = "vgg16"
    description = "improved precision (k=3) on VGG-16 fc2_relu: torch-fidelity calculate_metrics(prc=True)"
    paper = "Kynkäänniemi et al. 2019; torch-fidelity's default network (beyond the papers)"
    direction = "higher"
    default = False  # opt-in: a VGG-16 pass per image set

    def compute(self, ctx: EvalContext) -> dict[str, Any]:
        """Kynkäänniemi et al. 2019 eq. 1 (precision) with k = 3 on VGG-16 ``fc2_relu`` features."""
        p, _, n_fake, ref = precision_recall(ctx, self, "fc2_relu")
        return {self.name: p, **self.provenance(n_fake, ref)}


class RecallVGG16(_FeatureMetric):
    name = "recall_vgg16"
    extractor = "vgg16"
    description = "improved recall (k=3) on VGG-16 fc2_relu: torch-fidelity calculate_metrics(prc=True)"
    paper = "Kynkäänniemi et al. 2019; torch-fidelity's default network (beyond the papers)"
    direction = "higher"
    default = False

    def compute(self, ctx: EvalContext) -> dict[str, Any]:
        """Kynkäänniemi et al. 2019 eq. 2 (recall) with k = 3 on VGG-16 ``fc2_relu`` features."""
        _, r, n_fake, ref = precision_recall(ctx, self, "fc2_relu")
        return {self.name: r, **self.provenance(n_fake, ref)}
