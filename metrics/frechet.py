"""Fréchet distance between Gaussians fitted to features (Heusel et al. 2017, eq. 6; FID, FRD, FD).

d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^{1/2}), computed in float64 with scipy's ``sqrtm`` and, when
the product is near-singular (a non-finite square root), clean-fid's (and pytorch-fid's) fallback of adding
ε = 1e-6 to both diagonals. torch-fidelity 0.4.0 has no such fallback: it takes Tr((Σ₁Σ₂)^{1/2}) as the sum
of the square roots of the eigenvalues of Σ₁Σ₂ (``metric_fid.fid_statistics_to_metric``); the two routes
agree wherever the product is well conditioned (tests/test_metrics_fid_family.py).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg


def moments(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (rows = samples) in float64."""
    f = np.asarray(features, dtype=np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6) -> float:
    """Heusel et al. 2017 eq. 6: ‖μ₁ − μ₂‖² + Tr(Σ₁) + Tr(Σ₂) − 2 Tr((Σ₁ Σ₂)^{1/2})."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    diff = mu1 - mu2
    with warnings.catch_warnings():  # singular products are handled below, as clean-fid does
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        # no ``disp=False``: deprecated in SciPy 1.17 (and it returns a bare array for 1 × 1 input)
        covmean = linalg.sqrtm(sigma1.dot(sigma2))
        if not np.isfinite(covmean).all():
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"imaginary component {np.max(np.abs(covmean.imag))} in the matrix square root")
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def frechet_from_features(f1: np.ndarray, f2: np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted to two feature sets."""
    return frechet_distance(*moments(f1), *moments(f2))


def frechet_to_features(mu_ref: np.ndarray, sigma_ref: np.ndarray, features: np.ndarray) -> tuple[float, int]:
    """Heusel et al. 2017 eq. 6 between N(mu_ref, sigma_ref) and the Gaussian fitted to ``features`` (n × d).

    Written by hand (no library has it) because the d × d route costs O(d³) per call (tens of seconds for
    d = 2048 on a CPU): when n ≤ d the fitted covariance is Σ_f = BᵀB/(n−1) with B the centred features, and
    the non-zero eigenvalues of Σ_ref Σ_f equal those of the symmetric PSD n × n matrix B Σ_ref Bᵀ/(n−1)
    (eig(XY) = eig(YX)), so Tr((Σ_ref Σ_f)^{1/2}) = Σ √λ_i exactly. For n > d it is :func:`frechet_distance`.
    Returns (distance, n).
    """
    f = np.asarray(features, dtype=np.float64)
    n, d = f.shape
    if n > d:
        return frechet_distance(*moments(f), mu_ref, sigma_ref), n
    mu_f = f.mean(axis=0)
    b = f - mu_f
    sigma_ref = np.asarray(sigma_ref, np.float64)
    m = b @ sigma_ref @ b.T / (n - 1)
    lam = np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0.0, None)  # PSD up to round-off
    diff = mu_f - np.asarray(mu_ref, np.float64)
    tr_f = float(np.sum(b * b)) / (n - 1)
    return float(diff.dot(diff) + np.trace(sigma_ref) + tr_f - 2 * np.sum(np.sqrt(lam))), n
