"""AVAE (adversarially fine-tuned VAE) and AVAE-S (Naderi et al., AVAE-S paper 003, §II-B, Alg. 1).

One run holds both phases of Alg. 1: ``pretrain`` steps of the VAE alone (vanilla VAE for ``avae-ft``,
VAE-S for ``avae-s``), then adversarial fine-tuning, where a discriminator Dis separates x (real)
from x̃ = Dec(Enc(x)) (fake) and the accuracy gates decide the updates:

- Dis is updated (BCE, the L_Dis of eq. 11) only while its accuracy on the current batch is < 0.7;
- the VAE is updated with L_VAE + (adversarial term) only while that accuracy is > 0.5.

Sign of the adversarial term. Eq. 11 writes L_Dis with log Dis(x) + log(1 − Dis(x̃)), so Dis = P(real),
and Dis minimises the BCE −[log Dis(x) + log(1 − Dis(x̃))] (:func:`dis_loss`). Alg. 1 has the VAE minimise
"L_VAE + log Dis(x̃)"; read with Dis = P(real) that would make x̃ look *fake*, against §II-B (the decoder
"tries to … confuse the discriminator into believing that the reconstructed images come from the actual
data distribution"). The term only makes sense with the Dis of eq. 12's minimax game, where the generator
minimises log(1 − Dis(x̃)): ``adv_form="saturating"`` (default, the paper's literal game) minimises
log(1 − σ(ℓ)) = −softplus(ℓ) on Dis's logit ℓ of x̃. ``adv_form="non_saturating"`` minimises −log σ(ℓ)
(Goodfellow et al. 2014 §3), a different loss with the same fixed point: its gradient w.r.t. ℓ is
−σ(−ℓ) instead of −σ(ℓ), 7.4× larger at ℓ = −2 (Dis sure x̃ is fake). Measured on digits in
docs/models-fidelity.md.

Scale: ``avae-ft``'s L_VAE is AVAE eq. 9 with β = 1 (½‖x̃ − x‖² summed over pixels in [-1, 1] + KL summed over
latent dims, batch mean; effective KL weight 1); ``avae-s`` uses VAE-S's L_VAE (models/vae_s.py). L_Dis and the
adversarial term are batch means of per-example log-probabilities. No released code exists for this paper.

The accuracy is measured once per iteration, before any update, on the 2B decisions (logit > 0 =
real) for x and x̃. The switch step is stored in a buffer when the run starts (paper: 100 epochs of
pre-training, capped at half the run so a short run still fine-tunes), so a resumed run switches
at the same step; the VAE-S calibration weights are buffers too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from bench.data.base import DataSpec
from bench.errors import ConfigError
from models import blocks_avaes, grad_diagnostics
from models.base import RealBatches, bce_logits, kl_normal
from models.vae_s import VAES, AVAESArchConfig, VAESConfig, epoch_length, reconstruction_terms


@dataclass
class AVAEFTConfig(AVAESArchConfig):
    """Alg. 1 settings: pre-training length, the accuracy gates 0.7 / 0.5, the adversarial weight."""

    pretrain_epochs: float = 100.0  # AVAE-S §III: 100 pre-training epochs
    pretrain_steps: int = -1  # ≥ 0 overrides; -1 → pretrain_epochs epochs, capped at steps // 2
    d_acc_max: float = 0.7  # Dis updated only while its accuracy < this
    vae_acc_min: float = 0.5  # VAE updated only while Dis's accuracy > this
    adv_weight: float = 1.0  # weight of the adversarial term (Alg. 1: 1)
    adv_form: Literal["saturating", "non_saturating"] = "saturating"  # Alg. 1's log(1 − D(x̃)), or −log D(x̃)

    def validate(self) -> None:
        super().validate()
        if self.pretrain_epochs < 0:
            raise ConfigError(f"bad value for pretrain_epochs: {self.pretrain_epochs} (must be >= 0)")
        for key in ("d_acc_max", "vae_acc_min"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ConfigError(f"bad value for {key}: {getattr(self, key)} (must be in [0, 1])")
        if self.adv_weight < 0:
            raise ConfigError(f"bad value for adv_weight: {self.adv_weight} (must be >= 0)")


@dataclass
class AVAESConfig(AVAEFTConfig, VAESConfig):
    """AVAE-S: the VAE-S loss settings plus the fine-tuning settings (``validate`` runs both
    parents' checks through the MRO)."""


def discriminator_accuracy(d_real: Tensor, d_fake: Tensor) -> float:
    """Share of correct decisions of Dis (logit > 0 = real) over the real and the fake batch."""
    correct = (d_real > 0).float().sum() + (d_fake <= 0).float().sum()
    return float(correct / (d_real.numel() + d_fake.numel()))


def gates(accuracy: float, d_acc_max: float = 0.7, vae_acc_min: float = 0.5) -> tuple[bool, bool]:
    """AVAE-S Alg. 1: (update Dis?, update the VAE?) = (accuracy < 0.7, accuracy > 0.5)."""
    return accuracy < d_acc_max, accuracy > vae_acc_min


def dis_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """AVAE-S eq. 11's L_Dis as the BCE Dis minimises: −[log Dis(x) + log(1 − Dis(x̃))], Dis = σ(logit) = P(real)."""
    return bce_logits(d_real, 1.0) + bce_logits(d_fake, 0.0)


def adversarial_term(d_fake: Tensor, form: str = "saturating") -> Tensor:
    """Alg. 1's adversarial VAE term on Dis's logits ℓ of x̃ (Dis = σ(ℓ) = P(real)), batch mean:
    ``"saturating"`` log(1 − Dis(x̃)) = −softplus(ℓ) (the paper's "log Dis(x̃)" with Dis = P(fake));
    ``"non_saturating"`` −log Dis(x̃) = softplus(−ℓ). Both are minimised by the VAE."""
    if form == "saturating":
        return -nn.functional.softplus(d_fake).mean()
    return bce_logits(d_fake, 1.0)


class AVAEFineTuned(VAES):
    """AVAE of AVAE-S §III: the vanilla VAE (MSE + KL: AVAE eq. 9 with β = 1) pre-trained, then
    adversarially fine-tuned by Alg. 1. Reconstruction for metrics = Dec(μ_E(x))."""

    Config: Any = AVAEFTConfig
    paper = "Naderi et al., AVAE: VAE pre-trained then adversarially fine-tuned (AVAE-S paper 003, Alg. 1)"
    structured = False

    def __init__(self, cfg: Any, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.disc = blocks_avaes.discriminator(spec, cfg.arch, cfg.width, cfg.mlp_hidden)
        self.register_buffer("switch_step", torch.tensor(-1, dtype=torch.long))  # first fine-tuning step

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"vae": self.adam(list(self.enc.parameters()) + list(self.dec.parameters())),
                "disc": self.adam(self.disc.parameters())}

    def resolve_switch(self, real: RealBatches) -> int:
        """The first fine-tuning step, fixed at the first call (and restored from a checkpoint)."""
        if int(self.switch_step) < 0:
            cfg = self.cfg
            if cfg.pretrain_steps >= 0:
                n = cfg.pretrain_steps
            else:
                per_epoch = epoch_length(real, cfg.batch_size)
                n = cfg.steps // 2 if per_epoch is None else min(round(cfg.pretrain_epochs * per_epoch), cfg.steps // 2)
            self.switch_step.fill_(n)
        return int(self.switch_step)

    def vae_objective(self, x: Tensor, real: RealBatches) -> dict[str, Tensor]:
        """The VAE's own loss: AVAE eq. 9 (β = 1) here; VAE-S's L_VAE in :class:`AVAES`."""
        mu, logvar = self.posterior(x)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        x_rec = self.decode(z)
        rec = 0.5 * (x_rec - x).pow(2).flatten(1).sum(1).mean()
        kl = kl_normal(mu, logvar).mean()
        return {"loss": rec + kl, "rec": rec, "kl": kl, "x_rec": x_rec}

    def reconstruction_on(self, x: Tensor, x_rec: Tensor) -> Tensor:
        """The VAE's reconstruction term on a given x̃: ½‖x̃ − x‖² (AVAE eq. 9) here; VAE-S's calibrated L_REC
        in :class:`AVAES`."""
        return 0.5 * (x_rec - x).pow(2).flatten(1).sum(1).mean()

    @torch.no_grad()
    def diagnostics(self, probe: Tensor) -> dict[str, float]:
        """Active units, and the gradient norm on x̃ of the VAE's reconstruction term (``grad_rec``) and of
        ``adv_weight`` × Alg. 1's adversarial term (``grad_adv``; logged in both phases, as it would act)
        (:mod:`models.grad_diagnostics`)."""
        out = super().diagnostics(probe)

        def terms(x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
            mu, logvar = self.posterior(x)
            x_rec = self.decode(mu + (0.5 * logvar).exp() * torch.randn_like(mu)).detach().requires_grad_()
            adv = self.cfg.adv_weight * adversarial_term(self.disc(x_rec), self.cfg.adv_form)
            return x_rec, {"rec": self.reconstruction_on(x, x_rec), "adv": adv}

        return out | grad_diagnostics.probe_terms(self, probe, terms)

    def train_step(self, real: RealBatches, step: int) -> dict[str, Tensor]:
        cfg = self.cfg
        switch = self.resolve_switch(real)
        x = real()
        out = self.vae_objective(x, real)
        x_rec = out.pop("x_rec")
        zero = x.new_zeros(())
        log = {"phase": zero, "d_acc": zero, "d_loss": zero, "adv": zero, "d_step": zero, "vae_step": zero}
        if step < switch:  # Alg. 1, pre-training loop
            self.update("vae", out["loss"])
            log["vae_step"] = x.new_ones(())
        else:  # Alg. 1, adversarial loop
            d_real, d_fake = self.disc(x), self.disc(x_rec.detach())
            acc = discriminator_accuracy(d_real.detach(), d_fake.detach())
            update_d, update_vae = gates(acc, cfg.d_acc_max, cfg.vae_acc_min)
            d_loss = dis_loss(d_real, d_fake)
            if update_d:
                self.update("disc", d_loss)
            adv = adversarial_term(self.disc(x_rec), cfg.adv_form)
            if update_vae:
                self.update("vae", out["loss"] + cfg.adv_weight * adv)
            log.update(phase=x.new_ones(()), d_acc=x.new_tensor(acc), d_loss=d_loss.detach(), adv=adv.detach(),
                       d_step=x.new_tensor(float(update_d)), vae_step=x.new_tensor(float(update_vae)))
        return {**{k: v.detach() for k, v in out.items()}, **log}


class AVAES(AVAEFineTuned):
    """AVAE-S: VAE-S (structure-aware L_REC + KL + TC, calibrated λ) pre-trained, then fine-tuned by
    Alg. 1. Under ``paper``: AVAE-S Table I encoder/decoder and the max-pooling discriminator."""

    Config: Any = AVAESConfig
    paper = "Naderi, Haji Soleimani & Matwin, AVAE-S: VAE-S pre-trained then fine-tuned (paper 003, Alg. 1)"
    structured = True

    def vae_objective(self, x: Tensor, real: RealBatches) -> dict[str, Tensor]:
        """VAE-S's L_VAE = L_REC + L_KL + L_KL-TC (eq. 10), with the calibrated λ_i."""
        return self.vae_losses(x, real)

    def reconstruction_on(self, x: Tensor, x_rec: Tensor) -> Tensor:
        """VAE-S's L_REC = Σ_i λ_i L_i (eq. 5) with the current calibration weights."""
        raw = reconstruction_terms(x, x_rec, self.spec.kind == "image")
        return (self.calib.weights.to(raw) * raw).sum()
