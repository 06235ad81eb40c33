"""Model registry: one line per model (name, ``module:Class``, description with its paper).

Adding a model = one file in ``models/`` (a :class:`models.base.Model` subclass) + one line here.
"""

from __future__ import annotations

from bench.registry import Registry

MODELS = Registry("model")
# --- baselines (foundation + model zoo I) ---
MODELS.register("vae", "models.vae:VAE", "VAE, β-weighted KL (Kingma & Welling 2014; AVAE eq. 9)")
MODELS.register("dcgan", "models.dcgan:DCGAN", "DCGAN, non-saturating loss (Radford et al. 2016)")
# --- hybrids: AVAE, IDVAE, AGE, alpha-GAN (model zoo II) ---
# --- hybrids: BEGAN*-LSM, VAE-S, AVAE-S (model zoo II) ---
