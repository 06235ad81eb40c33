"""Model construction shared by the training benchmarks: tiny CPU settings, the adversarial phase reached fast."""

from __future__ import annotations

from typing import Any

import torch

from bench import config as cfgmod
from bench.data.base import DataSpec
from bench.registries import models
from models.base import Model

WIDTH, BATCH, LATENT = 16, 32, 32


def bench_overrides(cfg: Any) -> dict[str, Any]:
    """Width 16, batch 32, latent 32; models with a pre-training phase (AVAE-S Alg. 1) or a calibration probe
    (VAE-S §III) get 1-2 steps of it, so the timed steps are the model's main (adversarial) iteration."""
    out: dict[str, Any] = {"width": WIDTH, "batch_size": BATCH, "latent_dim": LATENT}
    if hasattr(cfg, "pretrain_steps"):
        out["pretrain_steps"] = 1
    if hasattr(cfg, "calibration_steps"):
        out["calibration_steps"] = 2
    return out


def build(name: str, spec: DataSpec, steps: int, seed: int = 0, **extra: Any) -> Model:
    """Registered model ``name`` with :func:`bench_overrides` (+ ``extra``), seeded."""
    cls = models().get(name)
    cfg = cls.Config()
    cfg = cfgmod.override(cfg, cls.dataset_defaults(spec))
    cfg = cfgmod.override(cfg, {**bench_overrides(cfg), "steps": steps, **extra})
    torch.manual_seed(seed)
    return cls(cfg, spec)
