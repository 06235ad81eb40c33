"""``mse`` and ``cosine`` (metrics/reconstruction.py) against numpy and hand-computed values on
hand-made (image, reconstruction) pairs, pixels read in [0, 1] (AVAE Table I, IDVAE §4, AVAE-S
Table III)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.data.base import Dataset, DataSpec, Split
from metrics.base import EvalContext, evaluate

# Three 1×2×2 images; the "model" reconstructs each as its negative in the model range, i.e. the uint8
# image 255 − v (exact: v/127.5 − 1 negated is (255 − v)/127.5 − 1).
HAND = np.array([[[[0, 255], [255, 0]]],  # → [[255, 0], [0, 255]]: per-image MSE 1, cosine 0 (orthogonal)
                 [[[51, 51], [51, 51]]],  # 0.2 → 0.8 everywhere: MSE 0.36, cosine 1 (parallel)
                 [[[255, 255], [0, 0]]]], dtype=np.uint8)  # → [[0, 0], [255, 255]]: MSE 1, cosine 0


def _context(images: np.ndarray) -> EvalContext:
    data = torch.from_numpy(images)
    ds = Dataset(DataSpec("hand", "image", tuple(images.shape[1:])), {"train": Split(data), "test": Split(data)})
    return EvalContext(ds, recon_fn=lambda x: -x, n_override=len(images))


def test_hand_computed_pairs() -> None:
    out = evaluate(_context(HAND), ["mse", "cosine"])
    assert out["mse"] == pytest.approx((1 + 0.36 + 1) / 3, abs=1e-6)
    assert out["cosine"] == pytest.approx(1 / 3, abs=1e-6)


def test_random_pairs_against_numpy() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 3, 5, 5), dtype=np.uint8)
    out = evaluate(_context(images), ["mse", "cosine"])
    a = images.reshape(7, -1).astype(np.float64) / 255
    b = (255 - images).reshape(7, -1).astype(np.float64) / 255
    assert out["mse"] == pytest.approx(np.mean(np.mean((a - b) ** 2, axis=1)), rel=1e-6)
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert out["cosine"] == pytest.approx(np.mean(cos), rel=1e-6)
    # cosine is the mean of per-image cosines (AVAE-S: per reconstruction), not one cosine of the pooled pixels
    assert out["cosine"] != pytest.approx(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b)), rel=1e-9)
