"""α-GAN: Variational Approaches for Auto-Encoding GANs (Rosca, Lakshminarayanan, Warde-Farley &
Mohamed 2017; paper 004, eqs. 8–9, Alg. 1 in App. B) and its empirical-KL ablation (App. D).

Four networks: a deterministic encoder q_η (the fair encoder block, no output activation), the
generator G_θ, the data discriminator D_φ (real data vs reconstructions *and* samples) and the
code discriminator C_ω (a 3-hidden-layer MLP of 750 leaky units, App. H.4; real = prior draws).
Per iteration (Alg. 1): ``ge_steps`` = 2 × (encoder step eq. 11, generator step eq. 13), then one
discriminator step (eq. 15) and one code-discriminator step (eq. 17) (α-GAN §6: "we update the
encoder and the generator twice for each discriminator and code discriminator update").
One real batch is drawn per iteration and reused by all its steps; prior draws are fresh per step.

Synthetic likelihood terms use the reverse-KL, non-saturating form of Alg. 1 lines 3–4:
R_D(x) = −log D(x) + log(1 − D(x)) = −logit D(x), R_C(z) = −log C(z) + log(1 − C(z)) = −logit C(z).

The reconstruction term λ‖x − x̂‖₁ is taken as λ × the per-pixel mean absolute error: with the
paper's sweep λ ∈ {1, 5, 10, 50} beside unit-weight adversarial terms (App. H.1), a per-image sum
(3072–12288 terms) would make the adversarial terms irrelevant. Adam(β1 = 0.5, β2 = 0.9), fixed
learning rates: 5e-4 for both discriminators, generator/encoder from the sweep {1e-4, 5e-4}.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from bench.data.base import DataSpec
from bench.errors import ConfigError
from models import blocks
from models.age import empirical_kl, l1_mean
from models.base import ENCODE, RECONSTRUCT, SAMPLE, Model, ModelConfig, bce_logits


@dataclass
class AlphaGANConfig(ModelConfig):
    """α-GAN hyper-parameters (App. H: Adam(0.5, 0.9), fixed lrs, λ sweep {1, 5, 10, 50})."""

    beta2: float = 0.9
    lam: float = 10.0  # λ, weight of the per-pixel mean L1 reconstruction (encoder and generator)
    lr_enc: float = 5e-4  # sweep {1e-4, 5e-4}
    lr_gen: float = 5e-4  # sweep {1e-4, 5e-4}
    lr_disc: float = 5e-4  # data discriminator
    lr_code: float = 5e-4  # code discriminator
    ge_steps: int = 2  # encoder + generator updates per (code) discriminator update
    code_hidden: int = 750  # units per hidden layer of the code discriminator (3 layers)
    latent_reg: Literal["code_disc", "empirical_kl"] = "code_disc"  # App. D ablation: empirical KL

    def validate(self) -> None:
        super().validate()
        if self.lam < 0:
            raise ConfigError(f"bad value for lam: {self.lam} (must be >= 0)")
        for key in ("lr_enc", "lr_gen", "lr_disc", "lr_code"):
            if not getattr(self, key) > 0:
                raise ConfigError(f"bad value for {key}: {getattr(self, key)} (must be > 0)")
        if self.ge_steps < 1:
            raise ConfigError(f"bad value for ge_steps: {self.ge_steps} (must be >= 1)")


@dataclass
class AlphaGANEKLConfig(AlphaGANConfig):
    latent_reg: Literal["code_disc", "empirical_kl"] = "empirical_kl"


def synthetic_ratio(logits: Tensor) -> Tensor:
    """α-GAN Alg. 1 lines 3–4: R(x) = −log D(x) + log(1 − D(x)) on logits, batch mean (= −mean logit;
    written with log-sigmoids so that it reads as the paper's formula)."""
    f = torch.nn.functional.logsigmoid
    return (-f(logits) + f(-logits)).mean()


def encoder_loss(x: Tensor, x_hat: Tensor, latent_term: Tensor, lam: float) -> Tensor:
    """α-GAN eq. 11: λ‖x − x̂‖₁ + R_C(ẑ) (``latent_term`` = R_C(ẑ), or the empirical KL of eq. 18 for
    the App. D ablation)."""
    return lam * l1_mean(x, x_hat) + latent_term


def generator_loss(x: Tensor, x_hat: Tensor, d_recon: Tensor, d_sample: Tensor, lam: float) -> Tensor:
    """α-GAN eq. 13: λ‖x − x̂‖₁ + R_D(x̂) + R_D(G(z)), z ~ N(0, I)."""
    return lam * l1_mean(x, x_hat) + synthetic_ratio(d_recon) + synthetic_ratio(d_sample)


def discriminator_loss(d_real: Tensor, d_recon: Tensor, d_sample: Tensor) -> Tensor:
    """α-GAN eq. 15: −log D(x) − log(1 − D(x̂)) − log(1 − D(G(z))), each a batch mean."""
    return bce_logits(d_real, 1.0) + bce_logits(d_recon, 0.0) + bce_logits(d_sample, 0.0)


def code_discriminator_loss(c_code: Tensor, c_prior: Tensor) -> Tensor:
    """α-GAN eq. 17: −log(1 − C(ẑ)) − log C(z), z ~ N(0, I) ("real"), batch means."""
    return bce_logits(c_code, 0.0) + bce_logits(c_prior, 1.0)


class AlphaGAN(Model):
    """α-GAN with a code discriminator (``alpha-gan``): samples G(z), reconstructions G(E(x))."""

    Config = AlphaGANConfig
    paper = "Rosca et al., Variational Approaches for Auto-Encoding Generative Adversarial Networks (2017), Alg. 1"
    capabilities = frozenset({SAMPLE, RECONSTRUCT, ENCODE})

    def __init__(self, cfg: AlphaGANConfig, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.enc = blocks.encoder(spec, cfg.width, cfg.latent_dim, cfg.mlp_hidden)
        self.gen = blocks.generator(spec, cfg.latent_dim, cfg.width, cfg.mlp_hidden)
        self.disc = blocks.critic(spec, cfg.width, 1, "bn", cfg.mlp_hidden)
        self.code_disc = (blocks.MLP(cfg.latent_dim, 1, cfg.code_hidden, layers=3, act="lrelu")
                          if cfg.latent_reg == "code_disc" else None)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.cfg
        opts = {"enc": self.adam(self.enc.parameters(), lr=c.lr_enc), "gen": self.adam(self.gen.parameters(), lr=c.lr_gen),
                "disc": self.adam(self.disc.parameters(), lr=c.lr_disc)}
        if self.code_disc is not None:
            opts["code"] = self.adam(self.code_disc.parameters(), lr=c.lr_code)
        return opts

    def generate(self, z: Tensor) -> Tensor:
        return self.gen(z).view(-1, *self.spec.shape)

    def latent_term(self, z_hat: Tensor) -> Tensor:
        """R_C(ẑ) (eq. 11) or, for ``alpha-gan-ekl``, the empirical KL of eq. 18 / latent size."""
        if self.code_disc is None:
            return empirical_kl(z_hat)
        return synthetic_ratio(self.code_disc(z_hat))

    def step_encoder(self, x: Tensor) -> Tensor:
        """Alg. 1 line 6: update η on eq. 11 (through G, which is not updated)."""
        z_hat = self.enc(x)
        loss = encoder_loss(x, self.generate(z_hat), self.latent_term(z_hat), self.cfg.lam)
        self.update("enc", loss)
        return loss.detach()

    def step_generator(self, x: Tensor) -> Tensor:
        """Alg. 1 line 7: update θ on eq. 13."""
        with torch.no_grad():
            z_hat = self.enc(x)
        x_hat = self.generate(z_hat)
        d_recon = self.disc(x_hat)
        d_sample = self.disc(self.generate(self.prior(len(x))))
        loss = generator_loss(x, x_hat, d_recon, d_sample, self.cfg.lam)
        self.update("gen", loss)
        return loss.detach()

    def step_discriminators(self, x: Tensor) -> dict[str, Tensor]:
        """Alg. 1 lines 8–9: update φ on eq. 15, then ω on eq. 17 (when there is a code discriminator)."""
        with torch.no_grad():
            z_hat = self.enc(x)
            x_hat = self.generate(z_hat)
            x_sample = self.generate(self.prior(len(x)))
        loss_d = discriminator_loss(self.disc(x), self.disc(x_hat), self.disc(x_sample))
        self.update("disc", loss_d)
        out = {"d_loss": loss_d.detach()}
        if self.code_disc is not None:
            loss_c = code_discriminator_loss(self.code_disc(z_hat), self.code_disc(self.prior(len(x))))
            self.update("code", loss_c)
            out["c_loss"] = loss_c.detach()
        else:
            out["kl_emp"] = empirical_kl(z_hat)
        with torch.no_grad():
            out["l1"] = l1_mean(x, x_hat)
        return out

    def train_step(self, real, step: int) -> dict[str, Tensor]:  # noqa: ANN001
        x = real()
        for _ in range(self.cfg.ge_steps):
            e_loss = self.step_encoder(x)
            g_loss = self.step_generator(x)
        return {"e_loss": e_loss, "g_loss": g_loss, **self.step_discriminators(x)}

    def sample(self, n: int) -> Tensor:
        return self.generate(self.prior(n))

    def encode(self, x: Tensor) -> Tensor:
        return self.enc(x)

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.generate(self.encode(x))


class AlphaGANEKL(AlphaGAN):
    """α-GAN with the empirical KL of eq. 18 (÷ latent size) instead of the code discriminator
    (``alpha-gan-ekl``, App. D)."""

    Config = AlphaGANEKLConfig
    paper = "Rosca et al. 2017, alpha-GAN App. D ablation (empirical KL, eq. 18)"
