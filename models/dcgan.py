"""DCGAN (Radford et al. 2016) with the non-saturating loss (Goodfellow et al. 2014, §3)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from bench.data.base import DataSpec
from bench.errors import ConfigError
from models import blocks
from models.base import SAMPLE, Model, ModelConfig, bce_logits


@dataclass
class DCGANConfig(ModelConfig):
    # Generator updates per discriminator update: α-GAN's appendix uses 2 for DCGAN; 1 elsewhere.
    g_steps: int = 1

    def validate(self) -> None:
        super().validate()
        if self.g_steps < 1:
            raise ConfigError(f"bad value for g_steps: {self.g_steps} (must be >= 1)")


def discriminator_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """−[log D(x) + log(1 − D(G(z)))] as BCE on logits (GAN eq. 1, discriminator side)."""
    return bce_logits(d_real, 1.0) + bce_logits(d_fake, 0.0)


def generator_loss(d_fake: Tensor) -> Tensor:
    """Non-saturating generator loss −log D(G(z)) (Goodfellow et al. 2014, §3)."""
    return bce_logits(d_fake, 1.0)


class DCGAN(Model):
    """Generator and discriminator from the shared fair blocks; one D step then ``g_steps`` G steps."""

    Config = DCGANConfig
    paper = "Radford et al. 2016 (DCGAN), non-saturating loss; GAN baseline of AVAE Table I"
    capabilities = frozenset({SAMPLE})

    def __init__(self, cfg: DCGANConfig, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.gen = blocks.generator(spec, cfg.latent_dim, cfg.width, cfg.mlp_hidden)
        self.disc = blocks.critic(spec, cfg.width, 1, "bn", cfg.mlp_hidden)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"gen": self.adam(self.gen.parameters()), "disc": self.adam(self.disc.parameters())}

    def sample(self, n: int) -> Tensor:
        return self.gen(self.prior(n)).view(-1, *self.spec.shape)

    def train_step(self, real, step: int) -> dict[str, Tensor]:  # noqa: ANN001
        x = real()
        with torch.no_grad():  # the fakes are inputs of D's update: no graph through G (same values as .detach())
            fake = self.sample(len(x))
        d_loss = discriminator_loss(self.disc(x), self.disc(fake))
        self.update("disc", d_loss)
        for _ in range(self.cfg.g_steps):
            g_loss = generator_loss(self.disc(self.sample(len(x))))
            self.update("gen", g_loss)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}
