"""VAE/GAN (Larsen et al. 2015, "Autoencoding beyond pixels using a learned similarity metric").

Three nets: Enc, Dec (= the generator) and Dis, all from the shared fair blocks. Per iteration
(Larsen et al. Alg. 1, all gradients from one forward pass, then the three updates):

- X ~ data, (μ, log σ²) = Enc(X), Z = μ + σ ⊙ ε, X̃ = Dec(Z), X_p = Dec(Z_p) with Z_p ~ N(0, I);
- L_prior = KL(q(Z|X) ‖ N(0, I)), weighted by β as AVAE §V does for VAE/GAN (so the
  VAE-family models have similar KL; per-dataset β from AVAE §V);
- L_llike^Dis_l = −log N(Dis_l(X) ; Dis_l(X̃), I) (PROTOCOLS.md §2): Gaussian log-likelihood, unit
  covariance, of the Dis features of X around those of X̃; Dis_l = the critic's ``features()``;
- L_GAN = log Dis(X) + log(1 − Dis(X̃)) + log(1 − Dis(X_p)) (Alg. 1, with both fakes).

Updates: θ_Enc ← −∇(β L_prior + L_llike); θ_Dec ← −∇(γ L_llike − L_GAN); θ_Dis maximises L_GAN.
Sign reading of the decoder's "−L_GAN": the decoder is the adversary, so it must *fool* Dis; taken
literally (minimising −[log(1 − Dis(X̃)) + …]) the decoder would help Dis. We use the
non-saturating form (Goodfellow et al. 2014 §3), as IDVAE eq. 12 does for its VAE/GAN-style
decoder: −log Dis(X̃) − log Dis(X_p). L_llike never updates Dis and L_GAN never
updates Enc (Larsen et al., "limiting error signals to relevant networks").

Reconstruction for metrics = Dec(μ_Enc(X)) (the posterior mean, no sampling noise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from bench.data.base import DataSpec
from bench.errors import ConfigError
from models import blocks
from models.base import AVAE_BETA, GaussianEncoderDecoder, ModelConfig, RealBatches, bce_logits, kl_normal


@dataclass
class VAEGANConfig(ModelConfig):
    # γ of Larsen et al. (content vs style, decoder only). PROTOCOLS.md gives no value; 1 weights
    # the feature likelihood and the adversarial term equally.
    gamma: float = 1.0
    beta: float = 1.0  # KL weight in the encoder loss (AVAE §V); per-dataset defaults from AVAE §V

    def validate(self) -> None:
        super().validate()
        for key in ("gamma", "beta"):
            if getattr(self, key) < 0:
                raise ConfigError(f"bad value for {key}: {getattr(self, key)} (must be >= 0)")


def feature_nll(f_rec: Tensor, f_real: Tensor) -> Tensor:
    """Larsen et al. (PROTOCOLS.md §2): L_llike^Dis_l = −log N(Dis_l(x) ; Dis_l(x̃), I), summed over feature
    dimensions (constant ½·d·log 2π included, so it is the exact negative log-likelihood), mean over
    the batch."""
    d = f_rec.shape[1]
    return (0.5 * (f_rec - f_real).pow(2).sum(1)).mean() + 0.5 * d * math.log(2 * math.pi)


def discriminator_loss(d_real: Tensor, d_rec: Tensor, d_prior: Tensor) -> Tensor:
    """−L_GAN = −[log Dis(x) + log(1 − Dis(x̃)) + log(1 − Dis(x_p))] as BCE on logits
    (Larsen et al. Alg. 1; Dis maximises L_GAN)."""
    return bce_logits(d_real, 1.0) + bce_logits(d_rec, 0.0) + bce_logits(d_prior, 0.0)


def decoder_gan_loss(d_rec: Tensor, d_prior: Tensor) -> Tensor:
    """The decoder's adversarial term in non-saturating form: −log Dis(x̃) − log Dis(x_p)
    (Larsen et al. Alg. 1's −L_GAN for θ_Dec, in the form of IDVAE eq. 12)."""
    return bce_logits(d_rec, 1.0) + bce_logits(d_prior, 1.0)


class VAEGAN(GaussianEncoderDecoder):
    """Enc (μ, log σ²), Dec, Dis (BatchNorm critic; Dis_l = its last down-block)."""

    Config = VAEGANConfig
    paper = "Larsen et al. 2015 (VAE/GAN), Alg. 1; β on the KL as in AVAE §V"

    def __init__(self, cfg: VAEGANConfig, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.enc = blocks.encoder(spec, cfg.width, 2 * cfg.latent_dim, cfg.mlp_hidden)
        self.dec = blocks.generator(spec, cfg.latent_dim, cfg.width, cfg.mlp_hidden)
        self.dis = blocks.critic(spec, cfg.width, 1, "bn", cfg.mlp_hidden)

    @classmethod
    def dataset_defaults(cls, spec: DataSpec) -> dict[str, Any]:
        return {"beta": AVAE_BETA[spec.name]} if spec.name in AVAE_BETA else {}

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"enc": self.adam(self.enc.parameters()), "dec": self.adam(self.dec.parameters()),
                "dis": self.adam(self.dis.parameters())}

    def losses(self, x: Tensor, eps: Tensor | None = None, z_p: Tensor | None = None) -> dict[str, Tensor]:
        """Every term of Larsen et al. Alg. 1 on batch ``x`` and the three nets' losses.

        ``eps`` (reparametrisation noise) and ``z_p`` (prior draws) may be given for tests.
        """
        mu, logvar = self.posterior(x)
        eps = torch.randn_like(mu) if eps is None else eps
        z_p = self.prior(len(x)) if z_p is None else z_p
        x_rec = self.decode(mu + (0.5 * logvar).exp() * eps)
        x_p = self.decode(z_p)
        f_real, f_rec, f_p = self.dis.features(x), self.dis.features(x_rec), self.dis.features(x_p)
        d_real, d_rec, d_prior = self.dis.head(f_real), self.dis.head(f_rec), self.dis.head(f_p)
        prior = kl_normal(mu, logvar).mean()
        llike = feature_nll(f_rec, f_real)
        d_loss = discriminator_loss(d_real, d_rec, d_prior)
        g_gan = decoder_gan_loss(d_rec, d_prior)
        return {"enc_loss": self.cfg.beta * prior + llike, "dec_loss": self.cfg.gamma * llike + g_gan,
                "dis_loss": d_loss, "prior": prior, "llike": llike, "gan_dec": g_gan}

    def train_step(self, real: RealBatches, step: int) -> dict[str, Tensor]:
        out = self.losses(real())
        # One forward pass, three updates (Alg. 1). Order enc → dec → dis: each backward pass only
        # goes through nets that have not been stepped yet, so every gradient is the one of Alg. 1.
        self.update("enc", out["enc_loss"], retain_graph=True)
        self.update("dec", out["dec_loss"], retain_graph=True)
        self.update("dis", out["dis_loss"])
        return {k: v.detach() for k, v in out.items()}
