"""α-GAN: Variational Approaches for Auto-Encoding GANs (Rosca, Lakshminarayanan, Warde-Farley &
Mohamed 2017; paper 004, eqs. 8–9, Alg. 1 in App. B, App. H) and its empirical-KL ablation (App. D).

Four networks: a deterministic encoder q_η (the fair encoder block, no output activation), the
generator G_θ, the data discriminator D_φ (real data vs reconstructions *and* samples) and the
code discriminator C_ω (a 3-hidden-layer MLP of 750 leaky units, App. H.4; real = prior draws).
Per iteration (Alg. 1): ``ge_steps`` = 2 × (encoder step eq. 11, generator step eq. 13), then one
discriminator step (eq. 15) and one code-discriminator step (eq. 17) (α-GAN §6: "we update the
encoder and the generator twice for each discriminator and code discriminator update").
Every update draws its own real batch (Alg. 1 writes each update as an expectation over p*(x); AGE's
released code, which α-GAN's App. H follows for its baseline, also calls ``populate_x`` per update),
so one iteration reads 2·``ge_steps`` + 2 batches (+ 1 for the code discriminator when there is one,
i.e. 6 for ``alpha-gan``, 5 for ``alpha-gan-ekl``); prior draws are fresh per update too.

Synthetic likelihood terms use the reverse-KL, non-saturating form of Alg. 1 lines 3–4:
R_D(x) = −log D(x) + log(1 − D(x)) = −logit D(x), R_C(z) = −log C(z) + log(1 − C(z)) = −logit C(z).

The reconstruction terms λ_enc‖x − x̂‖₁ (eq. 11) and λ_gen‖x − x̂‖₁ (eq. 13) are taken as λ × the
per-pixel mean absolute error: with App. H.1's sweeps λ ∈ {1, 5, 10, 50} beside unit-weight
adversarial terms, a per-image sum (3072–12288 terms) would make the adversarial terms irrelevant.
App. H.1 sweeps the encoder's and the generator's λ separately, so they are two fields
(``lam_enc``, ``lam_gen``; default 10 each).

Optimisers (App. H: Adam(β1 = 0.5, β2 = 0.9), fixed learning rates). Under ``fair`` all four use the
config's ``lr`` (2e-4, like every ``fair`` model) with the config's betas (0.5, 0.9: α-GAN's own, kept
as ``wgan-gp`` keeps its own); ``lr_enc``/``lr_gen``/``lr_disc``/``lr_code``, when set, replace ``lr``
for that network. The ``paper`` preset is App. H's: all four at 5e-4 (Table 2; the generator/encoder
sweep's other value is 1e-4, ``--set lr=1e-4``), 100k iterations on ColorMNIST, 200k on CelebA and
CIFAR-10 (``models/rosca_app_h.py``). No code was released with the paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

from bench.config import bounded
from bench.data.base import DataSpec
from bench.errors import ConfigError
from models import blocks
from models import rosca_app_h as app_h
from models.age import empirical_kl, l1_mean
from models.base import ENCODE, RECONSTRUCT, SAMPLE, Model, ModelConfig, RealBatches, bce_logits


@dataclass
class AlphaGANConfig(ModelConfig):
    """α-GAN hyper-parameters (App. H: Adam(0.5, 0.9), fixed lrs, λ sweeps {1, 5, 10, 50})."""

    beta2: float = 0.9  # App. H: Adam(0.5, 0.9)
    lam_enc: float = bounded(10.0, ge=0)  # λ of eq. 11 (encoder), on the per-pixel mean L1; App. H.1 {1, 5, 10, 50}
    lam_gen: float = bounded(10.0, ge=0)  # λ of eq. 13 (generator), same scale; App. H.1 {1, 5, 10, 50}
    lr_enc: float | None = bounded(None, gt=0)  # None → ``lr``; App. H Table 2: {1e-4, 5e-4}
    lr_gen: float | None = bounded(None, gt=0)  # None → ``lr``; App. H Table 2: {1e-4, 5e-4}
    lr_disc: float | None = bounded(None, gt=0)  # None → ``lr``; App. H Table 2: 5e-4
    lr_code: float | None = bounded(None, gt=0)  # None → ``lr``; App. H Table 2: 5e-4
    ge_steps: int = bounded(2, ge=1)  # encoder + generator updates per (code) discriminator update
    code_hidden: int = bounded(750, ge=1)  # units per hidden layer of the code discriminator (3 layers)
    latent_reg: Literal["code_disc", "empirical_kl"] = "code_disc"  # App. D ablation: empirical KL

    def validate(self) -> None:
        super().validate()
        if self.latent_reg == "empirical_kl" and self.lr_code is not None:
            raise ConfigError("bad value for lr_code: there is no code discriminator with latent_reg=empirical_kl")

    def lr_of(self, network: str) -> float:
        """The learning rate of ``network`` (enc, gen, disc, code): its own field if set, else ``lr``."""
        own = getattr(self, f"lr_{network}")
        return self.lr if own is None else own


@dataclass
class AlphaGANEKLConfig(AlphaGANConfig):
    latent_reg: Literal["code_disc", "empirical_kl"] = "empirical_kl"
    # Scale of eq. 18's empirical KL in eq. 11: "sum" = as printed, summed over the n latent dimensions (the
    # ``paper`` preset); "mean" = divided by n (the ``fair`` default, 1/n as strong; models.age.empirical_kl).
    ekl_reduction: Literal["sum", "mean"] = "mean"


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
    paper = "Rosca et al., Variational Approaches for Auto-Encoding Generative Adversarial Networks (2017), Alg. 1, App. H"
    capabilities = frozenset({SAMPLE, RECONSTRUCT, ENCODE})

    def __init__(self, cfg: AlphaGANConfig, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.enc = blocks.encoder(spec, cfg.width, cfg.latent_dim, cfg.mlp_hidden)
        self.gen = blocks.generator(spec, cfg.latent_dim, cfg.width, cfg.mlp_hidden)
        self.disc = blocks.critic(spec, cfg.width, 1, "bn", cfg.mlp_hidden)
        self.code_disc = (blocks.MLP(cfg.latent_dim, 1, cfg.code_hidden, layers=3, act="lrelu")
                          if cfg.latent_reg == "code_disc" else None)

    @classmethod
    def paper_preset(cls, spec: DataSpec) -> dict[str, Any]:
        """App. H: Adam(0.5, 0.9), batch 64, 100k/200k iterations; every learning rate 5e-4 (Table 2)."""
        out = {**app_h.preset(spec), "lr": app_h.ALPHA_GAN_DISC_LR, "lr_disc": app_h.ALPHA_GAN_DISC_LR}
        if cls.Config.latent_reg == "code_disc":  # alpha-gan-ekl has no code discriminator
            out["lr_code"] = app_h.ALPHA_GAN_DISC_LR
        return out

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.cfg
        opts = {"enc": self.adam(self.enc.parameters(), lr=c.lr_of("enc")),
                "gen": self.adam(self.gen.parameters(), lr=c.lr_of("gen")),
                "disc": self.adam(self.disc.parameters(), lr=c.lr_of("disc"))}
        if self.code_disc is not None:
            opts["code"] = self.adam(self.code_disc.parameters(), lr=c.lr_of("code"))
        return opts

    def generate(self, z: Tensor) -> Tensor:
        return self.gen(z).view(-1, *self.spec.shape)

    def latent_term(self, z_hat: Tensor) -> Tensor:
        """R_C(ẑ) (eq. 11) or, for ``alpha-gan-ekl``, the empirical KL of eq. 18: summed over the n latent
        dimensions as printed (``ekl_reduction="sum"``, ``paper``) or divided by n (``"mean"``, ``fair``)."""
        if self.code_disc is None:
            kl = empirical_kl(z_hat)
            return kl * z_hat.shape[1] if getattr(self.cfg, "ekl_reduction", "mean") == "sum" else kl
        return synthetic_ratio(self.code_disc(z_hat))

    def step_encoder(self, x: Tensor) -> Tensor:
        """Alg. 1 line 6: update η on eq. 11 (through G, which is not updated)."""
        z_hat = self.enc(x)
        loss = encoder_loss(x, self.generate(z_hat), self.latent_term(z_hat), self.cfg.lam_enc)
        self.update("enc", loss)
        return loss.detach()

    def step_generator(self, x: Tensor) -> Tensor:
        """Alg. 1 line 7: update θ on eq. 13."""
        with torch.no_grad():
            z_hat = self.enc(x)
        x_hat = self.generate(z_hat)
        d_recon = self.disc(x_hat)
        d_sample = self.disc(self.generate(self.prior(len(x))))
        loss = generator_loss(x, x_hat, d_recon, d_sample, self.cfg.lam_gen)
        self.update("gen", loss)
        return loss.detach()

    def step_discriminator(self, x: Tensor) -> dict[str, Tensor]:
        """Alg. 1 line 8: update φ on eq. 15 (x̂ = G(E(x)) and G(z) are inputs: no E or G gradients)."""
        with torch.no_grad():
            z_hat = self.enc(x)
            x_hat = self.generate(z_hat)
            x_sample = self.generate(self.prior(len(x)))
        loss_d = discriminator_loss(self.disc(x), self.disc(x_hat), self.disc(x_sample))
        self.update("disc", loss_d)
        out = {"d_loss": loss_d.detach(), "l1": l1_mean(x, x_hat)}
        if self.code_disc is None:
            out["kl_emp"] = empirical_kl(z_hat)
        return out

    def step_code_discriminator(self, x: Tensor) -> Tensor:
        """Alg. 1 line 9: update ω on eq. 17 (ẑ = E(x) is an input)."""
        assert self.code_disc is not None
        with torch.no_grad():
            z_hat = self.enc(x)
        loss_c = code_discriminator_loss(self.code_disc(z_hat), self.code_disc(self.prior(len(x))))
        self.update("code", loss_c)
        return loss_c.detach()

    def train_step(self, real: RealBatches, step: int) -> dict[str, Tensor]:
        """Alg. 1, one iteration; every update reads its own real batch ``real()``."""
        for _ in range(self.cfg.ge_steps):
            e_loss = self.step_encoder(real())
            g_loss = self.step_generator(real())
        out = {"e_loss": e_loss, "g_loss": g_loss, **self.step_discriminator(real())}
        if self.code_disc is not None:
            out["c_loss"] = self.step_code_discriminator(real())
        return out

    def sample(self, n: int) -> Tensor:
        return self.generate(self.prior(n))

    def encode(self, x: Tensor) -> Tensor:
        return self.enc(x)

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.generate(self.encode(x))


class AlphaGANEKL(AlphaGAN):
    """α-GAN with the empirical KL of eq. 18 instead of the code discriminator (``alpha-gan-ekl``, App. D).

    Scale (issue #26 §4): eq. 18 is printed as a sum over the n latent dimensions, beside a unit-weight
    adversarial term in eq. 11; ``paper`` follows the print (``ekl_reduction="sum"``). ``fair`` keeps the KL
    divided by n (``"mean"``, 1/n as strong as printed), the weight the suite's earlier ``alpha-gan-ekl`` runs used
    (a change of the fair default would need its own measurement)."""

    Config = AlphaGANEKLConfig
    paper = "Rosca et al. 2017, alpha-GAN App. D ablation (empirical KL, eq. 18)"

    @classmethod
    def paper_preset(cls, spec: DataSpec) -> dict[str, Any]:
        """App. H's settings, with eq. 18 summed over the latent dimensions as printed."""
        return {**super().paper_preset(spec), "ekl_reduction": "sum"}
