"""Sample diversity: 1 − mean MS-SSIM over pairs of samples (α-GAN §4, after Odena et al. 2017).

MS-SSIM is Wang, Simoncelli & Bovik 2003 (eq. 7): Π_j cs_j^{w_j} over scales j < L times
ssim_L^{w_L}, computed here by pytorch_msssim's own single-scale kernel (``_ssim``: Gaussian window,
σ = 1.5, K = (0.01, 0.03), data range 255) and its down-sampling (2×2 average pooling).

Why a scale loop of our own: ``pytorch_msssim.ms_ssim`` asserts ``side > (win_size − 1) · 2⁴``
whatever the number of ``weights`` it is given, so it refuses every image under 161 px. The loop
below is line for line the library's ``ms_ssim`` (relu on cs, odd-size padding in the pooling,
product of powers) with the scale count as a parameter, and equals it exactly on ≥ 161 px images
(tests/test_metrics_perceptual.py). Scales and window per image size (:func:`ms_ssim_settings`):

* the coarsest scale must still hold a whole window, the library's own rule generalised to
  L scales: ``side > (win − 1) · 2^(L − 1)``;
* keep the standard 11-px window and as many of the 5 scales as fit; if that leaves fewer than
  3 scales, shrink the window (9, then 7 px, σ stays 1.5) until 3 scales fit; below that use
  7 px with as many scales as fit (≥ 1);
* the weights are the first L of Wang et al.'s (0.0448, 0.2856, 0.3001, 0.2363, 0.1333),
  renormalised to sum to 1 when L < 5 (so the exponents keep their published proportions);
  with 5 scales they are the published (and library default) values unchanged.

So: ≥ 161 px → 11 px, 5 scales (the library default); 96–160 px → 11 px, 4 scales;
64 px → 11 px, 3 scales; 28–32 px → 7 px, 3 scales; 16 px → 7 px, 2 scales. The test-set
reference row (bench.run.evaluate_real) is computed with exactly the same settings. Grayscale
images are scored on their one channel: MS-SSIM is a per-channel mean, so repeating the channel
to RGB would give the identical value.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pytorch_msssim.ssim import _fspecial_gauss_1d, _ssim
from torch import Tensor

from metrics.base import IMAGES, SAMPLES, EvalContext, Metric, MetricUnavailable

WANG_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, the library default


def ms_ssim_settings(side: int) -> tuple[int, tuple[float, ...]]:
    """(window size, scale weights) for images whose smaller side is ``side`` (rule in the module doc)."""

    def scales(win: int) -> int:
        n = 0
        while n < len(WANG_WEIGHTS) and side > (win - 1) * 2**n:
            n += 1
        return n

    for win in (11, 9, 7):
        if scales(win) >= 3 or scales(win) == len(WANG_WEIGHTS):
            break
    n = scales(win)
    if n < 1:
        raise MetricUnavailable(f"images of {side} px are too small for MS-SSIM (need > 6 px)")
    if n == len(WANG_WEIGHTS):
        return win, WANG_WEIGHTS  # exactly the library default (these sum to 1.0001, kept as published)
    w = WANG_WEIGHTS[:n]
    return win, tuple(x / sum(w) for x in w)


def ms_ssim(x: Tensor, y: Tensor, win_size: int = 11, weights: tuple[float, ...] = WANG_WEIGHTS,
            data_range: float = 255.0) -> Tensor:
    """Per-pair MS-SSIM (Wang et al. 2003 eq. 7) of float images (N, C, H, W) with ``len(weights)``
    scales: pytorch_msssim's ``ms_ssim`` without its fixed 5-scale size assertion."""
    win = _fspecial_gauss_1d(win_size, 1.5).repeat([x.shape[1], 1, 1, 1]).to(x)
    mcs = []
    for i in range(len(weights)):
        ssim_per_channel, cs = _ssim(x, y, win=win, data_range=data_range, size_average=False, K=(0.01, 0.03))
        if i < len(weights) - 1:
            mcs.append(torch.relu(cs))
            padding = [s % 2 for s in x.shape[2:]]
            x = F.avg_pool2d(x, kernel_size=2, padding=padding)
            y = F.avg_pool2d(y, kernel_size=2, padding=padding)
    stack = torch.stack([*mcs, torch.relu(ssim_per_channel)], dim=0)  # (levels, N, C)
    w = torch.tensor(weights, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    return torch.prod(stack**w, dim=0).mean(1)


def pair_indices(n: int, max_pairs: int, seed: int) -> tuple[Tensor, Tensor]:
    """All unordered pairs i < j when there are at most ``max_pairs``, else ``max_pairs`` seeded
    random pairs with i ≠ j (α-GAN §4: average pairwise MS-SSIM)."""
    if n < 2:
        raise MetricUnavailable(f"sample diversity needs at least 2 images, got {n}")
    if n * (n - 1) // 2 <= max_pairs:
        i, j = torch.triu_indices(n, n, offset=1)
        return i, j
    g = torch.Generator().manual_seed(seed)
    i = torch.randint(n, (max_pairs,), generator=g)
    j = (i + torch.randint(1, n, (max_pairs,), generator=g)) % n  # uniform over j ≠ i
    return i, j


def diversity(images: Tensor, max_pairs: int, seed: int = 0, batch: int = 500) -> tuple[float, int, int, int]:
    """α-GAN §4 sample diversity 1 − mean MS-SSIM over pairs of uint8 images (N, C, H, W).

    Returns (diversity, pairs used, window size, scales)."""
    win, weights = ms_ssim_settings(min(images.shape[-2:]))
    i, j = pair_indices(len(images), max_pairs, seed)
    x = images.float()
    total = 0.0
    for s in range(0, len(i), batch):
        total += ms_ssim(x[i[s:s + batch]], x[j[s:s + batch]], win, weights).double().sum().item()
    return 1.0 - total / len(i), len(i), win, len(weights)


class MSSSIMDiversity(Metric):
    """1 − mean pairwise MS-SSIM of samples (α-GAN §4, Fig. 5a); the test set is the reference
    (CelebA test: 0.621). Distance to the reference matters, not the value itself."""

    name = "ms_ssim_diversity"
    description = "sample diversity 1 - mean pairwise MS-SSIM (test set = reference value)"
    paper = "α-GAN §4, Fig. 5a (after Odena et al. 2017)"
    direction = "higher"  # reported as in α-GAN; compare against the test-set row
    needs = frozenset({SAMPLES, IMAGES})
    n_paper, n_quick = 1_000, 200
    pairs_paper, pairs_quick = 10_000, 2_000

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        x = ctx.samples(self.n(ctx))
        max_pairs = self.pairs_paper if ctx.sample_setting == "paper" else self.pairs_quick
        value, pairs, win, scales = diversity(x, max_pairs, seed=ctx.seed)
        return {self.name: value, f"{self.name}.pairs": pairs, f"{self.name}.win_size": win,
                f"{self.name}.scales": scales, "__n__": len(x)}
