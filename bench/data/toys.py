"""Offline 2-D datasets: ``ring8``, ``grid25`` (Gaussian mixtures) and ``avae-toy`` (AVAE §V-A)."""

from __future__ import annotations

import math

import torch

from bench.data.base import Dataset, DataSpec, Split

N_TRAIN, N_TEST = 20_000, 5_000


def _mixture(name: str, centres: list[tuple[float, float]], std: float, seed: int, desc: str) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    c = torch.tensor(centres, dtype=torch.float32)

    def draw(n: int) -> Split:
        k = torch.randint(len(c), (n,), generator=g)
        return Split(c[k] + std * torch.randn(n, 2, generator=g), k, "points")

    spec = DataSpec(name, "points", (2,), len(c), desc, tuple(map(tuple, c.tolist())), std)
    return Dataset(spec, {"train": draw(N_TRAIN), "test": draw(N_TEST)})


def ring8(data_root: str | None = None) -> Dataset:
    """8 Gaussians on the unit circle, std 0.01: the ring of VEEGAN (Srivastava et al. 2017) and PacGAN
    (Lin et al. 2018), whose Table 1 numbers ``results/published/toys_mode_coverage.csv`` ships.

    (Before issue 16 the suite's ring had radius 2 and std 0.02, WGAN-GP's ``gan_toy.py`` before its
    ÷ 1.414; that geometry is not kept: no published number uses it.)"""
    centres = [(math.cos(2 * math.pi * i / 8), math.sin(2 * math.pi * i / 8)) for i in range(8)]
    return _mixture("ring8", centres, 0.01, 8, "8 Gaussians on the unit circle, std 0.01 (VEEGAN / PacGAN)")


def grid25(data_root: str | None = None) -> Dataset:
    """25 Gaussians on the grid {-4,-2,0,2,4}², std 0.05 (VEEGAN, PacGAN Table 1)."""
    centres = [(float(i), float(j)) for i in range(-4, 5, 2) for j in range(-4, 5, 2)]
    return _mixture("grid25", centres, 0.05, 25, "25 Gaussians on a 5x5 grid (spacing 2, std 0.05)")


def avae_toy_sample(n: int, g: torch.Generator) -> torch.Tensor:
    """AVAE §V-A: z1, z2, ε ~ N(0, 1); x = (3 z1 + 0.1 ε, cos(3 z1 + tanh(3 z2)) + 0.1 ε)."""
    z1, z2, eps = torch.randn(3, n, generator=g)
    return torch.stack([3 * z1 + 0.1 * eps, torch.cos(3 * z1 + torch.tanh(3 * z2)) + 0.1 * eps], dim=1)


def avae_toy(data_root: str | None = None) -> Dataset:
    """The 2-D toy of AVAE §V-A (two generative factors, one shared noise ε)."""
    g = torch.Generator().manual_seed(2020)
    spec = DataSpec("avae-toy", "points", (2,), None, "AVAE §V-A toy: (3z1, cos(3z1 + tanh(3z2))) + noise")
    return Dataset(spec, {"train": Split(avae_toy_sample(N_TRAIN, g), None, "points"),
                          "test": Split(avae_toy_sample(N_TEST, g), None, "points")})
