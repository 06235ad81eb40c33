"""Reconstruction metrics on the held-out split: MSE and cosine similarity (pixels in [0, 1]).

AVAE Table I (MSE), IDVAE §4 (reconstruction square loss on test images), AVAE-S Table III
(MSE, cosine similarity on validation reconstructions).
"""

from __future__ import annotations

import torch.nn.functional as F

from metrics.base import IMAGES, RECONSTRUCTIONS, EvalContext, Metric, to_unit


class MSE(Metric):
    """Mean over test images of the per-image mean squared error, pixels in [0, 1]."""

    name = "mse"
    description = "mean squared error, test image vs reconstruction, pixels in [0, 1]"
    paper = "AVAE Table I; IDVAE §4; AVAE-S Table III"
    direction = "lower"
    needs = frozenset({RECONSTRUCTIONS, IMAGES})
    n_paper, n_quick = 10_000, 1_000

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        x, r = ctx.reconstructions(self.n(ctx))
        per_image = (to_unit(x) - to_unit(r)).pow(2).flatten(1).mean(1)
        return {self.name: per_image.mean().item(), "__n__": len(x)}


class Cosine(Metric):
    """Mean over test images of the cosine similarity between the flattened image and its
    reconstruction, pixels in [0, 1] (AVAE-S Table III)."""

    name = "cosine"
    description = "cosine similarity, test image vs reconstruction, pixels in [0, 1]"
    paper = "AVAE-S Table III"
    direction = "higher"
    needs = frozenset({RECONSTRUCTIONS, IMAGES})
    n_paper, n_quick = 10_000, 1_000

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        x, r = ctx.reconstructions(self.n(ctx))
        cos = F.cosine_similarity(to_unit(x).flatten(1), to_unit(r).flatten(1), dim=1, eps=1e-8)
        return {self.name: cos.mean().item(), "__n__": len(x)}
