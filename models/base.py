"""The model contract: a config dataclass, networks, losses and one ``train_step``.

A model file holds only its networks and its losses (pythae's one-file-per-model with
mimicry's per-model ``train_step``); :class:`bench.trainer.Trainer` owns the loop
(data order, seeding, logging, checkpoint/resume, divergence detection, evaluation).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
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

# ---- the speed switch (issue #29) ------------------------------------------------------------------------------
# One switch for every CPU speed-up of issue #29 that leaves the math unchanged (losses equal within float
# tolerance, tests/test_speed_equivalence.py): the fused Adam of :meth:`Model.adam` and the trainer's per-model
# channels_last default (bench/trainer.py). ``BENCH_SPEEDUPS=0`` (or ``off``) restores the code paths of the
# suite before them exactly; :func:`speedups` switches them inside one process (the A/B of benchmarks/step_ab.py).
# It is read when a model's optimisers and its trainer are built, so a run keeps the setting it started with.
SPEEDUPS_ENV = "BENCH_SPEEDUPS"
_speedups_override: bool | None = None


def speedups_enabled() -> bool:
    """Whether the speed-ups are on: :func:`speedups` inside its block, else ``$BENCH_SPEEDUPS`` (default on)."""
    if _speedups_override is not None:
        return _speedups_override
    return os.environ.get(SPEEDUPS_ENV, "1").strip().lower() not in ("0", "off", "false", "no")


class NativeForwardConvTranspose2d(nn.ConvTranspose2d):
    """A ``ConvTranspose2d`` whose forward pass runs PyTorch's native CPU kernel instead of oneDNN's (issue #29).

    For an image-output layer (a few output channels, e.g. the DCGAN generator's last ``w → C`` layer) oneDNN's
    deconvolution is about 10x slower than the native kernel on the CPU (0.14 vs 1.25 ms at 32 → 1 channels,
    8 → 16 px, batch 32; PERFORMANCE.md); the backward pass is left to the default choice (oneDNN is the faster
    there). The same transposed convolution, so the outputs agree within float rounding. Parameters, buffers and
    state-dict keys are those of the ``ConvTranspose2d`` it replaces (it is the same object, class swapped)."""

    def forward(self, input: Tensor, output_size: list[int] | None = None) -> Tensor:  # noqa: A002
        if input.device.type != "cpu":
            return super().forward(input, output_size)
        before = torch._C._get_mkldnn_enabled()
        torch._C._set_mkldnn_enabled(False)
        try:
            return super().forward(input, output_size)
        finally:
            torch._C._set_mkldnn_enabled(before)


class _ConvNativeInputGrad(torch.autograd.Function):
    """``conv2d`` whose input gradient is computed by PyTorch's native CPU kernel (the weight and bias gradients,
    and the forward pass, by the default choice). Its backward is made of differentiable operators
    (``aten.convolution_backward``), so a gradient penalty's double backward goes through it."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor | None, stride: list[int], padding: list[int],
                dilation: list[int], groups: int) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.conv = (stride, padding, dilation, groups, bias is not None)
        return nn.functional.conv2d(x, weight, bias, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        stride, padding, dilation, groups, has_bias = ctx.conv
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        gx = gw = gb = None
        args = (stride, padding, dilation, False, [0] * len(stride), groups)
        if need_x:
            before = torch._C._get_mkldnn_enabled()
            torch._C._set_mkldnn_enabled(False)
            try:
                gx = torch.ops.aten.convolution_backward(grad, x, weight, None, *args, [True, False, False])[0]
            finally:
                torch._C._set_mkldnn_enabled(before)
        if need_w or (need_b and has_bias):
            bias_sizes = [weight.shape[0]] if has_bias else None
            _, gw, gb = torch.ops.aten.convolution_backward(grad, x, weight, bias_sizes, *args,
                                                            [False, bool(need_w), bool(need_b and has_bias)])
        return gx, gw, gb, None, None, None, None


def conv2d_native_input_grad(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1,
                             padding: int = 0, dilation: int = 1, groups: int = 1) -> Tensor:
    """``torch.nn.functional.conv2d`` (integer stride/padding/dilation) with its input gradient on PyTorch's native
    CPU kernel where a gradient is needed (:class:`NativeInputGradConv2d`'s rule, for functional convolutions of
    one-channel images such as VAE-S's fixed Sobel/Gabor filters) in fp32; elsewhere (another device, bf16 or
    an autocast region, no gradient) exactly ``conv2d``."""
    if (x.device.type != "cpu" or not torch.is_grad_enabled() or not (x.requires_grad or weight.requires_grad)
            or x.dtype != torch.float32 or weight.dtype != torch.float32 or torch.is_autocast_enabled("cpu")):
        return nn.functional.conv2d(x, weight, bias, stride, padding, dilation, groups)
    return _ConvNativeInputGrad.apply(x, weight, bias, [stride] * 2, [padding] * 2, [dilation] * 2, groups)


class NativeInputGradConv2d(nn.Conv2d):
    """A ``Conv2d`` on image input (a few input channels, e.g. a critic's or encoder's first layer) whose input
    gradient, needed whenever the layer is applied to a generated image that a loss differentiates (a
    generator's update through its critic, an encoder on fakes), is computed by PyTorch's native CPU kernel:
    oneDNN's takes about 9x longer for it (1.19 vs 0.14 ms at 32 → 1 channels, 16 px, batch 32; PERFORMANCE.md).
    The forward pass and the weight gradient keep the default choice; where the input needs no gradient (real
    data) the layer is exactly ``Conv2d``. The same convolution, equal within float rounding; parameters,
    buffers and state-dict keys are those of the ``Conv2d`` it replaces (the same object, class swapped)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if input.device.type != "cpu" or not input.requires_grad or not torch.is_grad_enabled():
            return super().forward(input)
        return _ConvNativeInputGrad.apply(input, self.weight, self.bias, list(self.stride), list(self.padding),
                                          list(self.dilation), self.groups)


NATIVE_FORWARD_MAX_OUT_CHANNELS = 4  # image-output transposed convolutions (1 or 3 channels) take the native kernel
NATIVE_INPUT_GRAD_MAX_IN_CHANNELS = 4  # image-input convolutions (1 or 3 channels): native input gradient


def use_native_output_convolutions(model: nn.Module) -> int:
    """Swap, in place, every plain ``ConvTranspose2d`` of ``model`` with at most
    :data:`NATIVE_FORWARD_MAX_OUT_CHANNELS` output channels to :class:`NativeForwardConvTranspose2d` and every
    plain zero-padded ``Conv2d`` with at most :data:`NATIVE_INPUT_GRAD_MAX_IN_CHANNELS` input channels to
    :class:`NativeInputGradConv2d`; returns how many layers were swapped."""
    n = 0
    for m in model.modules():
        if type(m) is nn.ConvTranspose2d and m.out_channels <= NATIVE_FORWARD_MAX_OUT_CHANNELS:
            m.__class__ = NativeForwardConvTranspose2d
            n += 1
        elif (type(m) is nn.Conv2d and m.in_channels <= NATIVE_INPUT_GRAD_MAX_IN_CHANNELS
              and m.padding_mode == "zeros" and not isinstance(m.padding, str)):
            m.__class__ = NativeInputGradConv2d
            n += 1
    return n


@contextlib.contextmanager
def speedups(on: bool) -> Iterator[None]:
    """Switch the speed-ups on or off for the models and trainers built inside the block."""
    global _speedups_override
    before, _speedups_override = _speedups_override, on
    try:
        yield
    finally:
        _speedups_override = before



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
        """Adam with the config's lr and betas unless given. With the speed-ups on (:func:`speedups_enabled`)
        it is PyTorch's fused implementation (one kernel per parameter for the whole update instead of about
        ten element-wise operators: the same Adam, Kingma & Ba 2015 Alg. 1 with PyTorch's ε placement, equal
        to the for-loop one within float rounding); off, the default for-loop one (the suite before issue #29)."""
        params = list(params)
        tensors = [p for g in params for p in g["params"]] if params and isinstance(params[0], dict) else params
        fusable = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in tensors)
        extra = {"fused": True} if speedups_enabled() and fusable else {}  # (e.g. the meta device: not fusable)
        return torch.optim.Adam(params, lr=self.cfg.lr if lr is None else lr,
                                betas=(self.cfg.beta1, self.cfg.beta2) if betas is None else betas, **extra)

    def update(self, name: str, loss: Tensor, *, retain_graph: bool = False) -> None:
        """Step optimiser ``name`` on ``loss``: gradients are taken only w.r.t. that optimiser's
        parameters (``torch.autograd.grad``), so a loss can never leak into another network."""
        params, grads = self.gradients(name, loss, retain_graph=retain_graph)
        self.apply_gradients(name, params, grads)

    def gradients(self, name: str, loss: Tensor, *, retain_graph: bool = False
                  ) -> tuple[list[Tensor], tuple[Tensor | None, ...]]:
        """The backward half of :meth:`update`: optimiser ``name``'s parameters and the gradients of ``loss``
        w.r.t. them (None where unused)."""
        params = [p for group in self.optimizers[name].param_groups for p in group["params"]]
        return params, torch.autograd.grad(loss, params, retain_graph=retain_graph, allow_unused=True)

    def apply_gradients(self, name: str, params: list[Tensor], grads: tuple[Tensor | None, ...]) -> None:
        """The optimiser half of :meth:`update`: one step of optimiser ``name`` on ``grads``, then the gradients
        are released."""
        opt = self.optimizers[name]
        fused = bool(opt.defaults.get("fused"))
        for p, g in zip(params, grads, strict=True):
            if fused and g is not None and g.stride() != p.stride():
                # PyTorch's fused CPU Adam reads a gradient's memory in its parameter's order: a gradient laid out
                # otherwise (WGAN-GP's double backward returns conv-weight gradients in a permuted layout) would
                # be applied to the wrong elements. Copied into the parameter's layout (same values).
                g = torch.empty_like(p).copy_(g)
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
