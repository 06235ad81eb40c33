"""AVAE: Adversarial Variational Auto-Encoder (Plumerault, Le Borgne & Hudelot; paper 000, §IV-B, Fig. 4).

Scale: L_VAE = eq. 9 (½‖D(z) − x‖² summed over pixels in [-1, 1] + β·KL summed over latent dims, batch
mean); L_Z summed over latent dims, L_M and L_C batch means. No released code was consulted (none is public).

Four networks: encoder E (μ_E(x) and a learned σ_E independent of x, Fig. 5), VAE decoder D,
generator G and critic C. One iteration of Fig. 4 computes every forward pass first, then
θ_e, θ_d ← ∇ L_VAE (eq. 9, β-weighted KL), θ_g ← ∇ L_G (L_G = L_Z + L_M, eqs. 12/16 and 15) and
θ_c ← ∇ L_C (eq. 13). The generator loss flows *through* E but never updates it.

Three registered variants (docs/protocols.md): ``avae`` (no ξ, L_Z^b, the paper's best),
``avae-a`` (no ξ, L_Z^a) and ``avae-xi-a`` (generator input (z, ξ), L_Z^a).

E inside L_Z: Fig. 4 encodes x_fake in its own E pass; in TensorFlow 2 training mode that normalises x_fake
with the fake batch's own BatchNorm statistics (``lz_norm_stats="fake"``, default and ``paper``: the literal
reading, issue #26 §4). ``"real"`` normalises x_fake with the statistics of the real batch of the same
iteration (a deviation, kept as a setting: μ_E(G(z)) ≈ √(1 − σ²) z then cannot be met by a per-channel
renormalisation of G's output). Both learn on digits (300 steps, seeds 0-2: G(μ_E(x)) class agreement 0.83
(fake) vs 0.87 (real), test MSE 0.034 vs 0.032; docs/models-fidelity.md): ``real`` is not needed for AVAE to
learn, so the literal reading is the default. Running statistics never see the fakes in either.

The critic follows the paper's convention C(x) = P(x is *fake*) (eq. 13/14): its logits are trained
with target 1 on generated images and 0 on real ones, and the generator minimises logit C(x_fake)
(eq. 15), which pushes samples towards "real".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from bench.data.base import DataSpec
from bench.errors import ConfigError
from models import blocks
from models.base import AVAE_BETA, ENCODE, RECONSTRUCT, SAMPLE, Model, ModelConfig, bce_logits
from models.vae import vae_loss


@dataclass
class AVAEConfig(ModelConfig):
    """AVAE hyper-parameters; the Fig. 5 blocks and DCGAN optimiser come from :class:`ModelConfig`."""

    beta: float = 1.0  # KL weight of L_VAE (AVAE §V: 4/5/10/10/20 per dataset, set by dataset_defaults)
    xi: bool = False  # feed (z, ξ), ξ ~ N(0, I), to the generator (§IV-B "with ξ")
    xi_dim: int = 0  # size of ξ; 0 = same as latent_dim (the paper does not state it)
    latent_loss: Literal["a", "b"] = "b"  # L_Z^a (eq. 12) or L_Z^b (eq. 16)
    # BatchNorm statistics E uses on x_fake inside L_Z (see :meth:`AVAE.encode_fakes`): "real" (default) = those
    # of the real batch of the same iteration; "fake" = the fake batch's own (docs/models-fidelity.md, point 9)
    lz_norm_stats: Literal["fake", "real"] = "fake"  # Fig. 4's own E pass on x_fake (module docstring)

    def validate(self) -> None:
        super().validate()
        if self.beta < 0:
            raise ConfigError(f"bad value for beta: {self.beta} (must be >= 0)")
        if self.xi_dim < 0:
            raise ConfigError(f"bad value for xi_dim: {self.xi_dim} (must be >= 0)")


@dataclass
class AVAEAConfig(AVAEConfig):
    latent_loss: Literal["a", "b"] = "a"


@dataclass
class AVAEXiAConfig(AVAEConfig):
    xi: bool = True
    latent_loss: Literal["a", "b"] = "a"


def latent_loss_a(mu_fake: Tensor, z_fake: Tensor, sigma: Tensor) -> Tensor:
    """AVAE eq. 12: L_Z^a = ½ ‖(μ_E(x_fake) − z_fake) / σ_E‖², summed over latent dims, batch mean."""
    return 0.5 * ((mu_fake - z_fake) / sigma).pow(2).sum(1).mean()


def latent_loss_b(mu_fake: Tensor, z_fake: Tensor, sigma: Tensor) -> Tensor:
    """AVAE eq. 16: L_Z^b = ½ ‖(μ_E(x_fake) − √(1 − σ_E²) z_fake) / σ_E‖², summed over dims, batch mean.

    √(1 − σ²) is only real for σ ≤ 1 (the KL term keeps σ_E below its prior value 1; an unused
    dimension sits at σ = 1). It is clamped at 0 for σ > 1 so that a transient σ slightly above 1
    (Adam noise) gives the eq.-16 limit (target 0) instead of NaN.
    """
    shrink = (1.0 - sigma.pow(2)).clamp_min(0.0).sqrt()
    return 0.5 * ((mu_fake - shrink * z_fake) / sigma).pow(2).sum(1).mean()


def critic_loss(c_real: Tensor, c_fake: Tensor) -> Tensor:
    """AVAE eq. 13 on logits: L_C = −E_real log(1 − C(x)) − E_fake log C(x), with C = P(fake):
    BCE(logit C(x_real), 0) + BCE(logit C(x_fake), 1)."""
    return bce_logits(c_real, 0.0) + bce_logits(c_fake, 1.0)


def manifold_loss(c_fake: Tensor) -> Tensor:
    """AVAE eq. 15: L_M = logit C(x_fake) (≈ log p_g(x)/p(x) at the optimal critic), batch mean."""
    return c_fake.mean()


@contextmanager
def batch_stats_recorded(module: nn.Module) -> Iterator[dict[nn.Module, tuple[Tensor, Tensor]]]:
    """Record, for every BatchNorm of ``module`` run in training mode inside the block, the (mean, biased
    variance) of the batch it normalised (detached): the statistics it used, in fp32 (the dtype of the running
    statistics), also under bf16 autocast, whose bf16 activations would otherwise give bf16 statistics
    that a later eval-mode ``F.batch_norm`` rejects on the CPU ("mixed dtype") and that would lose precision."""
    stats: dict[nn.Module, tuple[Tensor, Tensor]] = {}

    def hook(m: nn.Module, inputs: tuple[Tensor, ...], _out: Tensor) -> None:
        h = inputs[0].detach().float()
        dims = [0] + list(range(2, h.dim()))
        stats[m] = (h.mean(dims), h.var(dims, unbiased=False))

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    try:
        yield stats
    finally:
        for h in handles:
            h.remove()


@contextmanager
def normalised_with(module: nn.Module, stats: dict[nn.Module, tuple[Tensor, Tensor]]) -> Iterator[None]:
    """Inside the block every BatchNorm of ``module`` normalises with the given (mean, variance) instead of
    its input batch's, and updates no running statistics (it runs in eval mode on those values)."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.training, m.running_mean, m.running_var) for m in norms]
    for m in norms:  # the buffers are swapped, not written into: autograd keeps the tensors it saved
        m.running_mean, m.running_var = stats[m]
        m.eval()
    try:
        yield
    finally:
        for m, (training, mean, var) in zip(norms, saved, strict=True):
            m.running_mean, m.running_var = mean, var
            m.train(training)


@contextmanager
def frozen_running_stats(module: nn.Module) -> Iterator[None]:
    """Run ``module`` in training mode (batch statistics) without updating its BatchNorm running
    statistics (momentum 0), so that E's eval-mode statistics are those of the real data it is
    trained on, not of the generator's samples it only measures in L_Z."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, mom in zip(norms, saved, strict=True):
            m.momentum = mom


class AVAE(Model):
    """AVAE without ξ and with L_Z^b (``avae``, AVAE Table I's best row).

    Reconstruction for metrics = G(μ_E(x)[, ξ]) (ξ ~ N(0, I) for the ξ variant); the VAE decoder's
    own D(μ_E(x)) is reported alongside through :meth:`extra_recon_paths` (suffix ``_dec``).
    """

    Config = AVAEConfig
    paper = "Plumerault et al., AVAE: Adversarial Variational Auto Encoder (ICPR 2020), §IV-B, Fig. 4"
    capabilities = frozenset({SAMPLE, RECONSTRUCT, ENCODE})

    def __init__(self, cfg: AVAEConfig, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        d = cfg.latent_dim
        self.xi_dim = (cfg.xi_dim or d) if cfg.xi else 0
        # Fig. 5: the encoder is the critic with a head of dim(z) (μ only); σ_z is learned directly.
        self.enc = blocks.encoder(spec, cfg.width, d, cfg.mlp_hidden)
        self.log_sigma = nn.Parameter(torch.zeros(d))  # σ_E = exp(log σ), independent of x
        self.dec = blocks.generator(spec, d, cfg.width, cfg.mlp_hidden)
        self.gen = blocks.generator(spec, d + self.xi_dim, cfg.width, cfg.mlp_hidden)
        self.critic = blocks.critic(spec, cfg.width, 1, "bn", cfg.mlp_hidden)

    @classmethod
    def dataset_defaults(cls, spec: DataSpec) -> dict[str, Any]:
        return {"beta": AVAE_BETA[spec.name]} if spec.name in AVAE_BETA else {}

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        vae = list(self.enc.parameters()) + [self.log_sigma] + list(self.dec.parameters())
        return {"vae": self.adam(vae), "gen": self.adam(self.gen.parameters()), "critic": self.adam(self.critic.parameters())}

    # ---- networks --------------------------------------------------------------------
    def sigma(self) -> Tensor:
        """σ_E, one value per latent dimension (shared by every x, AVAE Fig. 5)."""
        return self.log_sigma.exp()

    def generate(self, z: Tensor, xi: Tensor | None = None) -> Tensor:
        """G(z, ξ): ξ ~ N(0, I) is drawn when the variant has ξ and none is given."""
        if self.xi_dim:
            xi = torch.randn(len(z), self.xi_dim, device=z.device) if xi is None else xi
            z = torch.cat([z, xi], dim=1)
        return self.gen(z).view(-1, *self.spec.shape)

    def decode(self, z: Tensor) -> Tensor:
        return self.dec(z).view(-1, *self.spec.shape)

    # ---- losses ----------------------------------------------------------------------
    def losses(self, x: Tensor) -> dict[str, Tensor]:
        """The forward pass of Fig. 4 and its three losses (graphs kept for the updates)."""
        n = len(x)
        with batch_stats_recorded(self.enc) as real_stats:
            mu = self.enc(x)
        sigma = self.sigma()
        z = mu + sigma * torch.randn_like(mu)
        logvar = (2 * self.log_sigma).expand_as(mu)
        l_vae, rec, kl = vae_loss(x, self.decode(z), mu, logvar, self.cfg.beta)
        z_fake = self.prior(n)
        x_fake = self.generate(z_fake)
        mu_fake = self.encode_fakes(x_fake, real_stats)
        c_real, c_fake = self.critic(x), self.critic(x_fake)
        # σ_E is a constant of the generator loss (only θ_g is updated by L_G).
        lz_fn = latent_loss_b if self.cfg.latent_loss == "b" else latent_loss_a
        l_z = lz_fn(mu_fake, z_fake, sigma.detach())
        l_m = manifold_loss(c_fake)
        return {"vae": l_vae, "rec": rec, "kl": kl, "gen": l_z + l_m, "l_z": l_z, "l_m": l_m,
                "critic": critic_loss(c_real, c_fake), "sigma_mean": sigma.detach().mean()}

    def encode_fakes(self, x_fake: Tensor, real_stats: dict[nn.Module, tuple[Tensor, Tensor]]) -> Tensor:
        """μ_E(x_fake) for L_Z. E's running statistics never move here (they stay those of the real data E
        is trained on). ``lz_norm_stats="fake"``: E normalises x_fake by the fake batch's own statistics,
        so μ_E(G(z)) ≈ √(1 − σ²) z is enforced up to a per-channel renormalisation of G's output;
        ``"real"``: by the statistics the real batch of this iteration had in the same layers (the
        normalisation E applies to the data it encodes), which L_Z then cannot cancel."""
        if self.cfg.lz_norm_stats == "real" and real_stats:
            with normalised_with(self.enc, real_stats):
                return self.enc(x_fake)
        with frozen_running_stats(self.enc):
            return self.enc(x_fake)

    def train_step(self, real, step: int) -> dict[str, Tensor]:  # noqa: ANN001
        out = self.losses(real())
        # Fig. 4 updates all four networks from one forward pass. Each loss's gradient is taken
        # w.r.t. its own network before anything it depends on moves: L_G (through C and E) first,
        # then L_VAE (E, D) and L_C (C only; x_fake is an input to it, G is not differentiated).
        self.update("gen", out["gen"], retain_graph=True)
        self.update("vae", out["vae"])
        self.update("critic", out["critic"])
        return {k: v.detach() for k, v in out.items()}

    # ---- capabilities ----------------------------------------------------------------
    def sample(self, n: int) -> Tensor:
        return self.generate(self.prior(n))

    def encode(self, x: Tensor) -> Tensor:
        return self.enc(x)

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.generate(self.encode(x))

    def reconstruct_dec(self, x: Tensor) -> Tensor:
        """The VAE decoder's reconstruction D(μ_E(x)) (AVAE §V-A compares it with G's)."""
        return self.decode(self.encode(x))

    def extra_recon_paths(self) -> dict[str, Callable[[Tensor], Tensor]]:
        return {"dec": self.reconstruct_dec}


class AVAEA(AVAE):
    """AVAE without ξ and with L_Z^a (eq. 12) (``avae-a``)."""

    Config = AVAEAConfig


class AVAEXiA(AVAE):
    """AVAE with ξ (generator input (z, ξ)) and L_Z^a (eq. 12) (``avae-xi-a``)."""

    Config = AVAEXiAConfig
