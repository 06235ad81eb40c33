"""VAE (Kingma & Welling 2014) with a β-weighted KL, as trained in AVAE §V (AVAE eq. 9)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from bench.data.base import DataSpec
from models import blocks
from models.base import AVAE_BETA, GaussianEncoderDecoder, ModelConfig, kl_normal


@dataclass
class VAEConfig(ModelConfig):
    beta: float = 1.0  # KL weight; per-dataset defaults from AVAE §V


def vae_loss(x: Tensor, x_hat: Tensor, mu: Tensor, logvar: Tensor, beta: float) -> tuple[Tensor, Tensor, Tensor]:
    """AVAE eq. 9: L = ½‖μ_D(z) − x‖² + β · ½ Σ_j (σ_j² + μ_j² − 1 − log σ_j²), summed over
    dimensions and averaged over the batch. Returns (loss, reconstruction term, KL term)."""
    rec = 0.5 * (x_hat - x).pow(2).flatten(1).sum(1).mean()
    kl = kl_normal(mu, logvar).mean()
    return rec + beta * kl, rec, kl


class VAE(GaussianEncoderDecoder):
    """Encoder → (μ, log σ²), one reparametrised sample z = μ + σ ⊙ ε, decoder μ_D(z).

    Reconstruction for metrics = D(μ_E(x)) (the posterior mean, no sampling noise).
    """

    Config = VAEConfig
    paper = "Kingma & Welling 2014; trained as in AVAE §V (eq. 9)"

    def __init__(self, cfg: VAEConfig, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.enc = blocks.encoder(spec, cfg.width, 2 * cfg.latent_dim, cfg.mlp_hidden)
        self.dec = blocks.generator(spec, cfg.latent_dim, cfg.width, cfg.mlp_hidden)

    @classmethod
    def dataset_defaults(cls, spec: DataSpec) -> dict[str, Any]:
        return {"beta": AVAE_BETA[spec.name]} if spec.name in AVAE_BETA else {}

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"vae": self.adam(list(self.enc.parameters()) + list(self.dec.parameters()))}

    def losses(self, x: Tensor) -> dict[str, Tensor]:
        mu, logvar = self.posterior(x)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        loss, rec, kl = vae_loss(x, self.decode(z), mu, logvar, self.cfg.beta)
        return {"loss": loss, "rec": rec, "kl": kl}

    def train_step(self, real, step: int) -> dict[str, Tensor]:  # noqa: ANN001
        out = self.losses(real())
        self.update("vae", out["loss"])
        return {k: v.detach() for k, v in out.items()}
