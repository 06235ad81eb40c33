"""VAE (Kingma & Welling 2014) with a β-weighted KL, as trained in AVAE §V (AVAE eq. 9).

Scale: ½‖μ_D(z) − x‖² summed over pixels ([-1, 1] range) + β · KL summed over latent dims, batch mean, so
β is the effective KL weight against the unit-variance Gaussian log-likelihood (tests/test_effective_kl_weight_vae_family.py).
σ_z: ``sigma_z="amortised"`` (default everywhere but ``avae_table1``) is the usual x-dependent 2·dim(z) head;
``"learned"`` is AVAE Fig. 5's encoder, σ_z "independent of x and learned directly" (one parameter per
latent dim), which ``bench/sweeps/avae_table1.yaml`` uses so that Table I compares like with like.
Networks: ``arch="dcgan"`` (default) the shared fair encoder/generator of models/blocks.py; ``"avaes"`` the
AVAE-S Table I encoder/decoder (models/blocks_avaes.py), which ``bench/sweeps/avaes_table3.yaml`` sets
(with width 24, latent 32) because AVAE-S §III trains its VAE, AVAE, VAE-S and AVAE-S on one architecture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from bench.config import bounded
from bench.data.base import DataSpec
from models import blocks, blocks_avaes
from models.base import AVAE_BETA, GaussianEncoderDecoder, ModelConfig, kl_normal


@dataclass
class VAEConfig(ModelConfig):
    beta: float = bounded(1.0, ge=0)  # KL weight; per-dataset defaults from AVAE §V
    sigma_z: Literal["amortised", "learned"] = "amortised"  # x-dependent σ head, or AVAE Fig. 5's learned σ_z
    arch: Literal["dcgan", "avaes"] = "dcgan"  # shared fair nets, or AVAE-S Table I's encoder/decoder


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
        if cfg.arch == "avaes":  # build_encoder's heads on AVAE-S Table I's networks (built as VAE-S builds them)
            d = cfg.latent_dim
            learned = cfg.sigma_z == "learned"
            self.enc = blocks_avaes.encoder(spec, cfg.arch, cfg.width, d if learned else 2 * d, cfg.mlp_hidden)
            self.log_sigma = nn.Parameter(torch.zeros(d)) if learned else None
            self.dec = blocks_avaes.decoder(spec, cfg.arch, d, cfg.width, cfg.mlp_hidden)
        else:
            self.build_encoder(cfg, spec, cfg.sigma_z)
            self.dec = blocks.generator(spec, cfg.latent_dim, cfg.width, cfg.mlp_hidden)

    @classmethod
    def dataset_defaults(cls, spec: DataSpec) -> dict[str, Any]:
        return {"beta": AVAE_BETA[spec.name]} if spec.name in AVAE_BETA else {}

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"vae": self.adam(self.encoder_parameters() + list(self.dec.parameters()))}

    def losses(self, x: Tensor) -> dict[str, Tensor]:
        mu, logvar = self.posterior(x)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        loss, rec, kl = vae_loss(x, self.decode(z), mu, logvar, self.cfg.beta)
        return {"loss": loss, "rec": rec, "kl": kl}

    def train_step(self, real, step: int) -> dict[str, Tensor]:  # noqa: ANN001
        out = self.losses(real())
        self.update("vae", out["loss"])
        return {k: v.detach() for k, v in out.items()}
