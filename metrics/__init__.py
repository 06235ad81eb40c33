"""Metric registry: one line per metric (name, ``module:Class``, description).

Each class declares its needs, direction and sample counts (see :mod:`metrics.base`).
"""

from __future__ import annotations

from bench.registry import Registry

METRICS = Registry("metric")
# --- reconstruction and pixel statistics (foundation) ---
METRICS.register("mse", "metrics.reconstruction:MSE", "MSE test image vs reconstruction, [0,1] pixels (AVAE, IDVAE, AVAE-S)")
METRICS.register("cosine", "metrics.reconstruction:Cosine", "cosine similarity test image vs reconstruction (AVAE-S)")
METRICS.register("sharpness", "metrics.sharpness:Sharpness", "Laplacian-variance sharpness of samples (AVAE-S Table II)")
METRICS.register("sharpness_recon", "metrics.sharpness:SharpnessRecon", "Laplacian sharpness of test recons (AVAE-S Table III)")
# --- Inception family, FRD, DINOv2: one pass per (image set, extractor) (metrics A) ---

# --- perceptual, diversity, independent critic, domain classifier (metrics B) ---

# --- 2-D mode coverage (model zoo I) ---
METRICS.register("modes", "metrics.modes:ModesCaptured", "modes captured, >= 1 sample within 3 sigma (2-D mixtures)")
METRICS.register("hq_share", "metrics.modes:HQShare", "share of high-quality samples, within 3 sigma of a mode (2-D mixtures)")
METRICS.register("mode_kl", "metrics.modes:ModeKL", "KL of the high-quality mode histogram to uniform (2-D mixtures)")
