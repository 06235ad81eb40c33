"""Mode coverage on 2-D Gaussian mixtures (``ring8``, ``grid25``; docs/protocols.md §3).

The protocol of the ring/grid toys (Metz et al. 2017; VEEGAN, Srivastava et al. 2017, Table 1;
PacGAN, Lin et al. 2018, Table 1), on 2,500 samples from the prior. Both papers use a unit ring of
8 Gaussians with σ = 0.01 and a 5 × 5 grid on {−4, −2, 0, 2, 4}² with σ = 0.05 (the suite's ``ring8`` and
``grid25``):

- a sample is *high quality* (HQ) if it lies within 3σ (Euclidean distance, σ = the dataset's
  ``mode_std``) of its nearest mode centre;
- a mode is *captured* if at least ``MIN_COUNT`` = 1 HQ sample is assigned to it — the rule of
  PacGAN's released evaluation code (any high-quality sample counts), which the suite follows;
- ``mode_kl`` = KL(p ‖ U) of the histogram p of HQ samples over the K modes against the uniform
  distribution U = 1/K (0 when every mode gets the same share, log K when one mode gets all). This is
  the direction of PacGAN's "reverse KL" column (model histogram against the uniform target); how PacGAN
  treats non-HQ samples in that histogram is not stated in its Table 1, so compare that column loosely.

``hq_share`` is a fraction in [0, 1]; the published tables print it in % (the report converts).

Three registered names, one shared computation (cached in the context): ``modes`` (higher is
better), ``hq_share`` (higher), ``mode_kl`` (lower).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from metrics.base import POINTS, SAMPLES, EvalContext, Metric, MetricUnavailable

N_SIGMA = 3.0
MIN_COUNT = 1
N_SAMPLES = 2_500  # VEEGAN / PacGAN evaluate 2,500 samples


def mode_stats(points: Tensor, centres: Tensor, std: float, n_sigma: float = N_SIGMA,
               min_count: int = MIN_COUNT) -> dict[str, float]:
    """Modes captured, share of HQ samples and KL(HQ-mode histogram ‖ uniform) (docs/protocols.md §3).

    ``points`` (N, D), ``centres`` (K, D), ``std`` the per-mode standard deviation. ``mode_kl`` is
    NaN when there is no HQ sample (the histogram is undefined).
    """
    points, centres = points.double(), centres.double()
    dist = torch.cdist(points, centres)
    nearest_d, nearest = dist.min(dim=1)
    hq = nearest_d <= n_sigma * std
    counts = torch.bincount(nearest[hq], minlength=len(centres)).double()
    n_hq = counts.sum().item()
    k = len(centres)
    if n_hq > 0:
        p = counts / n_hq
        nz = p > 0
        kl = (p[nz] * (p[nz] * k).log()).sum().item()  # Σ p log(p / (1/K)); 0 log 0 = 0
    else:
        kl = math.nan
    return {"modes": float((counts >= min_count).sum().item()), "hq_share": float(hq.double().mean().item()),
            "mode_kl": kl}


class _ModeMetric(Metric):
    """Shared computation of the three mode-coverage numbers on the model's samples."""

    paper = "VEEGAN / PacGAN Table 1, 2-D mixture protocol (docs/protocols.md §3, §5b)"
    needs = frozenset({SAMPLES, POINTS})
    n_paper = n_quick = N_SAMPLES

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        spec = ctx.dataset.spec
        if spec.modes is None or spec.mode_std is None:
            raise MetricUnavailable(f"dataset {spec.name} has no known modes (ring8 and grid25 do)")
        n = self.n(ctx)
        key = ("mode_stats", n)
        if key not in ctx.cache:
            pts = ctx.samples(n)
            ctx.cache[key] = (mode_stats(pts, torch.tensor(spec.modes), spec.mode_std), len(pts))
        stats, used = ctx.cache[key]
        if self.name == "mode_kl" and math.isnan(stats["mode_kl"]):
            raise MetricUnavailable("no high-quality sample: the mode histogram is empty")
        return {self.name: stats[self.name], "__n__": used}


class ModesCaptured(_ModeMetric):
    """Number of modes with at least one high-quality sample."""

    name = "modes"
    description = "modes captured (>= 1 sample within 3 sigma), 2-D mixtures"
    direction = "higher"


class HQShare(_ModeMetric):
    """Share of samples within 3σ of their nearest mode."""

    name = "hq_share"
    description = "share of high-quality samples (within 3 sigma of a mode), 2-D mixtures"
    direction = "higher"


class ModeKL(_ModeMetric):
    """KL(histogram of HQ samples over modes ‖ uniform)."""

    name = "mode_kl"
    description = "KL of the high-quality mode histogram to uniform, 2-D mixtures"
    direction = "lower"
