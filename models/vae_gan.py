"""VAE/GAN (Larsen et al. 2015, "Autoencoding beyond pixels using a learned similarity metric").

Three nets: Enc, Dec (= the generator) and Dis, all from the shared fair blocks. Per iteration
(Larsen et al. Alg. 1, all gradients from one forward pass, then the three updates):

- X ~ data, (μ, log σ²) = Enc(X), Z = μ + σ ⊙ ε, X̃ = Dec(Z), X_p = Dec(Z_p) with Z_p ~ N(0, I);
- L_prior = KL(q(Z|X) ‖ N(0, I)), weighted by β as AVAE §V does for VAE/GAN (so the
  VAE-family models have similar KL; per-dataset β from AVAE §V);
- L_llike^Dis_l = −log N(Dis_l(X) ; Dis_l(X̃), I): Gaussian log-likelihood, unit
  covariance, summed over the features of layer l, batch mean (the paper's p(Dis_l(x)|z) = N(Dis_l(x̃), I));
- L_GAN = log Dis(X) + log(1 − Dis(X̃)) + log(1 − Dis(X_p)) (Alg. 1, with both fakes).

Dis passes, as in the authors' released code (andersbll/autoencoding_beyond_pixels, ``model/aegan.py``
``AEGAN.setup`` and ``celeba_aegan.py``): L_llike runs Dis up to layer l once on the concatenated batch
[X̃; X], so every BatchNorm before l normalises X̃ and X with the *same* statistics (three separate passes
would normalise each by its own batch and hide a batch-wide change of contrast: a reconstruction 0.5·X would
look perfect after the next BatchNorm). L_GAN runs Dis once on [X; X̃; X_p].

Layer l (config field ``dis_l``, :meth:`models.blocks.TrunkHead.layer_l`): the released code reads a conv's
output before its BatchNorm, always after at least one BatchNorm (``model/aegan.py``:
``discriminator.collection[:recon_depth]``; ``cifar_aegan.py`` ``recon_depth=6`` = conv 3 of ``architectures.
img32x32``, after one BatchNorm; ``celeba_aegan.py`` ``recon_depth=9`` = conv 4 of ``img64x64``, after two).
We take l = the deepest linear map that has a normalised block before it (``pre_norm``: 32 px and up). The
16-px critic (conv → LReLU → conv → BN) has no such map: reading its second conv before the BN made Dis_l's
scale the product of two freshly initialised convs (image → Dis_l gain ‖Jδ‖²/‖δ‖² ≈ 0.005 under DCGAN's
N(0, 0.02), 0.16 under PyTorch's), so the encoder's KL weighed ≈ β/gain² ≈ 200 against the feature NLL and
the posterior collapsed. There l is read after that BatchNorm, inside the same [X̃; X] pass (``post_norm``).
``dataset_defaults`` writes the reading into the run's config (:func:`models.blocks.dis_l_reading`).

Updates: θ_Enc ← −∇(β L_prior + L_llike); θ_Dec ← −∇(γ L_llike − L_GAN); θ_Dis maximises L_GAN.
Balancing (the paper is silent; the released code's ``GradientDescent`` in ``model/aegan.py``, followed here as
``balance="margin"``, the default): with Dis's costs −log Dis(x) (real batch) and −log(1 − Dis(·)) (the
generated batch, x̃ and x_p), per-image means, Dis skips its step while either cost is below 0.68 − m (it is
winning) and Dec skips its step while either is above 0.68 + m (m = 0.35: ``aegan.py`` ``train(..., gan_margin=0.35)``
passes its default 0.35 to ``GradientDescent(margin=...)`` and no released script overrides it; 0.4 is only
``GradientDescent``'s own class default); both step when both would skip; Enc always
steps. Without it (``balance="none"``) Dis wins on digits at lr 1e-3 (its loss → 0.01), Dis_l stops carrying
content and the posterior collapses (1–2 active units of 16, reconstructions keep the class of 31 % of test
digits after 2,000 steps: docs/study.md).
Sign reading of the decoder's "−L_GAN": the decoder is the adversary, so it must *fool* Dis; taken
literally (minimising −[log(1 − Dis(X̃)) + …]) the decoder would help Dis. We use the
non-saturating form (Goodfellow et al. 2014 §3), as IDVAE eq. 12 does for its VAE/GAN-style
decoder: −log Dis(X̃) − log Dis(X_p) (the released code descends log(1 − Dis), the saturating form).
L_llike never updates Dis and L_GAN never updates Enc (Larsen et al., "limiting error signals to relevant
networks"; the code's ``ScaleGradient(0.0)(z)``).

γ: the released code weighs the decoder's gradients as w·∇L_llike − (1 − w)·∇L_GAN with
``recon_vs_gan_weight`` w = 1e-5 (``cifar_aegan.py``) / 1e-6 (``celeba_aegan.py`` at HEAD; 5e-5 is
``build_model``'s default), with ``discriminate_ae_recon=False`` (the GAN sees X_p only). Its L_llike is
``NLLNormal`` summed over the Dis_l features *and over the batch* (``ex.sum(loss)``), its GAN term summed over
the batch too, so the batch size cancels and γ_released = w/(1 − w) ≈ 1e-5 on a feature scale of 192·8·8 =
12,288 (CIFAR) pre-BatchNorm features of a Glorot-initialised Dis. Here both terms are batch means and L_llike
is summed over features, the same convention, so the released γ would transfer only if Dis_l's feature scale
did; it does not (the gain from x̃ to Dis_l is a property of the network and its initialisation). We keep
γ = 1 and log each term's gradient norm on x̃ (``grad_feature``, ``grad_gan``; docs/models-fidelity.md,
Fidelity IV): at initialisation on digits@16 (width 32, 3 seeds) they are 202 (γ L_llike at γ = 1) and 0.66,
so the released γ ≈ 1e-5 would leave the feature term 0.002, 0.3 % of the decoder's gradient.

Scale: the encoder's effective KL weight against the summed feature NLL is β (tests/test_effective_kl_weight_vae_family.py).
σ_z: ``sigma_z="learned"`` gives AVAE Fig. 5's x-independent σ_z (used in ``avae_table1``); default: the
amortised 2·dim(z) head.

Reconstruction for metrics = Dec(μ_Enc(X)) (the posterior mean, no sampling noise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

from bench.data.base import DataSpec
from bench.errors import ConfigError
from models import blocks, grad_diagnostics
from models.base import AVAE_BETA, GaussianEncoderDecoder, ModelConfig, RealBatches, bce_logits, kl_normal


@dataclass
class VAEGANConfig(ModelConfig):
    # γ of Larsen et al. (content vs style, decoder only); see the module docstring for the released
    # code's 1e-5 and why it does not transfer.
    gamma: float = 1.0
    beta: float = 1.0  # KL weight in the encoder loss (AVAE §V); per-dataset defaults from AVAE §V
    sigma_z: Literal["amortised", "learned"] = "amortised"  # x-dependent σ head, or AVAE Fig. 5's learned σ_z
    # The released code's balancing (``model/aegan.py``, ``GradientDescent.train_epoch``): Dis skips its update
    # while it is winning (its real or fake cost < equilibrium − margin), Dec skips its update while Dis is
    # losing (a cost > equilibrium + margin); both update when both would skip. "none": every net, every step.
    balance: Literal["margin", "none"] = "margin"
    margin: float = 0.35  # aegan.py train(..., gan_margin=0.35) passes 0.35 (GradientDescent's own default 0.4)
    equilibrium: float = 0.68
    # Where Dis_l is read (models.blocks.TrunkHead.layer_l): "pre_norm" = the deepest conv that a BatchNorm
    # follows, before it (the released code, 32 px and up); "post_norm" = after that BatchNorm (16 px, where
    # no BatchNorm precedes that conv); "auto" picks as dataset_defaults does (models.blocks.dis_l_reading).
    dis_l: Literal["auto", "pre_norm", "post_norm"] = "auto"

    def validate(self) -> None:
        super().validate()
        for key in ("gamma", "beta", "margin", "equilibrium"):
            if getattr(self, key) < 0:
                raise ConfigError(f"bad value for {key}: {getattr(self, key)} (must be >= 0)")


def feature_nll(f_rec: Tensor, f_real: Tensor) -> Tensor:
    """Larsen et al. 2015: L_llike^Dis_l = −log N(Dis_l(x) ; Dis_l(x̃), I), summed over feature
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
    """Enc (μ, log σ²), Dec, Dis (BatchNorm critic; Dis_l as ``cfg.dis_l`` reads it, module docstring)."""

    Config = VAEGANConfig
    paper = "Larsen et al. 2015 (VAE/GAN), Alg. 1; β on the KL as in AVAE §V"

    def __init__(self, cfg: VAEGANConfig, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.build_encoder(cfg, spec, cfg.sigma_z)
        self.dec = blocks.generator(spec, cfg.latent_dim, cfg.width, cfg.mlp_hidden)
        self.dis = blocks.critic(spec, cfg.width, 1, "bn", cfg.mlp_hidden)

    @classmethod
    def dataset_defaults(cls, spec: DataSpec) -> dict[str, Any]:
        """AVAE §V's β for the dataset; the Dis_l reading for its resolution (recorded in the run's config)."""
        out: dict[str, Any] = {"dis_l": blocks.dis_l_reading(spec)}
        if spec.name in AVAE_BETA:
            out["beta"] = AVAE_BETA[spec.name]
        return out

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"enc": self.adam(self.encoder_parameters()), "dec": self.adam(self.dec.parameters()),
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
        f_rec, f_real = self.dis.layer_l(torch.cat([x_rec, x]), self.cfg.dis_l).chunk(2)  # one pass, shared BN statistics
        d_real, d_rec, d_prior = self.dis(torch.cat([x, x_rec, x_p])).chunk(3)
        prior = kl_normal(mu, logvar).mean()
        llike = feature_nll(f_rec, f_real)
        d_loss = discriminator_loss(d_real, d_rec, d_prior)
        g_gan = decoder_gan_loss(d_rec, d_prior)
        # Dis's costs as the released code logs them: −log Dis(x) over the real batch, −log(1 − Dis) over the
        # generated one (x̃ and x_p), each a mean per image (what its balancing compares with 0.68 ± 0.4)
        real_cost = bce_logits(d_real, 1.0).detach()
        fake_cost = 0.5 * (bce_logits(d_rec, 0.0) + bce_logits(d_prior, 0.0)).detach()
        return {"enc_loss": self.cfg.beta * prior + llike, "dec_loss": self.cfg.gamma * llike + g_gan,
                "dis_loss": d_loss, "prior": prior, "llike": llike, "gan_dec": g_gan,
                "dis_real_cost": real_cost, "dis_fake_cost": fake_cost}

    @torch.no_grad()
    def diagnostics(self, probe: Tensor) -> dict[str, float]:
        """Active units, and the gradient norm on x̃ of each term of the decoder's loss: ``grad_feature`` =
        γ L_llike (one [x̃; x] pass), ``grad_gan`` = the x̃ part of the adversarial term, −log Dis(x̃)
        (:mod:`models.grad_diagnostics`)."""
        out = super().diagnostics(probe)

        def terms(x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
            mu, logvar = self.posterior(x)
            x_rec = self.decode(mu + (0.5 * logvar).exp() * torch.randn_like(mu)).detach().requires_grad_()
            x_p = self.decode(self.prior(len(x))).detach()
            f_rec, f_real = self.dis.layer_l(torch.cat([x_rec, x]), self.cfg.dis_l).chunk(2)
            d_rec = self.dis(torch.cat([x, x_rec, x_p])).chunk(3)[1]
            return x_rec, {"feature": self.cfg.gamma * feature_nll(f_rec, f_real), "gan": bce_logits(d_rec, 1.0)}

        return out | grad_diagnostics.probe_terms(self, probe, terms)

    def balanced_updates(self, real_cost: float, fake_cost: float) -> tuple[bool, bool]:
        """(update Dec, update Dis) by the released code's rule (``GradientDescent.train_epoch``)."""
        if self.cfg.balance == "none":
            return True, True
        low, high = self.cfg.equilibrium - self.cfg.margin, self.cfg.equilibrium + self.cfg.margin
        dis = not (real_cost < low or fake_cost < low)
        dec = not (real_cost > high or fake_cost > high)
        return (True, True) if not (dec or dis) else (dec, dis)

    def train_step(self, real: RealBatches, step: int) -> dict[str, Tensor]:
        out = self.losses(real())
        # One forward pass, three updates (Alg. 1). Order enc → dec → dis: each backward pass only
        # goes through nets that have not been stepped yet, so every gradient is the one of Alg. 1.
        # The encoder always steps; Dec and Dis by the released code's balancing (VAEGANConfig.balance).
        dec, dis = self.balanced_updates(float(out["dis_real_cost"]), float(out["dis_fake_cost"]))
        self.update("enc", out["enc_loss"], retain_graph=dec or dis)
        if dec:
            self.update("dec", out["dec_loss"], retain_graph=dis)
        if dis:
            self.update("dis", out["dis_loss"])
        logs = {k: v.detach() for k, v in out.items()}
        logs["dec_updated"], logs["dis_updated"] = torch.tensor(float(dec)), torch.tensor(float(dis))
        return logs
