"""IDVAE and IDVAE(R): Implicit Discriminator in Variational Autoencoder (Munjal, Paul & Krishnan;
paper 002, §3.3–3.4, Alg. 1).

Two tiers: a shared trunk θ_shared (the fair critic's convolutional trunk, i.e. every layer up to
the penultimate one, Enc_l = Dis_l), an encoder head θ_enc (one FC layer for μ and one for log σ²,
Fig. 2), a discriminator head θ_dis (one FC layer to a sigmoid node, kept as a logit) and a
decoder = generator θ_dec. Alg. 1 per iteration, in this order (§3.4: discriminator first):

1. θ_dis, θ_shared ← −∇ L_dis (eq. 9),
2. θ_enc, θ_shared ← −∇ L_enc (eq. 8),
3. θ_dec ← −∇ L_dec (eq. 13; IDVAE(R) adds γ · pixel L_recons).

One real batch x, one prior batch z′ and one reparametrisation noise ε are drawn per iteration
(Alg. 1 draws X and Z′ once); every step recomputes its forward pass with the parameters the
previous step left. L_recons^dis compares Dis_l(x̃) and Dis_l(x) from one trunk pass on [x̃; x], so its
BatchNorm normalises both with the same statistics (issue #26 §2; two passes hide a global change of contrast).

Weights (issue #26 §2). α, β, ω, λ and γ are in the paper's supplementary material, which we do not have;
they are config fields. α = β = ω = 1. With λ = 1 the feature term, summed over the trunk's ~1,000 normalised
units, carried ≈ 99 % of the decoder's gradient on x̃ at initialisation and still ≈ 80 % at iteration 1,500
(digits@16, study setting), so both decoders were feature-reconstruction decoders and IDVAE(R)'s pixel term
(≈ 2 % of the feature term) changed almost nothing. The paper's finding (IDVAE(R) blurrier: 43.4 vs 23.5 FID
on CIFAR-10, §5.1) needs a decoder that the adversarial term drives, so λ is chosen such that ω·L_GAN and
λ·L_recons^dis send gradients of equal norm into x̃ at initialisation (the adversarial term carries half
the decoder's gradient at the start: neither term drives alone; mean per-example norms on 64 training
digits, 3 seeds, ``grad_*`` diagnostics: feature 88.5, adversarial 1.06, pixel 12.2 at λ = ω = γ = 1) → λ =
1.06 / 88.5 = 0.012; IDVAE(R)'s γ puts the pixel term on the scale of λ·L^dis (equal norms at
initialisation) → γ = 0.012 · 88.5 / 12.2 = 0.087. Calibrated on digits@16 at width 32 (the norms scale with
the trunk's width and the resolution); docs/models-fidelity.md has the runs. Effective KL weight: β/α = 1
relative to the Gaussian log-likelihood ½‖x̃ − x‖² summed over pixels (as ``vae`` with β = 1;
tests/test_effective_kl_weight_hybrids.py measures it on the encoder step's gradient w.r.t. μ).

Diagnostics: each weighted L_dec term's mean per-example gradient norm on x̃ (``grad_feature``, ``grad_gan``,
``grad_pixel``) is logged at every log step (:mod:`models.grad_diagnostics`).

Protocols: optimisers are Adam on the config's ``lr``, ``beta1``, ``beta2``. The paper's main text gives
no iteration count, learning rate or batch size ("fine tuned hyperparameters for each of the dataset
are provided in the supplementary material", §5; no code was released), so the ``paper`` preset changes
nothing: IDVAE runs the ``fair`` settings under both protocols (``idvae_table1`` uses ``fair``, 5e4 steps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from bench.data.base import DataSpec
from bench.errors import ConfigError
from models import blocks, grad_diagnostics
from models.base import GaussianEncoderDecoder, ModelConfig, bce_logits, kl_normal


@dataclass
class IDVAEConfig(ModelConfig):
    """IDVAE loss weights (eqs. 8 and 13)."""

    alpha: float = 1.0  # α: pixel L_recons in L_enc (eq. 8)
    beta: float = 1.0  # β: L_prior (KL) in L_enc (eq. 8)
    omega: float = 1.0  # ω: L_GAN in L_dec (eq. 13)
    lam: float = 0.012  # λ: L_recons^dis in L_dec (eq. 13); equal gradient norms with ω L_GAN at init (docstring)
    gamma: float = 0.0  # γ: pixel L_recons in L_dec (IDVAE(R) only, §5.1)

    def validate(self) -> None:
        super().validate()
        for key in ("alpha", "beta", "omega", "lam", "gamma"):
            if getattr(self, key) < 0:
                raise ConfigError(f"bad value for {key}: {getattr(self, key)} (must be >= 0)")


@dataclass
class IDVAERConfig(IDVAEConfig):
    gamma: float = 0.087  # pixel L_recons on the scale of λ L_recons^dis at initialisation (module docstring)


def pixel_recons(x: Tensor, x_tilde: Tensor) -> Tensor:
    """IDVAE eq. 4 with a unit-variance Gaussian p(x|z) (constants dropped): ½‖x̃ − x‖², summed over
    pixels, batch mean (the same scale as AVAE eq. 9's VAE term)."""
    return 0.5 * (x_tilde - x).pow(2).flatten(1).sum(1).mean()


def encoder_loss(x: Tensor, x_tilde: Tensor, mu: Tensor, logvar: Tensor, alpha: float, beta: float) -> Tensor:
    """IDVAE eq. 8: L_enc = α L_recons + β L_prior, L_prior = KL(q(z|x) ‖ N(0, I)) (eq. 5), batch mean."""
    return alpha * pixel_recons(x, x_tilde) + beta * kl_normal(mu, logvar).mean()


def discriminator_loss(d_real: Tensor, d_prior: Tensor, d_recon: Tensor) -> Tensor:
    """IDVAE eq. 9 on logits: −[log Dis(x) + log(1 − Dis(Dec(z′))) + log(1 − Dis(Dec(Enc(x))))],
    each term a batch mean (the paper drops the 0.5 re-weighting of the two fake terms)."""
    return bce_logits(d_real, 1.0) + bce_logits(d_prior, 0.0) + bce_logits(d_recon, 0.0)


def gan_loss(d_prior: Tensor, d_recon: Tensor) -> Tensor:
    """IDVAE eq. 12: L_GAN = −log Dis(Dec(z′)) − log Dis(Dec(Enc(x))) (non-saturating), batch means."""
    return bce_logits(d_prior, 1.0) + bce_logits(d_recon, 1.0)


def feature_recons(f_tilde: Tensor, f_real: Tensor) -> Tensor:
    """IDVAE eqs. 10–11: L_recons^dis = −log N(Dis_l(x̃); Dis_l(x), I) without constants
    = ½‖Dis_l(x̃) − Dis_l(x)‖², summed over the layer's units, batch mean."""
    return 0.5 * (f_tilde - f_real).pow(2).flatten(1).sum(1).mean()


def decoder_loss(d_prior: Tensor, d_recon: Tensor, f_tilde: Tensor, f_real: Tensor, omega: float, lam: float,
                 gamma: float = 0.0, x: Tensor | None = None, x_tilde: Tensor | None = None) -> Tensor:
    """IDVAE eq. 13: L_dec = ω L_GAN + λ L_recons^dis (+ γ pixel L_recons for IDVAE(R))."""
    loss = omega * gan_loss(d_prior, d_recon) + lam * feature_recons(f_tilde, f_real)
    if gamma:
        assert x is not None and x_tilde is not None
        loss = loss + gamma * pixel_recons(x, x_tilde)
    return loss


def shared_trunk(spec: DataSpec, width: int, mlp_hidden: int) -> nn.Module:
    """The fair critic without its Dense head: ``trunk(x)`` = its flattened last hidden layer (Dis_l)."""
    net = blocks.critic(spec, width, 1, "bn", mlp_hidden)
    net.head = nn.Identity()  # the heads are IDVAE's own θ_enc / θ_dis layers
    return net


class IDVAE(GaussianEncoderDecoder):
    """IDVAE (``idvae``): samples Dec(z), z ~ N(0, I); reconstructions Dec(μ_Enc(x)) (the shared VAE-family
    capabilities; only the posterior differs: the shared trunk with two heads)."""

    Config = IDVAEConfig
    paper = "Munjal, Paul & Krishnan, Implicit Discriminator in Variational Autoencoder (IJCNN 2020), §3.3-3.4, Alg. 1"

    def __init__(self, cfg: IDVAEConfig, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.shared = shared_trunk(spec, cfg.width, cfg.mlp_hidden)
        fd = self.shared.feature_dim
        self.enc_mu = nn.Linear(fd, cfg.latent_dim)
        self.enc_logvar = nn.Linear(fd, cfg.latent_dim)
        self.dis_head = nn.Linear(fd, 1)
        self.dec = blocks.generator(spec, cfg.latent_dim, cfg.width, cfg.mlp_hidden)

    @classmethod
    def paper_preset(cls, spec: DataSpec) -> dict[str, Any]:
        """None stated: the paper's hyper-parameters are in its unavailable supplement (module docstring)."""
        return {}

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """θ_shared, θ_enc, θ_dis, θ_dec (Fig. 2)."""
        return {"shared": list(self.shared.parameters()),
                "enc": list(self.enc_mu.parameters()) + list(self.enc_logvar.parameters()),
                "dis": list(self.dis_head.parameters()), "dec": list(self.dec.parameters())}

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        g = self.param_groups()
        return {"dis": self.adam(g["dis"] + g["shared"]), "enc": self.adam(g["enc"] + g["shared"]),
                "dec": self.adam(g["dec"])}

    # ---- networks --------------------------------------------------------------------
    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        f = self.shared(x)
        return self.enc_mu(f), self.enc_logvar(f)

    def dis_logits(self, x: Tensor) -> Tensor:
        return self.dis_head(self.shared(x))

    def _recon(self, x: Tensor, eps: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mu, logvar = self.posterior(x)
        return self.decode(mu + (0.5 * logvar).exp() * eps), mu, logvar

    # ---- the three steps of Alg. 1 ---------------------------------------------------
    def step_dis(self, x: Tensor, z_prior: Tensor, eps: Tensor) -> Tensor:
        """Alg. 1 line 9: θ_dis, θ_shared ← −∇ L_dis (eq. 9); the fakes are inputs (no θ_dec/θ_enc grads)."""
        with torch.no_grad():
            x_prior = self.decode(z_prior)
            x_recon = self._recon(x, eps)[0]
        loss = discriminator_loss(self.dis_logits(x), self.dis_logits(x_prior), self.dis_logits(x_recon))
        self.update("dis", loss)
        return loss.detach()

    def step_enc(self, x: Tensor, eps: Tensor) -> dict[str, Tensor]:
        """Alg. 1 line 10: θ_enc, θ_shared ← −∇ L_enc (eq. 8), through Dec but without updating it."""
        x_tilde, mu, logvar = self._recon(x, eps)
        loss = encoder_loss(x, x_tilde, mu, logvar, self.cfg.alpha, self.cfg.beta)
        self.update("enc", loss)
        with torch.no_grad():
            rec, kl = pixel_recons(x, x_tilde), kl_normal(mu, logvar).mean()
        return {"enc_loss": loss.detach(), "rec": rec, "kl": kl}

    def dis_l_pair(self, x_tilde: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """(Dis_l(x̃), Dis_l(x)) from *one* pass of the shared trunk on [x̃; x], so its BatchNorms normalise
        both with the same statistics (two passes would hide a global change of contrast, e.g. x̃ = 0.5·x;
        the VAE/GAN fix of Larsen et al.'s released code, ``model/aegan.py`` ``AEGAN.setup``)."""
        f_tilde, f_real = self.shared(torch.cat([x_tilde, x])).chunk(2)
        return f_tilde, f_real

    def decoder_terms(self, x: Tensor, x_tilde: Tensor, x_prior: Tensor) -> dict[str, Tensor]:
        """The unweighted terms of L_dec (eq. 13) on given x̃ = Dec(Enc(x)) and x_p = Dec(z′): ``feature`` =
        L_recons^dis (one [x̃; x] pass), ``gan`` = L_GAN (each fake through Dis on its own batch, as the Dis
        step of eq. 9 sees it) and, for IDVAE(R) (γ > 0), ``pixel`` = L_recons."""
        f_tilde, f_real = self.dis_l_pair(x_tilde, x)
        terms = {"feature": feature_recons(f_tilde, f_real),
                 "gan": gan_loss(self.dis_logits(x_prior), self.dis_logits(x_tilde))}
        if self.cfg.gamma:
            terms["pixel"] = pixel_recons(x, x_tilde)
        return terms

    def decoder_weights(self) -> dict[str, float]:
        """λ, ω, γ of eq. 13 by term name."""
        return {"feature": self.cfg.lam, "gan": self.cfg.omega, "pixel": self.cfg.gamma}

    @torch.no_grad()
    def diagnostics(self, probe: Tensor) -> dict[str, float]:
        """Active units, and each L_dec term's gradient norm on x̃ (:mod:`models.grad_diagnostics`)."""
        out = super().diagnostics(probe)

        def terms(x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
            mu, logvar = self.posterior(x)
            x_tilde = self.decode(mu + (0.5 * logvar).exp() * torch.randn_like(mu)).detach().requires_grad_()
            x_prior = self.decode(self.prior(len(x))).detach()
            w = self.decoder_weights()
            return x_tilde, {k: w[k] * v for k, v in self.decoder_terms(x, x_tilde, x_prior).items()}

        return out | grad_diagnostics.probe_terms(self, probe, terms)

    def step_dec(self, x: Tensor, z_prior: Tensor, eps: Tensor) -> dict[str, Tensor]:
        """Alg. 1 line 11: θ_dec ← −∇ L_dec (eq. 13) with Dis_l = the last shared layer, read for x̃ and x
        in one pass (:meth:`dis_l_pair`)."""
        with torch.no_grad():
            mu, logvar = self.posterior(x)
            z = mu + (0.5 * logvar).exp() * eps
        x_tilde = self.decode(z)
        terms = self.decoder_terms(x, x_tilde, self.decode(z_prior))
        w = self.decoder_weights()
        loss = sum(w[k] * v for k, v in terms.items())
        self.update("dec", loss)
        return {"dec_loss": loss.detach(), "gan": terms["gan"].detach(), "rec_dis": terms["feature"].detach()}

    def train_step(self, real, step: int) -> dict[str, Tensor]:  # noqa: ANN001
        x = real()
        z_prior, eps = self.prior(len(x)), torch.randn(len(x), self.cfg.latent_dim, device=x.device)
        out = {"dis_loss": self.step_dis(x, z_prior, eps)}
        out.update(self.step_enc(x, eps))
        out.update(self.step_dec(x, z_prior, eps))
        return out


class IDVAER(IDVAE):
    """IDVAE(R) (``idvae-r``): the decoder also minimises the pixel L_recons (§5.1), weight γ."""

    Config = IDVAERConfig
    paper = "Munjal, Paul & Krishnan, Implicit Discriminator in Variational Autoencoder, IDVAE(R) (§5.1)"
