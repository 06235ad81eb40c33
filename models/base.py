"""The model contract: a config dataclass, networks, losses and one ``train_step``.

A model file holds only its networks and its losses (pythae's one-file-per-model with
mimicry's per-model ``train_step``); :class:`bench.trainer.Trainer` owns the loop
(data order, seeding, logging, checkpoint/resume, divergence detection, evaluation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor, nn

from bench.data.base import DataSpec
from bench.errors import ConfigError
from models import blocks

# Capabilities a model may declare; metrics use only what exists.
SAMPLE, RECONSTRUCT, ENCODE = "sample", "reconstruct", "encode"

RealBatches = Callable[[], Tensor]


@dataclass
class ModelConfig:
    """Hyper-parameters shared by every model under the ``fair`` protocol (docs/protocols.md §1,
    AVAE §V: DCGAN blocks, batch 64, 5e4 iterations, Adam lr 2e-4, β1 = 0.5)."""

    protocol: Literal["fair", "paper"] = "fair"
    latent_dim: int = 128
    width: int = 128  # w, the width multiplier of the DCGAN blocks (paper 128)
    mlp_hidden: int = 128  # hidden units of the MLP blocks used on 2-D data
    batch_size: int = 64
    steps: int = 50_000
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    sample_mode: Literal["eval", "train"] = "eval"  # BatchNorm mode when sampling (docs/protocols.md)
    # Weights of the shared DCGAN blocks at build time (models/blocks.py): "dcgan" = N(0, 0.02), BatchNorm
    # scale N(1, 0.02), shifts 0 (DCGAN §4, as AVAE §V asks); "pytorch" = PyTorch's defaults (the old init).
    init: Literal["dcgan", "pytorch"] = "dcgan"

    def validate(self) -> None:
        """Reject values no run could use; the message names the key."""
        for key in ("latent_dim", "width", "mlp_hidden", "batch_size", "steps"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"bad value for {key}: {getattr(self, key)} (must be > 0)")
        if not self.lr > 0:
            raise ConfigError(f"bad value for lr: {self.lr} (must be > 0)")
        for key in ("beta1", "beta2"):
            if not 0 <= getattr(self, key) < 1:
                raise ConfigError(f"bad value for {key}: {getattr(self, key)} (must be in [0, 1))")


class Model(nn.Module):
    """Base class of every registered model.

    Subclasses set ``Config``, ``paper`` and ``capabilities``, build their networks in
    ``__init__``, create optimisers in :meth:`configure_optimizers` and implement
    :meth:`train_step` (one iteration of the paper's algorithm, all its updates, in order).
    """

    Config: ClassVar[type[ModelConfig]] = ModelConfig
    paper: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[str]] = frozenset({SAMPLE})

    def __init__(self, cfg: ModelConfig, spec: DataSpec) -> None:
        super().__init__()
        self.cfg = cfg
        self.spec = spec
        self.optimizers: dict[str, torch.optim.Optimizer] = {}

    @classmethod
    def build(cls, cfg: ModelConfig, spec: DataSpec) -> Model:
        """Construct the model and initialise its shared blocks as ``cfg.init`` says
        (:func:`models.blocks.initialise`); every run builds its model through this."""
        model = cls(cfg, spec)
        blocks.initialise(model, cfg.init)
        return model

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def prior(self, n: int) -> Tensor:
        """``n`` draws from N(0, I) in latent space, on the model's device."""
        return torch.randn(n, self.cfg.latent_dim, device=self.device)

    # ---- configuration hooks -------------------------------------------------------
    @classmethod
    def dataset_defaults(cls, spec: DataSpec) -> dict[str, Any]:
        """Per-dataset defaults from the paper (e.g. AVAE §V's β); applied before --set."""
        return {}

    @classmethod
    def paper_preset(cls, spec: DataSpec) -> dict[str, Any]:
        """Overrides for the ``paper`` protocol (the model's own paper's settings)."""
        return {}

    # ---- training ------------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Create the optimisers (called once, after the model is on its device)."""
        raise NotImplementedError

    def train_step(self, real: RealBatches, step: int) -> dict[str, Tensor]:
        """One iteration; ``real()`` draws the next real batch (call it once per batch needed).

        Returns detached scalar tensors to log (losses and any monitored quantity).
        """
        raise NotImplementedError

    def adam(self, params: Any, lr: float | None = None, betas: tuple[float, float] | None = None) -> torch.optim.Adam:
        """Adam with the config's lr and betas unless given."""
        return torch.optim.Adam(params, lr=self.cfg.lr if lr is None else lr,
                                betas=(self.cfg.beta1, self.cfg.beta2) if betas is None else betas)

    def update(self, name: str, loss: Tensor, *, retain_graph: bool = False) -> None:
        """Step optimiser ``name`` on ``loss``: gradients are taken only w.r.t. that optimiser's
        parameters (``torch.autograd.grad``), so a loss can never leak into another network."""
        opt = self.optimizers[name]
        params = [p for group in opt.param_groups for p in group["params"]]
        grads = torch.autograd.grad(loss, params, retain_graph=retain_graph, allow_unused=True)
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        opt.step()
        for p in params:
            p.grad = None

    # ---- capabilities --------------------------------------------------------------
    def sample(self, n: int) -> Tensor:
        """``n`` samples from the prior, in the data's model range."""
        raise NotImplementedError

    def reconstruct(self, x: Tensor) -> Tensor:
        """Reconstructions of ``x`` (the model's documented reconstruction path)."""
        raise NotImplementedError(f"{type(self).__name__} has no reconstructions")

    def encode(self, x: Tensor) -> Tensor:
        """Latent codes of ``x`` (the posterior mean where there is one)."""
        raise NotImplementedError(f"{type(self).__name__} has no encoder")

    @torch.no_grad()
    def diagnostics(self, probe: Tensor) -> dict[str, float]:
        """Quantities the trainer logs at every log step, computed on a fixed batch of real data
        ``probe``: the number of active latent units (:func:`active_units`) for every model that
        encodes. Eval mode (BatchNorm running statistics, none updated) and the RNG state is restored,
        so logging never changes training."""
        if ENCODE not in self.capabilities:
            return {}
        was_training = self.training
        rng = torch.get_rng_state()
        self.eval()
        try:
            codes = torch.cat([self.encode(chunk) for chunk in probe.split(256)])
        finally:
            self.train(was_training)
            torch.set_rng_state(rng)
        return {"active_units": float(active_units(codes))}

    def extra_recon_paths(self) -> dict[str, Callable[[Tensor], Tensor]]:
        """Other reconstruction paths worth reporting, by suffix (e.g. AVAE's VAE decoder as
        ``{"dec": fn}``: its reconstruction metrics appear as ``mse_dec``, ``cosine_dec``…)."""
        return {}


class GaussianEncoderDecoder(Model):
    """A model with ``self.enc`` (x → (μ, log σ²), a 2·dim(z) head) and ``self.dec`` (z → x):
    the posterior, decoding, prior samples, posterior-mean codes and reconstructions
    D(μ_E(x)) shared by the VAE family (VAE, VAE/GAN, VAE-S, AVAE-S)."""

    capabilities = frozenset({SAMPLE, RECONSTRUCT, ENCODE})
    enc: nn.Module
    dec: nn.Module

    def build_encoder(self, cfg: ModelConfig, spec: DataSpec, sigma_z: str = "amortised") -> None:
        """``self.enc`` from the shared blocks: ``sigma_z="amortised"`` gives the usual 2·dim(z) head
        (μ(x), log σ²(x)); ``"learned"`` a dim(z) head for μ(x) and one learned log σ per latent dim,
        independent of x (AVAE Fig. 5: σ_z "chosen independent of x and learned directly"), initialised
        at σ = 1."""
        d = cfg.latent_dim
        self.enc = blocks.encoder(spec, cfg.width, d if sigma_z == "learned" else 2 * d, cfg.mlp_hidden)
        self.log_sigma = nn.Parameter(torch.zeros(d)) if sigma_z == "learned" else None

    def encoder_parameters(self) -> list[nn.Parameter]:
        """The encoder's parameters, with the learned log σ_z when there is one."""
        sigma = getattr(self, "log_sigma", None)
        return list(self.enc.parameters()) + ([sigma] if sigma is not None else [])

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(μ, log σ²) of q(z|x) (log σ² the same for every x when σ_z is learned)."""
        sigma = getattr(self, "log_sigma", None)
        if sigma is not None:
            mu = self.enc(x)
            return mu, (2 * sigma).expand_as(mu)
        mu, logvar = self.enc(x).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        return self.dec(z).view(-1, *self.spec.shape)

    def sample(self, n: int) -> Tensor:
        return self.decode(self.prior(n))

    def encode(self, x: Tensor) -> Tensor:
        return self.posterior(x)[0]

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))


ACTIVE_UNIT_THRESHOLD = 0.01  # Burda et al. 2016 (IWAE, §5.2): A_u = Cov_x(E_{z~q(z|x)}[z_u]) > 1e-2


def active_units(codes: Tensor, threshold: float = ACTIVE_UNIT_THRESHOLD) -> int:
    """Number of latent dimensions u whose posterior mean varies across the data, Var_x E[z_u|x] >
    ``threshold`` (Burda et al. 2016, §5.2), from ``codes`` = E[z|x] of one row per example (population
    variance over the rows). A collapsed posterior (one code for every input) has none."""
    return int((codes.flatten(1).var(0, unbiased=False) > threshold).sum())


def kl_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) summed over latent dims, per example (AVAE eq. 9's second term):
    ½ Σ_j (σ_j² + μ_j² − 1 − log σ_j²)."""
    return 0.5 * (logvar.exp() + mu.pow(2) - 1.0 - logvar).flatten(1).sum(1)


def bce_logits(logits: Tensor, target: float) -> Tensor:
    """Mean binary cross-entropy on logits against a constant target (1 = real, 0 = fake)."""
    return nn.functional.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


# AVAE §V: KL weight per dataset, "chosen so VAE-family models have similar KL" (docs/protocols.md §1).
AVAE_BETA: dict[str, float] = {"lsun-bedroom": 4.0, "celeba": 5.0, "cifar10": 10.0, "cifar100": 10.0, "svhn": 20.0}
