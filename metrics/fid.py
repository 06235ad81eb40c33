"""Fréchet distances of pretrained features, samples vs training-split statistics (docs/protocols.md §3, §6).

d² = ‖μ_f − μ_r‖² + Tr(Σ_f + Σ_r − 2(Σ_f Σ_r)^{1/2}) (Heusel et al. 2017, eq. 6) on:

- ``fid`` (FID15): Inception-v3 pool3 (2048), TF 2015-12-05 weights, torch-fidelity ``inception-v3-compat``
  (AVAE Table I, IDVAE Table 1; AVAE protocol: 50k samples vs the training split).
- ``fid_64`` / ``fid_192`` / ``fid_768``: the same network's first max-pool, second max-pool and
  pre-auxiliary (Mixed_6e) features, spatially averaged (AVAE-S Table III) — read from the same pass.
- ``fid_tv16`` (FID16): torchvision's Inception-v3 IMAGENET1K_V1, the 2016-08-28 checkpoint (IDVAE Table 1).
- ``fid_clean``: clean-fid "clean" mode (PIL bicubic resize, its TorchScript Inception) — beyond the papers.
- ``frd``: ImageNet ResNet-50, 2048-d pooled features (IDVAE Table 1).
- ``fd_dinov2``: DINOv2 ViT-L/14 CLS features (Stein et al. 2023) — beyond the papers.

Every value is recorded with ``name.n`` (samples), ``name.n_real`` and ``name.ref`` (the reference split).
Reference count: the whole training split up to 50 000 images under the papers' setting (torch-fidelity's
``cifar10-train`` = all 50k), otherwise the same count as the samples.

On reconstructions (named apart, ``<name>_recon``: ``fid_recon``, ``fid_64_recon``, ``fid_192_recon``,
``fid_768_recon``, ``fid_tv16_recon``, ``fid_clean_recon``, ``frd_recon``): the same distances between the
reconstructions of a held-out split and the real images of that split (AVAE-S §III, Table III: its four FIDs
are "on the reconstructions of the validation set"; §III gives GANs no FID "as there is no notion of
reconstruction"). ``name.ref`` is the split, ``name.split`` / ``name.path`` say which images were
reconstructed and how (:mod:`metrics.base`). The paper does not say which real images its reconstruction FID
compares with; the reconstructed split's own originals are the suite's reading (docs/metrics-fidelity.md).
"""

from __future__ import annotations

from typing import Any, ClassVar

from bench.errors import MissingResourceError
from metrics.base import IMAGES, REAL_TRAIN, RECONSTRUCTIONS, SAMPLES, EvalContext, Metric, MetricUnavailable
from metrics.features import features, reference
from metrics.frechet import frechet_to_features

REF_SPLIT = "train"  # AVAE protocol: FID of samples against training-set statistics
N_REAL_PAPER = 50_000


def n_real(ctx: EvalContext, metric: Metric) -> int:
    """Reference images: training split (≤ 50k) under ``paper``, else the metric's sample count."""
    n_train = len(ctx.dataset.split(REF_SPLIT))
    if ctx.n_override is None and ctx.sample_setting == "paper":
        return min(n_train, N_REAL_PAPER)
    return min(n_train, metric.n(ctx))


class _FeatureMetric(Metric):
    """Shared plumbing: fake features of ``extractor`` (one pass, shared) + the cached real reference."""

    extractor: ClassVar[str] = "inception-v3-compat"
    needs = frozenset({SAMPLES, REAL_TRAIN, IMAGES})
    n_paper = 50_000  # AVAE: 50k samples for FID; Salimans et al.: 50k for IS
    n_quick = 500

    def image_set(self, ctx: EvalContext) -> tuple[str, int]:
        """The image set scored (a :func:`metrics.features.images` source) and how many: the samples."""
        return "samples", self.n(ctx)

    def reference_set(self, ctx: EvalContext) -> tuple[str, int]:
        """The real split compared with and how many of its images: the training split."""
        return REF_SPLIT, n_real(ctx, self)

    def fake(self, ctx: EvalContext) -> dict[str, Any]:
        """``{layer: features}`` of the scored images (MetricUnavailable if weights are missing)."""
        try:
            return features(ctx, self.extractor, *self.image_set(ctx))
        except MissingResourceError as err:
            raise MetricUnavailable(str(err)) from err

    def ref(self, ctx: EvalContext) -> Any:
        """The reference statistics (from the disk cache when valid)."""
        try:
            return reference(ctx, self.extractor, *self.reference_set(ctx))
        except MissingResourceError as err:
            raise MetricUnavailable(str(err)) from err

    def provenance(self, n_fake: int, ref: Any) -> dict[str, Any]:
        return {"__n__": n_fake, f"{self.name}.n_real": ref.n, f"{self.name}.ref": ref.split}


class _Frechet(_FeatureMetric):
    layer: ClassVar[str] = "2048"
    direction = "lower"

    def compute(self, ctx: EvalContext) -> dict[str, Any]:
        """Heusel et al. 2017 eq. 6 between the samples' and the training split's features at ``layer``."""
        fake = self.fake(ctx)  # samples first: a missing-weights reason never costs a real pass
        ref = self.ref(ctx)
        value, n_fake = frechet_to_features(ref.mu[self.layer], ref.sigma[self.layer], fake[self.layer].numpy())
        return {self.name: value, **self.provenance(n_fake, ref)}


class FID(_Frechet):
    name = "fid"
    description = "FID15: Inception-v3 pool3, TF 2015-12-05 weights (torch-fidelity), samples vs train"
    paper = "AVAE Table I; IDVAE Table 1 (Heusel et al. 2017)"


class FID64(_Frechet):
    name, layer = "fid_64", "64"
    description = "Fréchet distance at Inception's first max-pool (64-d)"
    paper = "AVAE-S Table III"


class FID192(_Frechet):
    name, layer = "fid_192", "192"
    description = "Fréchet distance at Inception's second max-pool (192-d)"
    paper = "AVAE-S Table III"


class FID768(_Frechet):
    name, layer = "fid_768", "768"
    description = "Fréchet distance at Inception's pre-aux-classifier layer (768-d)"
    paper = "AVAE-S Table III"


class FIDTV16(_Frechet):
    name, extractor = "fid_tv16", "inception-v3-tv"
    description = "FID16: torchvision Inception-v3 IMAGENET1K_V1 (2016-08-28 weights) pool3"
    paper = "IDVAE Table 1"


class FIDClean(_Frechet):
    name, extractor = "fid_clean", "clean-fid-inception"
    description = "clean-fid 'clean' mode FID (PIL bicubic resize, TorchScript Inception)"
    paper = "Parmar et al. 2022 (beyond the papers)"


class FRD(_Frechet):
    name, extractor = "frd", "resnet50-tv"
    description = "Fréchet ResNet-50 distance (ImageNet, 2048-d pooled)"
    paper = "IDVAE Table 1"


class FDDinoV2(_Frechet):
    name, extractor, layer = "fd_dinov2", "dinov2-vit-l-14-local", "dinov2"
    description = "Fréchet distance of DINOv2 ViT-L/14 features"
    paper = "Stein et al. 2023 (beyond the papers)"
    default = False  # opt-in (--metrics fd_dinov2): ViT-L/14 costs ~15x an Inception pass per image


class _FrechetRecon(_Frechet):
    """A Fréchet distance between reconstructions of ``ctx.recon_split`` and that split's real images."""

    needs = frozenset({RECONSTRUCTIONS, IMAGES})
    n_paper = 50_000  # capped by the split's size (CelebA val: 19,867)
    default = False  # opt-in (eval.metrics): a second extractor pass per run, used by AVAE-S Table III

    def image_set(self, ctx: EvalContext) -> tuple[str, int]:
        """Reconstructions of the held-out split (Heusel et al. 2017 eq. 6 against its own originals)."""
        return f"recon_{ctx.recon_split}", self.reference_set(ctx)[1]

    def reference_set(self, ctx: EvalContext) -> tuple[str, int]:
        return ctx.recon_split, min(self.n(ctx), len(ctx.dataset.split(ctx.recon_split)))


class FIDRecon(_FrechetRecon):
    name = "fid_recon"
    description = "FID15 (pool3) of held-out reconstructions vs the same split's images"
    paper = "AVAE-S Tables II-III (d=2048)"


class FID64Recon(_FrechetRecon):
    name, layer = "fid_64_recon", "64"
    description = "Fréchet distance at Inception's first max-pool (64-d), reconstructions vs originals"
    paper = "AVAE-S Table III"


class FID192Recon(_FrechetRecon):
    name, layer = "fid_192_recon", "192"
    description = "Fréchet distance at Inception's second max-pool (192-d), reconstructions vs originals"
    paper = "AVAE-S Table III"


class FID768Recon(_FrechetRecon):
    name, layer = "fid_768_recon", "768"
    description = "Fréchet distance at Inception's pre-aux layer (768-d), reconstructions vs originals"
    paper = "AVAE-S Table III"


class FIDTV16Recon(_FrechetRecon):
    name, extractor = "fid_tv16_recon", "inception-v3-tv"
    description = "FID16 of held-out reconstructions vs the same split's images"
    paper = "IDVAE Table 1's FID16, on reconstructions (beyond the papers)"


class FIDCleanRecon(_FrechetRecon):
    name, extractor = "fid_clean_recon", "clean-fid-inception"
    description = "clean-fid FID of held-out reconstructions vs the same split's images"
    paper = "Parmar et al. 2022, on reconstructions (beyond the papers)"


class FRDRecon(_FrechetRecon):
    name, extractor = "frd_recon", "resnet50-tv"
    description = "Fréchet ResNet-50 distance of held-out reconstructions vs the same split's images"
    paper = "IDVAE Table 1's FRD, on reconstructions (beyond the papers)"
