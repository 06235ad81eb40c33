"""Laplacian sharpness (AVAE-S §IV, after WAE [26]): variance of the Laplacian of the luma image."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from metrics.base import IMAGES, RECONSTRUCTIONS, SAMPLES, EvalContext, Metric, to_unit

LAPLACE = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601


def sharpness_per_image(images: Tensor) -> Tensor:
    """AVAE-S §IV: grayscale (BT.601 luma) in [0, 1], convolve with [[0,1,0],[1,−4,1],[0,1,0]] over
    the valid region, variance (population, ddof = 0) of the response per image."""
    x = to_unit(images)
    gray = x[:, 0] if x.shape[1] == 1 else sum(w * x[:, c] for c, w in enumerate(LUMA))
    # conv2d is cross-correlation; the kernel is symmetric, so this is the convolution.
    response = F.conv2d(gray.unsqueeze(1), LAPLACE.view(1, 1, 3, 3))
    return response.flatten(1).var(dim=1, unbiased=False)


class Sharpness(Metric):
    """Mean Laplacian sharpness of samples (AVAE-S §III's measure; WAE reports it on samples); real test images
    give the reference. AVAE-S Table II's numbers, captioned "samples", are Table III's reconstruction values
    (filed under ``sharpness_recon``, docs/metrics-fidelity.md §3)."""

    name = "sharpness"
    description = "Laplacian-variance sharpness of samples (real test images: reference row)"
    paper = "AVAE-S §III (Laplacian sharpness, after WAE)"
    direction = "higher"
    # Ranked by closeness to the real images' value (bench/report/tables.py): samples sharper (noisier)
    # than the real data are not better; with no real-data row in a table, sharpness is not ranked.
    best_near_real = True
    needs = frozenset({SAMPLES, IMAGES})
    n_paper, n_quick = 10_000, 1_000

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        x = ctx.samples(self.n(ctx))
        return {self.name: sharpness_per_image(x).mean().item(), "__n__": len(x)}


class SharpnessRecon(Metric):
    """Mean Laplacian sharpness of held-out reconstructions (AVAE-S Tables II and III)."""

    name = "sharpness_recon"
    description = "Laplacian-variance sharpness of test reconstructions"
    paper = "AVAE-S Tables II-III"
    direction = "higher"
    needs = frozenset({RECONSTRUCTIONS, IMAGES})
    n_paper, n_quick = 10_000, 1_000

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        _, r = ctx.reconstructions(self.n(ctx))
        return {self.name: sharpness_per_image(r).mean().item(), "__n__": len(r)}
