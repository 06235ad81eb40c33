"""``recon_class_acc``: does a reconstruction keep its image's class?

The suite's domain classifier (:mod:`metrics.domain`, trained once per dataset and cached) classifies
the reconstructions of labelled held-out images; the metric is the share whose predicted class is the
original image's label. A perfect reconstruction scores the classifier's own accuracy on those images;
a reconstruction that keeps pixels close but loses the class (a blurred mean digit) scores near chance.
It complements ``mse`` / ``cosine``, which cannot tell a wrong digit drawn cleanly from a right one
drawn faintly. Not a metric of the five papers: the suite's learning check for ``make bench``
(docs/bench-budget.md).
"""

from __future__ import annotations

import torch
from torch import Tensor

from metrics.base import IMAGES, LABELS, RECONSTRUCTIONS, EvalContext, Metric, MetricUnavailable
from metrics.domain import HELDOUT_KEY, _apply, _classifier


def held_out_labels(ctx: EvalContext, originals: Tensor) -> Tensor:
    """The labels of ``originals`` (the first images :meth:`EvalContext.reconstructions` returned), found
    by matching them against the seeded subsets of the reconstruction split that context may have drawn."""
    split = ctx.dataset.split(ctx.recon_split)
    if split.labels is None:
        raise MetricUnavailable(f"{ctx.dataset.spec.name} split {ctx.recon_split!r} has no labels")
    have = ctx.cache.get(("recon", ctx.recon_split))
    for size in dict.fromkeys((len(originals), len(have[0]) if have is not None else len(originals))):
        sub = split.subset(size, seed=0)
        if torch.equal(sub.uint8()[: len(originals)], originals):
            return sub.labels[: len(originals)]  # type: ignore[index]
    raise MetricUnavailable("recon_class_acc: cannot match the reconstructed images to their labels")


class ReconClassAcc(Metric):
    """Accuracy of the domain classifier on held-out reconstructions, against the originals' labels."""

    name = "recon_class_acc"
    description = "domain classifier's accuracy on held-out reconstructions (class kept)"
    paper = "suite (learning check); classifier after α-GAN App. H.5"
    direction = "higher"
    needs = frozenset({RECONSTRUCTIONS, IMAGES, LABELS})
    n_paper, n_quick = 10_000, 1_000

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        model, info = _classifier(ctx)
        originals, recons = ctx.reconstructions(self.n(ctx))
        labels = held_out_labels(ctx, originals)
        predicted = _apply(model, recons, "forward").argmax(1)
        return {self.name: (predicted == labels).float().mean().item(),
                f"{self.name}.{HELDOUT_KEY}": info["heldout_accuracy"], "__n__": len(originals)}
