"""sharpness (AVAE-S §IV) against an independent scipy reference: BT.601 luma in [0, 1],
scipy.signal.convolve2d 'valid' with the 4-neighbour Laplacian, population variance per image."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.signal import convolve2d

from bench.data.base import Dataset, DataSpec, Split
from metrics.base import EvalContext, evaluate
from metrics.sharpness import sharpness_per_image

LAPLACIAN = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def scipy_sharpness(images: np.ndarray) -> np.ndarray:
    """Reference written from the paper's words with numpy/scipy only (uint8 N, C, H, W)."""
    x = images.astype(np.float64) / 255.0
    gray = x[:, 0] if x.shape[1] == 1 else 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    return np.array([convolve2d(g, LAPLACIAN, mode="valid").var() for g in gray])


@pytest.mark.parametrize("channels", [1, 3])
def test_sharpness_equals_scipy_convolve2d(channels: int) -> None:
    g = torch.Generator().manual_seed(channels)
    images = torch.randint(0, 256, (6, channels, 24, 20), generator=g, dtype=torch.uint8)
    images[0] = 128  # a flat image has zero Laplacian variance
    ours = sharpness_per_image(images).double().numpy()
    ref = scipy_sharpness(images.numpy())
    assert ref[0] == 0.0
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7)


def test_sharpness_metric_mean_over_samples_matches_reference() -> None:
    g = torch.Generator().manual_seed(7)
    data = torch.randint(0, 256, (40, 3, 16, 16), generator=g, dtype=torch.uint8)
    ds = Dataset(DataSpec("rand", "image", (3, 16, 16)), {"train": Split(data), "test": Split(data)})
    out = evaluate(EvalContext(ds, sample_images=data[:25]), ["sharpness"])
    assert out["sharpness.n"] == 25
    assert out["sharpness"] == pytest.approx(scipy_sharpness(data[:25].numpy()).mean(), rel=1e-5)
