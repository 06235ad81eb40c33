"""VAE + BEGAN* + LSM and BEGAN* + LSM (Khan, Hayat & Barnes, paper 001; docs/protocols.md §2, §5).

The discriminator is an auto-encoder (encoder e′, decoder d′) whose L1 reconstruction error is the
energy of an image (BEGAN, Berthelot et al. 2017). The balance between the discriminator's two goals
is kept by k_t, updated by a PID controller on the error e_t (Khan eqs. 10–12, with the bracket of the
erratum in docs/protocols.md §5). Under the ``fair`` protocol the auto-encoder discriminator is the shared
encoder (critic trunk + Dense to a code of ``code_dim``) followed by the shared generator as its
decoder; under ``paper`` every net uses BEGAN's ELU/up-sampling blocks (:mod:`models.blocks_began`).

Learning rate: Khan et al. train with Adam lr 5e-5 (§4); that is the ``paper`` preset. Under ``fair``
the shared lr (2e-4) is kept, since the paper gives 5e-5 as its setting, not as something the model
needs to train.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from bench.data.base import DataSpec
from bench.errors import ConfigError
from models import blocks_began
from models.base import ENCODE, RECONSTRUCT, SAMPLE, Model, ModelConfig, RealBatches, kl_normal


class PIDController(nn.Module):
    """Khan et al. eq. 12: k_t = k_{t−1} + λ1 e_t + λ2 (e_t − e_{t−1}) + λ3 (e_t + e_{t−2} − 2 e_{t−1}),
    clipped to [0, 1] as in BEGAN (Berthelot et al. 2017, eq. 4). λ1..3 are the gains of the integral,
    proportional and differential components (paper: 1e-3, 1e-5, 1e-5).

    The error history starts at e_0 = e_{−1} = 0 and k_0 = ``k0`` (BEGAN: 0). k and the history are
    buffers, so the trainer's ``state_dict`` checkpoint carries them across a resume.
    """

    def __init__(self, gains: tuple[float, float, float] = (1e-3, 1e-5, 1e-5), k0: float = 0.0) -> None:
        super().__init__()
        self.gains = gains
        self.register_buffer("k", torch.tensor(float(k0), dtype=torch.float64))
        self.register_buffer("e_prev", torch.tensor(0.0, dtype=torch.float64))  # e_{t−1}
        self.register_buffer("e_prev2", torch.tensor(0.0, dtype=torch.float64))  # e_{t−2}

    @torch.no_grad()
    def step(self, e_t: Tensor | float) -> Tensor:
        """Feed the error e_t; returns (and stores) the new, clipped k_t."""
        e = torch.as_tensor(e_t, dtype=torch.float64, device=self.k.device).reshape(())
        l1, l2, l3 = self.gains
        k = self.k + l1 * e + l2 * (e - self.e_prev) + l3 * (e + self.e_prev2 - 2.0 * self.e_prev)
        self.k.copy_(k.clamp(0.0, 1.0))
        self.e_prev2.copy_(self.e_prev)
        self.e_prev.copy_(e)
        return self.k.clone()


@dataclass
class BEGANLSMConfig(ModelConfig):
    """Khan et al. §4: gains 1e-3, 1e-5, 1e-5; α, β, γ, η = 0.3, 0.1, 0.1, 0.5 (the paper's letters:
    ``beta`` weights L_s here, not a KL term)."""

    arch: Literal["dcgan", "began"] = "dcgan"  # ``paper`` preset: "began"
    code_dim: int = 0  # size of the discriminator auto-encoder's code; 0 → latent_dim (BEGAN: h = N_z)
    alpha: float = 0.3  # weight of L_v (eqs. 10, 11, 13, 14)
    beta: float = 0.1  # weight of L_s (eqs. 14, 15)
    gamma: float = 0.1  # weight of L_e (eqs. 14, 15)
    eta: float = 0.5  # diversity ratio η (eq. 10)
    lambda1: float = 1e-3  # integral gain (eq. 12)
    lambda2: float = 1e-5  # proportional gain
    lambda3: float = 1e-5  # differential gain
    k0: float = 0.0  # k at t = 0 (BEGAN)
    # L_n (eq. 3), see :func:`kl_term`: "pixel" (default) = KL/|x| (β_eff = 1/γ = 10 against the summed L1: an
    # erratum the suite makes, not a reading of the text); "elbo" = γ·KL/|x| (β_eff = 1, a unit-scale Laplace
    # decoder's ELBO); "sum" = the KL as printed (β_eff = |x|/γ, the ``paper`` preset; the posterior collapses);
    # "mean" = KL/dim(z).
    kl_reduction: Literal["pixel", "elbo", "sum", "mean"] = "pixel"
    # A factor on L_n in L_enc (eq. 15 has none: 1). β_eff against the summed L1 = kl_weight/γ under "pixel",
    # kl_weight under "elbo" (the sensitivity 1 / 10 / 100 of issue #26: elbo with kl_weight 1, 10, 100).
    kl_weight: float = 1.0
    # How the auto-encoder discriminator sees its inputs: "separate" (default) = one pass per batch (x, x_v, x_g;
    # each normalised by its own BatchNorm statistics under ``fair``); "joint" = one pass on [x; x_v; x_g], as
    # BEGAN's released code evaluates D on ``tf.concat([G, x], 0)`` (carpedm20/BEGAN-tensorflow ``trainer.py``;
    # BEGAN's blocks have no BatchNorm, so there the two are the same). Measured in docs/models-fidelity.md.
    disc_pass: Literal["separate", "joint"] = "separate"
    # How the VAE's decoder sees z_v (posterior samples, eq. 4) and z_g (prior samples): "joint" (default, issue #26)
    # = one pass on [z_v; z_g], so under ``fair``'s BatchNorm both are normalised by the statistics whose running
    # average evaluation uses (VAE/GAN's released code decodes [z; z_p] in one pass: andersbll/
    # autoencoding_beyond_pixels ``model/aegan.py`` ``AEGAN.setup``); "separate" = one pass each (the code before
    # issue #26; eval-mode reconstructions failed, see VAEBEGAN). BEGAN's blocks (``paper``) have no BatchNorm.
    dec_pass: Literal["joint", "separate"] = "joint"

    def validate(self) -> None:
        super().validate()
        if self.code_dim < 0:
            raise ConfigError(f"bad value for code_dim: {self.code_dim} (must be >= 0)")
        if not 0.0 <= self.k0 <= 1.0:
            raise ConfigError(f"bad value for k0: {self.k0} (must be in [0, 1])")
        for key in ("alpha", "beta", "gamma", "eta", "lambda1", "lambda2", "lambda3", "kl_weight"):
            if getattr(self, key) < 0:
                raise ConfigError(f"bad value for {key}: {getattr(self, key)} (must be >= 0)")


def l1_energy(x: Tensor, x_rec: Tensor) -> Tensor:
    """Khan eqs. 2, 7: (1/|x|) ‖x − x′‖₁, the mean absolute error over every element of the batch."""
    return (x - x_rec).abs().mean()


def kl_term(mu: Tensor, logvar: Tensor, reduction: str, pixels: int, gamma: float = 1.0) -> Tensor:
    """Khan eq. 3's L_n = KL(q(z|x) ‖ N(0, I)) (summed over latent dims, batch mean) on the scale ``reduction``
    names, against eq. 2's L_e = (1/|x|) ‖x − x_v‖₁ weighted by γ in L_enc = L_n + β L_s + γ L_e (eq. 15):
    ``"elbo"`` = γ·KL/|x|: L_n + γ L_e = γ·(KL + ‖x − x_v‖₁)/|x|, γ × the per-pixel negative ELBO of a
    unit-scale Laplace decoder, β_eff = 1 against the summed L1; ``"pixel"`` = KL/|x|, β_eff = 1/γ (= 10);
    ``"sum"`` = the literal print, β_eff = |x|/γ (≈ 10⁴ at 32 px); ``"mean"`` = KL/dim(z), β_eff = |x|/(γ dim z)
    (docs/models-fidelity.md)."""
    kl = kl_normal(mu, logvar).mean()
    if reduction == "elbo":
        return gamma * kl / pixels
    if reduction == "pixel":
        return kl / pixels
    if reduction == "mean":
        return kl / mu.shape[1]
    return kl


def equilibrium_error(l_d: Tensor, l_g: Tensor, l_v: Tensor | float, alpha: float, eta: float) -> Tensor:
    """Khan eq. 11 with the erratum of docs/protocols.md §5: e_t = η L_d − (L_g + α L_v)
    (for BEGAN* + LSM, L_v = 0: e_t = η L_d − L_g)."""
    return eta * l_d - (l_g + alpha * l_v)


def convergence_measure(l_d: Tensor, l_g: Tensor, l_v: Tensor | float, alpha: float, eta: float) -> Tensor:
    """Khan §3.4: M = L_d + |η L_d − L_g − α L_v| (BEGAN's M_global with the VAE term)."""
    return l_d + equilibrium_error(l_d, l_g, l_v, alpha, eta).abs()


def discriminator_loss(l_d: Tensor, l_g: Tensor, l_v: Tensor | float, k_prev: float, alpha: float) -> Tensor:
    """Khan eq. 13: L_dis = L_d − k_{t−1} (L_g + α L_v)."""
    return l_d - k_prev * (l_g + alpha * l_v)


def generator_loss(l_g: Tensor, l_v: Tensor | float, l_s: Tensor, l_e: Tensor | float, alpha: float, beta: float,
                   gamma: float) -> Tensor:
    """Khan eq. 14: L_gen = L_g + α L_v + β L_s + γ L_e."""
    return l_g + alpha * l_v + beta * l_s + gamma * l_e


def encoder_loss(l_n: Tensor, l_s: Tensor, l_e: Tensor, beta: float, gamma: float) -> Tensor:
    """Khan eq. 15: L_enc = L_n + β L_s + γ L_e."""
    return l_n + beta * l_s + gamma * l_e


def latent_similarity(z_d: Tensor, z_v: Tensor) -> Tensor:
    """Khan eq. 9: L_s = (1/|z_d|) ‖z_d − z′_v‖₁ between the discriminator-encoder codes of x and of
    its VAE reconstruction x_v (paired, element by element; mean over the batch)."""
    return (z_d - z_v).abs().mean()


def latent_similarity_unpaired(z_d: Tensor, z_g: Tensor) -> Tensor:
    """The BEGAN* + LSM reading of Khan eq. 9 (no reconstructions exist): L1 between the batch-mean
    discriminator codes of the real batch and of the generated batch, averaged over code dims,
    (1/|z|) ‖mean_i z_d,i − mean_i z′_g,i‖₁ — real and generated images are not paired, so only
    their batch statistics can be compared (a feature-matching reading)."""
    return (z_d.mean(0) - z_g.mean(0)).abs().mean()


class _AEDiscriminatorModel(Model):
    """Shared parts: the auto-encoder discriminator, the generator/decoder and the PID controller."""

    Config = BEGANLSMConfig
    capabilities = frozenset({SAMPLE})

    def __init__(self, cfg: BEGANLSMConfig, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        code = cfg.code_dim or cfg.latent_dim
        self.d_enc = blocks_began.encoder(spec, cfg.arch, cfg.width, code, cfg.mlp_hidden)  # e′
        self.d_dec = blocks_began.decoder(spec, cfg.arch, code, cfg.width, cfg.mlp_hidden)  # d′
        self.dec = blocks_began.decoder(spec, cfg.arch, cfg.latent_dim, cfg.width, cfg.mlp_hidden)  # generator
        self.pid = PIDController((cfg.lambda1, cfg.lambda2, cfg.lambda3), cfg.k0)

    @classmethod
    def dataset_defaults(cls, spec: DataSpec) -> dict[str, Any]:
        """2-D points: a 1-d discriminator code. BEGAN's auto-encoder needs a bottleneck (h ≪ the data
        dimension); with h = dim z ≥ 2 it can learn the identity and give every point zero energy."""
        return {"code_dim": 1} if spec.kind == "points" else {}

    @classmethod
    def paper_preset(cls, spec: DataSpec) -> dict[str, Any]:
        """Khan §4: BEGAN blocks (n = 64, h = N_z = 64 as in BEGAN), Adam lr 5e-5, 300k iterations."""
        preset: dict[str, Any] = {"lr": 5e-5, "steps": 300_000}
        if spec.kind == "image":
            preset.update({"arch": "began", "width": 64, "latent_dim": 64})
        return preset

    def decode(self, z: Tensor) -> Tensor:
        return self.dec(z).view(-1, *self.spec.shape)

    def disc_code(self, x: Tensor) -> Tensor:
        """z′ = e′(x), the discriminator encoder's code."""
        return self.d_enc(x)

    def disc_reconstruct(self, code: Tensor) -> Tensor:
        """x′ = d′(z′), the discriminator decoder's output (eq. 8)."""
        return self.d_dec(code).view(-1, *self.spec.shape)

    def sample(self, n: int) -> Tensor:
        return self.decode(self.prior(n))

    def discriminate(self, *batches: Tensor) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
        """(codes z′, reconstructions x′) of the auto-encoder discriminator for each batch, from one pass on
        their concatenation (``disc_pass="joint"``, BEGAN's released code) or one pass each (``"separate"``)."""
        if self.cfg.disc_pass == "joint":
            codes = self.disc_code(torch.cat(batches))
            sizes = [len(b) for b in batches]
            return codes.split(sizes), self.disc_reconstruct(codes).split(sizes)
        codes = tuple(self.disc_code(b) for b in batches)
        return codes, tuple(self.disc_reconstruct(c) for c in codes)

    def _finish(self, l_d: Tensor, l_g: Tensor, l_v: Tensor | float) -> tuple[Tensor, float, Tensor]:
        """Equilibrium step (eqs. 11–13): L_dis with k_{t−1}, then k_t from e_t; returns (L_dis, k_{t−1}, e_t)."""
        cfg = self.cfg
        k_prev = float(self.pid.k)
        l_dis = discriminator_loss(l_d, l_g, l_v, k_prev, cfg.alpha)
        e_t = equilibrium_error(l_d.detach(), l_g.detach(), l_v.detach() if isinstance(l_v, Tensor) else l_v,
                                cfg.alpha, cfg.eta)
        return l_dis, k_prev, e_t


class VAEBEGAN(_AEDiscriminatorModel):
    """VAE + BEGAN* + LSM (Khan et al., Alg. 1). Per iteration, from one forward pass:
    θ_e ← ∇ L_enc (eq. 15), θ_d ← ∇ L_gen (eq. 14), k_t from e_t (eqs. 11–12), θ_e′, θ_d′ ← ∇ L_dis
    (eq. 13, with k_{t−1}). Reconstruction for metrics = Dec(μ_E(x)).

    Scale of L_n (docs/models-fidelity.md, issue #26): eq. 2's L_e is a per-pixel mean L1 (BEGAN's released code,
    carpedm20/BEGAN-tensorflow ``models.py``/``trainer.py``: ``reduce_mean(abs(AE(x) − x))``, the scale the PID
    gains 1e-3/1e-5/1e-5 are tuned to), while eq. 3's KL is printed summed over latent dims. Read literally
    (``kl_reduction="sum"``, the ``paper`` preset) the encoder's KL weight against a summed L1 is |x|/γ ≈ 10⁴ at
    32 px and the posterior collapses (no active unit on digits), which Khan §5.5 / Figs. 6, 8 (interpolation and
    attribute arithmetic on encoder means) rule out. Any other scale is an erratum the suite makes, not a reading
    of the text. Default ``"pixel"``: the KL divided by |x|, β_eff = 1/γ = 10. ``"elbo"`` (L_n = γ·KL/|x|, so
    L_n + γ L_e is γ × the per-pixel negative ELBO of a unit-scale Laplace decoder, β_eff = 1) and ``kl_weight``
    are settings (β_eff 1 / 10 / 100 at 5 seeds: docs/models-fidelity.md §IV.4).

    Decoder passes (issue #26 §3, docs/models-fidelity.md §IV.3). At the fair optimiser settings (lr 2e-4, batch 64,
    width 16, 32-px digits, latent 16) the model trained well but evaluated as one blob: the decoder normalised the
    posterior samples z_v and the prior samples z_g each by its own batch's BatchNorm statistics, while evaluation
    decodes μ_E(x) with running statistics that average both, and its third BatchNorm's statistics differed between
    the two (variance 0.034 against 0.064). Train-mode MSE of Dec(μ) on [-1, 1] 0.017, eval-mode 0.449 (test MSE
    0.112 on the metric's scale) with 16 of 16 active units. The decoder now runs once on [z_v; z_g]
    (``dec_pass="joint"``): test MSE 0.0041 at 1,500 iterations under DCGAN's initialisation. At the config's
    default latent 128, DCGAN's initialisation and the per-pixel KL still close every unit (0 active units from
    iteration 100, with the joint pass): the decoder's gain z → x at initialisation is 0.19 (‖Jδ‖²/‖δ‖²; 2.75 under
    PyTorch's, whose output layer is ~6× larger), the KL's gradient on μ 13× the reconstruction's, and with 128
    units each unit's share of the reconstruction is smaller. β_eff = 1 keeps them but gives much worse samples;
    that case stays open (a strict xfail in tests/test_fidelity4_began.py).

    k_t. BEGAN's k_t (released code: ``k_t ← clip(k_t + λ_k (γ L_real − L_G), 0, 1)`` from 0) rises only while
    the generator's energy is below η × the real energy. Khan's e_t = η L_d − (L_g + α L_v) adds α L_v on the
    fake side, so even a generator the discriminator reconstructs exactly as well as real data (L_g = L_v = L_d)
    gives e_t = (η − 1 − α) L_d = −0.8 L_d < 0: k_t stays at 0 unless the fakes are reconstructed ≥ 2.6× better
    than real images. With k_t = 0 the discriminator is a plain auto-encoder of real data (L_dis = L_d), and the
    generator's L_g + α L_v are an energy it descends (samples pulled towards what that auto-encoder reconstructs
    well, with no term pushing the fakes' energy up) plus β L_s, a feature reconstruction in its code space.
    k_t is logged at every log step (``k_t``, ``e_t``).
    """

    paper = "Khan, Hayat & Barnes 2018, VAE + BEGAN* + LSM (paper 001, eqs. 2–15, Alg. 1)"
    capabilities = frozenset({SAMPLE, RECONSTRUCT, ENCODE})

    @classmethod
    def paper_preset(cls, spec: DataSpec) -> dict[str, Any]:
        """Khan §4's settings (:meth:`_AEDiscriminatorModel.paper_preset`) and eq. 3's KL as printed (summed over
        latent dims, β_eff = |x|/γ against the summed L1; issue #26: the literal text in ``paper``)."""
        return {**super().paper_preset(spec), "kl_reduction": "sum"}

    def __init__(self, cfg: BEGANLSMConfig, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.enc = blocks_began.encoder(spec, cfg.arch, cfg.width, 2 * cfg.latent_dim, cfg.mlp_hidden)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"enc": self.adam(self.enc.parameters()), "dec": self.adam(self.dec.parameters()),
                "disc": self.adam(list(self.d_enc.parameters()) + list(self.d_dec.parameters()))}

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.enc(x).chunk(2, dim=1)
        return mu, logvar

    def losses(self, x: Tensor) -> dict[str, Tensor]:
        """Every term of Khan eqs. 2, 3, 7, 9 for the batch ``x`` (graph kept for the updates)."""
        mu, logvar = self.posterior(x)
        z_v = mu + (0.5 * logvar).exp() * torch.randn_like(mu)  # eq. 4
        z_g = self.prior(len(x))
        if self.cfg.dec_pass == "joint":  # one decoder pass on [z_v; z_g]: shared BatchNorm statistics
            x_v, x_g = self.decode(torch.cat([z_v, z_g])).chunk(2)
        else:
            x_v, x_g = self.decode(z_v), self.decode(z_g)
        (z_d, z_vp, z_gp), (r_d, r_v, r_g) = self.discriminate(x, x_v, x_g)
        return {
            "L_e": l1_energy(x, x_v),  # eq. 2
            "L_n": kl_term(mu, logvar, self.cfg.kl_reduction, x[0].numel(), self.cfg.gamma),  # eq. 3
            "L_s": latent_similarity(z_d, z_vp),  # eq. 9
            "L_d": l1_energy(x, r_d),  # eq. 7
            "L_g": l1_energy(x_g, r_g),
            "L_v": l1_energy(x_v, r_v),
        }

    def train_step(self, real: RealBatches, step: int) -> dict[str, Tensor]:
        cfg = self.cfg
        t = self.losses(real())
        l_enc = encoder_loss(cfg.kl_weight * t["L_n"], t["L_s"], t["L_e"], cfg.beta, cfg.gamma)
        l_gen = generator_loss(t["L_g"], t["L_v"], t["L_s"], t["L_e"], cfg.alpha, cfg.beta, cfg.gamma)
        # Alg. 1, lines 8, 11, 13: encoder, then generator, then discriminator. Each update takes
        # gradients w.r.t. its own network only, so the one graph serves all three.
        self.update("enc", l_enc, retain_graph=True)
        self.update("dec", l_gen, retain_graph=True)
        l_dis, k_prev, e_t = self._finish(t["L_d"], t["L_g"], t["L_v"])
        self.update("disc", l_dis)
        k_t = self.pid.step(e_t)  # eq. 12 (line 12), used from the next iteration on
        out = {k: v.detach() for k, v in t.items()}
        out.update(L_enc=l_enc.detach(), L_gen=l_gen.detach(), L_dis=l_dis.detach(), e_t=e_t,
                   k_t=k_t.float(), M=t["L_d"].detach() + e_t.abs())
        return out

    def encode(self, x: Tensor) -> Tensor:
        return self.posterior(x)[0]

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))


class BEGANLSM(_AEDiscriminatorModel):
    """BEGAN* + LSM (Khan et al. Table 1 ablation): no VAE, so no L_v, L_e, L_n; the generator is the
    decoder fed with z_g ~ N(0, I). L_dis = L_d − k_{t−1} L_g, L_gen = L_g + β L_s, e_t = η L_d − L_g.

    L_s reading: the paper defines L_s (eq. 9) only between the codes of x and of its reconstruction
    x_v, which do not exist here. We take the closest reading: the L1 distance between the batch-mean
    discriminator codes of the real batch and of the generated batch (:func:`latent_similarity_unpaired`).
    """

    paper = "Khan, Hayat & Barnes 2018, BEGAN* + LSM ablation (paper 001, eqs. 7–14, Table 1)"

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"dec": self.adam(self.dec.parameters()),
                "disc": self.adam(list(self.d_enc.parameters()) + list(self.d_dec.parameters()))}

    def losses(self, x: Tensor) -> dict[str, Tensor]:
        """L_d, L_g (eq. 7) and the unpaired L_s for the batch ``x``."""
        x_g = self.decode(self.prior(len(x)))
        (z_d, z_gp), (r_d, r_g) = self.discriminate(x, x_g)
        return {
            "L_s": latent_similarity_unpaired(z_d, z_gp),
            "L_d": l1_energy(x, r_d),
            "L_g": l1_energy(x_g, r_g),
        }

    def train_step(self, real: RealBatches, step: int) -> dict[str, Tensor]:
        cfg = self.cfg
        t = self.losses(real())
        l_gen = generator_loss(t["L_g"], 0.0, t["L_s"], 0.0, cfg.alpha, cfg.beta, cfg.gamma)
        self.update("dec", l_gen, retain_graph=True)
        l_dis, k_prev, e_t = self._finish(t["L_d"], t["L_g"], 0.0)
        self.update("disc", l_dis)
        k_t = self.pid.step(e_t)
        out = {k: v.detach() for k, v in t.items()}
        out.update(L_gen=l_gen.detach(), L_dis=l_dis.detach(), e_t=e_t, k_t=k_t.float(),
                   M=t["L_d"].detach() + e_t.abs())
        return out
