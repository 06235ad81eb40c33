"""Offline image datasets that need no download: ``digits`` and ``shapes``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from bench.data.base import Dataset, DataSpec, Split


def digits(data_root: str | None = None, size: int = 32) -> Dataset:
    """scikit-learn's 1,797 8×8 handwritten digits, bilinearly up-sampled to ``size``×``size`` (default 32;
    ``digits@16`` loads 16 px, which keeps every source pixel), 1 channel.

    A fixed, seeded 1,497 / 300 train / test split; labels 0–9.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0  # [0, 1]
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = (x.clamp(0, 1) * 255).round().to(torch.uint8)
    y = torch.tensor(bunch.target, dtype=torch.long)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    tr, te = perm[:1497], perm[1497:]
    spec = DataSpec("digits" if size == 32 else f"digits@{size}", "image", (1, size, size), 10,
                    f"scikit-learn 8x8 digits up-sampled to {size} px (1,497 train / 300 test)")
    return Dataset(spec, {"train": Split(x[tr], y[tr]), "test": Split(x[te], y[te])})


SHAPES = ("circle", "square", "triangle")
COLOURS = ((230, 60, 60), (60, 200, 80), (70, 110, 240), (240, 200, 50))
N_MODES = len(SHAPES) * len(COLOURS)


def render_shapes(labels: torch.Tensor, g: torch.Generator, size: int = 32) -> torch.Tensor:
    """Draw one shape per label (mode = shape × colour) with seeded jitter of size and position.

    Returns uint8 (N, 3, size, size) on a dark background.
    """
    n = len(labels)
    yy, xx = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    radius = size * (0.22 + 0.08 * torch.rand(n, generator=g))
    cx = size / 2 + (torch.rand(n, generator=g) - 0.5) * size * 0.25
    cy = size / 2 + (torch.rand(n, generator=g) - 0.5) * size * 0.25
    dx = xx[None] - cx[:, None, None]
    dy = yy[None] - cy[:, None, None]
    r = radius[:, None, None]
    shape = labels // len(COLOURS)
    colour = labels % len(COLOURS)
    circle = dx**2 + dy**2 <= r**2
    square = (dx.abs() <= r * 0.85) & (dy.abs() <= r * 0.85)
    # Upward triangle: below the two slanted edges and above the base.
    triangle = (dy <= r * 0.75) & (dy >= -r + 2 * dx.abs() * math.tan(math.radians(30)) * 1.7)
    mask = torch.where((shape == 0)[:, None, None], circle, torch.where((shape == 1)[:, None, None], square, triangle))
    rgb = torch.tensor(COLOURS, dtype=torch.float32)[colour]  # (N, 3)
    img = torch.full((n, 3, size, size), 20.0)
    img = torch.where(mask[:, None], rgb[:, :, None, None].expand(-1, -1, size, size), img)
    return img.round().clamp(0, 255).to(torch.uint8)


def shapes(data_root: str | None = None, n_train: int = 10_000, n_test: int = 2_000) -> Dataset:
    """Procedural coloured shapes at 32 px with 12 known modes (3 shapes × 4 colours); label = mode."""
    g = torch.Generator().manual_seed(1234)
    ytr = torch.randint(N_MODES, (n_train,), generator=g)
    yte = torch.randint(N_MODES, (n_test,), generator=g)
    spec = DataSpec("shapes", "image", (3, 32, 32), N_MODES,
                    "procedural coloured shapes, 32 px, 12 modes (3 shapes x 4 colours)")
    return Dataset(spec, {"train": Split(render_shapes(ytr, g), ytr), "test": Split(render_shapes(yte, g), yte)})
