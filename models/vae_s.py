"""VAE-S (Naderi, Haji Soleimani & Matwin, AVAE-S paper 003, §II-A, eqs. 5–10; docs/protocols.md §2).

L_VAE = L_REC + L_KL + L_KL-TC (eq. 10 / Alg. 1) with the structure-aware reconstruction loss
L_REC = λ1 MAE + λ2 MSE + λ3 (1 − SSIM) + λ4 ‖Sobel(x) − Sobel(x̃)‖₂ + λ5 ‖Gabor(x) − Gabor(x̃)‖₂
(eqs. 5–7). The λ_i are calibrated as in §III: "we probed the loss components for 1 epoch and
determined the weights" so that every term has the same scale ("if average L1 … was 30, then
their L2 loss was about 900, so we determined λ_l1 as 30"): λ_MSE = 1 is the anchor and
λ_i = mean(MSE term) / mean(term i) over a probe of one epoch. Probing "for 1 epoch" implies training (an
untrained network's losses do not change over an epoch; under the DCGAN initialisation x̃ ≈ 0 and the
λ would be statistics of the data alone, λ_SSIM ≈ 500): the default ``calibration=trained`` trains a
*throwaway copy* of the model for one epoch (with the running ratios as weights), takes λ from the terms it
saw, then discards the copy and trains the model from its own initialisation with those λ frozen ("used
those weights in all the experiments thereafter"; issue #26 §4). ``calibration=dry`` probes the untrained
networks without any update (the previous default); ``calibration=running`` trains the model itself from
step 0 with the running ratios, frozen after the epoch. Fixed weights (``rec_weights``) skip the probe.

KL and TC weights: 1 (``kl_weight``, ``tc_weight``), as eq. 10 and Alg. 1 write L_VAE = L_REC + L_KL +
L_KL-TC; the probe sets only the λ_i of eq. 5, whose "same scale" rule the paper states for the
reconstruction metrics (its example compares L1 with L2). Calibrating KL and TC the same way would be
degenerate: at initialisation the posterior is near the prior (measured on digits, 32 px, latent 32:
KL ≈ 3–5 nats against L_MSE ≈ 500, so λ_KL ≈ 100–170), and the minibatch-weighted TC estimate carries
the parameter-free constant (D − 1)·log(NM) (≈ 227 at initialisation there). So the KL's effective
weight is 1 relative to the MSE term ½Σ(x − x̃)², i.e. about 1/5 of a calibrated L_REC whose five terms
share the MSE term's scale (docs/models-protocol.md).

Reductions (per image, then the batch mean): MAE = Σ|x − x̃|, MSE = ½ Σ (x − x̃)² (exactly AVAE
eq. 9's reconstruction term, so VAE-S with λ = (0, 1, 0, 0, 0) and no TC is the vanilla VAE),
1 − SSIM, and the L2 norms of eqs. 6–7 over all filter responses. Pixels are in the model range
[-1, 1]; SSIM reads them mapped to [0, 1].

2-D point data: SSIM, Sobel and Gabor are image operators and do not exist for points; there the
loss falls back to the pixel terms it can compute (MAE and MSE, with λ3 = λ4 = λ5 = 0), plus KL and TC.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pytorch_msssim import ssim
from torch import Tensor, nn

from bench.data.base import DataSpec
from bench.errors import ConfigError
from models import base as mb
from models import blocks_avaes
from models.base import GaussianEncoderDecoder, ModelConfig, RealBatches, kl_normal

TERMS = ("mae", "mse", "dssim", "sobel", "gabor")
ANCHOR = TERMS.index("mse")

# The paper gives no Gabor parameters; ours: 4 orientations × 2 wavelengths, an 11×11 support that
# fits 32 px images, σ = 2.5, aspect ratio γ = 0.5, phase 0 (the real, even-symmetric part); each
# kernel is made zero-mean (texture, not brightness) and unit-norm.
GABOR_THETAS = (0.0, math.pi / 4, math.pi / 2, 3 * math.pi / 4)
GABOR_WAVELENGTHS = (4.0, 8.0)
GABOR_SIGMA, GABOR_GAMMA, GABOR_SIZE = 2.5, 0.5, 11


# ---- the reconstruction terms (eqs. 5–8) -------------------------------------------------------
def mae_term(x: Tensor, x_rec: Tensor) -> Tensor:
    """AVAE-S eq. 5, L_MAE = ‖x − x̃‖₁ per image (sum over pixels), mean over the batch."""
    return (x - x_rec).abs().flatten(1).sum(1).mean()


def mse_term(x: Tensor, x_rec: Tensor) -> Tensor:
    """AVAE-S eq. 5, L_MSE = ½ ‖x − x̃‖₂² per image (AVAE eq. 9's Gaussian term), mean over the batch."""
    return 0.5 * (x - x_rec).pow(2).flatten(1).sum(1).mean()


def ssim_window(resolution: int) -> int:
    """The SSIM Gaussian window: 11 (Wang et al. 2004) or the largest odd size that fits the image."""
    return min(11, resolution if resolution % 2 else resolution - 1)


def dssim_term(x: Tensor, x_rec: Tensor) -> Tensor:
    """AVAE-S eq. 8, L_1-SSIM = 1 − SSIM(x, x̃) (Wang et al. 2004, α = β = γ = 1, Gaussian window
    σ = 1.5) via ``pytorch_msssim``, images mapped from [-1, 1] to [0, 1]; mean over the batch."""
    a, b = (x + 1) / 2, (x_rec + 1) / 2
    return 1.0 - ssim(a, b, data_range=1.0, size_average=True, win_size=ssim_window(x.shape[-1]))


def _depthwise(x: Tensor, kernels: Tensor, pad_mode: str) -> Tensor:
    """Correlate every channel of ``x`` with every kernel (K, k, k): output (N, C·K, H, W)."""
    n, c, h, w = x.shape
    k = kernels.shape[-1]
    xp = F.pad(x.reshape(n * c, 1, h, w), (k // 2,) * 4, mode=pad_mode)
    # The input gradient (x̃ needs one) of a one-channel convolution takes oneDNN's slow CPU kernel: with the
    # speed-ups on, PyTorch's native kernel computes it (issue #29: the Gabor bank 16.5 → 5.1 ms, same values).
    conv = mb.conv2d_native_input_grad if mb.speedups_enabled() else F.conv2d
    return conv(xp, kernels.to(x)[:, None]).reshape(n, -1, h, w)


def sobel(x: Tensor) -> Tensor:
    """E_Sobel of AVAE-S eq. 6: the horizontal and vertical Sobel responses of every channel,
    borders replicated (= ``scipy.ndimage.sobel``'s default 'reflect' for a 3×3 kernel).
    Written by hand: a two-kernel depthwise convolution (kornia is not a dependency)."""
    gx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    return _depthwise(x, torch.stack([gx, gx.T]), "replicate")


def sobel_term(x: Tensor, x_rec: Tensor) -> Tensor:
    """AVAE-S eq. 6: L_Sobel = ‖E_Sobel(x) − E_Sobel(x̃)‖₂ per image, mean over the batch."""
    return (sobel(x) - sobel(x_rec)).flatten(1).norm(dim=1).mean()


def gabor_kernel(theta: float, wavelength: float, sigma: float = GABOR_SIGMA, gamma: float = GABOR_GAMMA,
                 size: int = GABOR_SIZE) -> Tensor:
    """Real Gabor kernel g(x, y) = exp(−(x′² + γ² y′²) / 2σ²) · cos(2π x′ / λ), x′ = x cos θ + y sin θ,
    y′ = −x sin θ + y cos θ, on a ``size``×``size`` grid centred at 0 (x: columns, y: rows), then
    made zero-mean and unit-norm. Written by hand: no image library in the environment has it."""
    r = torch.arange(size, dtype=torch.float64) - size // 2
    y, x = torch.meshgrid(r, r, indexing="ij")
    xp = x * math.cos(theta) + y * math.sin(theta)
    yp = -x * math.sin(theta) + y * math.cos(theta)
    g = torch.exp(-(xp**2 + gamma**2 * yp**2) / (2 * sigma**2)) * torch.cos(2 * math.pi * xp / wavelength)
    g = g - g.mean()
    return (g / g.norm()).float()


@functools.lru_cache(maxsize=1)
def gabor_bank() -> Tensor:
    """The fixed bank T_Gabor uses: every (θ, λ) of ``GABOR_THETAS`` × ``GABOR_WAVELENGTHS``."""
    return torch.stack([gabor_kernel(t, lam) for lam in GABOR_WAVELENGTHS for t in GABOR_THETAS])


def gabor(x: Tensor) -> Tensor:
    """T_Gabor of AVAE-S eq. 7: every channel correlated with the Gabor bank (mirror-padded borders)."""
    bank = gabor_bank()
    if x.shape[-1] <= GABOR_SIZE // 2:
        raise ConfigError(f"images of {x.shape[-1]} px are too small for the {GABOR_SIZE}×{GABOR_SIZE} Gabor bank")
    return _depthwise(x, bank, "reflect")


def gabor_term(x: Tensor, x_rec: Tensor) -> Tensor:
    """AVAE-S eq. 7: L_Gabor = ‖T_Gabor(x) − T_Gabor(x̃)‖₂ per image, mean over the batch."""
    return (gabor(x) - gabor(x_rec)).flatten(1).norm(dim=1).mean()


def reconstruction_terms(x: Tensor, x_rec: Tensor, image: bool = True) -> Tensor:
    """The five raw terms of AVAE-S eq. 5 in ``TERMS`` order; on points only MAE and MSE (others 0)."""
    zero = x.new_zeros(())
    if not image:
        return torch.stack([mae_term(x, x_rec), mse_term(x, x_rec), zero, zero, zero])
    return torch.stack([mae_term(x, x_rec), mse_term(x, x_rec), dssim_term(x, x_rec),
                        sobel_term(x, x_rec), gabor_term(x, x_rec)])


# ---- total correlation (eq. 10) ----------------------------------------------------------------
def log_normal(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; μ, σ²) element-wise."""
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu).pow(2) * torch.exp(-logvar))


def total_correlation_mws(z: Tensor, mu: Tensor, logvar: Tensor, dataset_size: int) -> Tensor:
    """AVAE-S eq. 10, L_KL-TC = KL(q(z) ‖ Π_j q(z_j)), estimated by minibatch-weighted sampling
    (Chen et al. 2018, β-TCVAE eq. 5 / §C.1): with M = batch size and N = dataset size,
    log q(z_i) ≈ log Σ_m q(z_i | x_m) − log(N M), log q(z_ij) ≈ log Σ_m q(z_ij | x_m) − log(N M);
    TC = mean_i [log q(z_i) − Σ_j log q(z_ij)]. The log(N M) terms leave (D − 1)·log(N M) in the value,
    so with a large N the logged estimate is large and positive; it is constant in the parameters,
    so it shifts the logged value, never the gradients. Same estimator as the authors' released code
    (rtqichen/beta-tcvae, ``vae_quant.py``, the ``mss=False`` branch: ``logsumexp(...) - log(batch_size *
    dataset_size)`` for log q(z) and for each marginal)."""
    m = z.shape[0]
    mat = log_normal(z[:, None, :], mu[None, :, :], logvar[None, :, :])  # (M, M, D): log q(z_ij | x_m)
    log_nm = math.log(dataset_size * m)
    log_qz = torch.logsumexp(mat.sum(2), dim=1) - log_nm
    log_prod = (torch.logsumexp(mat, dim=1) - log_nm).sum(1)
    return (log_qz - log_prod).mean()


# ---- calibration (§III) ------------------------------------------------------------------------
class LossCalibration(nn.Module):
    """AVAE-S §III: λ_i so that every active term has the scale of the MSE anchor,
    λ_i = mean(L_MSE) / mean(L_i) over ``steps`` observed batches (one epoch), frozen afterwards.
    While probing, :meth:`observe` returns the weights of the running means so far (used for training
    only by ``calibration=running``; the default dry probe observes without training). ``fixed``
    weights skip the probe. State lives in buffers so a checkpoint carries it across a resume.
    """

    def __init__(self, active: tuple[bool, ...], fixed: tuple[float, ...] | None = None) -> None:
        super().__init__()
        self.register_buffer("active", torch.tensor(active))
        self.register_buffer("sums", torch.zeros(len(active), dtype=torch.float64))
        self.register_buffer("count", torch.tensor(0, dtype=torch.long))
        self.register_buffer("target", torch.tensor(-1, dtype=torch.long))  # probe length, resolved at step 0
        weights = torch.tensor(fixed, dtype=torch.float32) if fixed is not None else self.active.float()
        self.register_buffer("weights", weights * self.active)
        self.register_buffer("frozen", torch.tensor(fixed is not None))

    def resolve(self, steps: int) -> None:
        """Set the probe length once (a resumed run keeps the stored one); 0 freezes at unit weights."""
        if int(self.target) < 0:
            self.target.fill_(max(steps, 0))
            if steps <= 0:
                self.frozen.fill_(True)

    @torch.no_grad()
    def observe(self, raw: Tensor) -> Tensor:
        """Add one step's raw terms to the probe (until frozen); returns the weights to use now."""
        if not bool(self.frozen):
            self.sums += raw.detach().to(self.sums)
            self.count += 1
            ratio = self.sums[ANCHOR] / self.sums.clamp_min(1e-12)
            self.weights.copy_(torch.where(self.active, ratio, torch.zeros_like(ratio)).float())
            if int(self.count) >= int(self.target):
                self.frozen.fill_(True)
        return self.weights.clone()


def epoch_length(real: RealBatches, batch_size: int) -> int | None:
    """Batches per epoch of the training split behind ``real`` (the trainer's BatchStream), or None."""
    split = getattr(real, "split", None)
    return None if split is None else max(len(split) // batch_size, 1)


# ---- model --------------------------------------------------------------------------------------
@dataclass
class AVAESArchConfig(ModelConfig):
    """Architecture choice shared by VAE-S, AVAE and AVAE-S: ``avaes`` = AVAE-S Table I (paper)."""

    arch: Literal["dcgan", "avaes"] = "dcgan"


@dataclass
class VAESConfig(AVAESArchConfig):
    """VAE-S loss settings (AVAE-S §II-A, §III)."""

    # λ1..λ5 for (MAE, MSE, 1 − SSIM, Sobel, Gabor); None → the one-epoch calibration of §III.
    rec_weights: tuple[float, float, float, float, float] | None = None
    calibration_steps: int = -1  # probe length; -1 → one epoch of the training split (§III)
    # "trained" (§III, default): train a throwaway copy for the probe with the running ratios, then train the
    # model from its own initialisation with the λ frozen; "dry": probe the untrained networks with no update;
    # "running": train the model itself from step 0 with the running ratios, frozen after the probe.
    calibration: Literal["trained", "dry", "running"] = "trained"
    kl_weight: float = 1.0  # weight of L_KL (eq. 10: 1)
    tc_weight: float = 1.0  # weight of L_KL-TC (eq. 10: 1)
    dataset_size: int = 0  # N of the MWS estimator; 0 → the training split's size (else the batch size)

    def validate(self) -> None:
        super().validate()
        if self.rec_weights is not None and any(w < 0 for w in self.rec_weights):
            raise ConfigError(f"bad value for rec_weights: {self.rec_weights} (weights must be >= 0)")
        for key in ("kl_weight", "tc_weight", "dataset_size"):
            if getattr(self, key) < 0:
                raise ConfigError(f"bad value for {key}: {getattr(self, key)} (must be >= 0)")


class VAES(GaussianEncoderDecoder):
    """VAE-S: encoder → (μ, log σ²), z = μ + σ ε, decoder; trained on L_VAE (AVAE-S eq. 10, Alg. 1
    pre-training loop). Reconstruction for metrics = Dec(μ_E(x)). Under ``paper``: Table I nets.
    """

    Config: Any = VAESConfig
    paper = "Naderi, Haji Soleimani & Matwin, VAE-S (AVAE-S paper 003, eqs. 5-10, §III calibration)"
    structured = True  # the VAE-S loss (False: the vanilla VAE of AVAE-S §III)

    def __init__(self, cfg: Any, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.enc = blocks_avaes.encoder(spec, cfg.arch, cfg.width, 2 * cfg.latent_dim, cfg.mlp_hidden)
        self.dec = blocks_avaes.decoder(spec, cfg.arch, cfg.latent_dim, cfg.width, cfg.mlp_hidden)
        if self.structured:
            image = spec.kind == "image"
            self.calib = LossCalibration((True, True, image, image, image), cfg.rec_weights)

    @classmethod
    def paper_preset(cls, spec: DataSpec) -> dict[str, Any]:
        """AVAE-S Table I: latent 32, base width 24 (images); the paper states no optimiser settings."""
        return {"arch": "avaes", "width": 24, "latent_dim": 32} if spec.kind == "image" else {}

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"vae": self.adam(list(self.enc.parameters()) + list(self.dec.parameters()))}

    def vae_losses(self, x: Tensor, real: RealBatches) -> dict[str, Tensor]:
        """L_VAE and its parts for batch ``x`` (Alg. 1); also returns ``x_rec`` = Dec(z), z sampled."""
        cfg = self.cfg
        if int(self.calib.target) < 0:
            probe = cfg.calibration_steps if cfg.calibration_steps >= 0 else epoch_length(real, cfg.batch_size)
            self.calib.resolve(probe if probe is not None else 1)
        if cfg.calibration == "dry" and not bool(self.calib.frozen):
            self.dry_probe(real)  # before this step's forward pass, whose graph reads the BatchNorm buffers
        if cfg.calibration == "trained" and not bool(self.calib.frozen):
            self.trained_probe(real)
        mu, logvar = self.posterior(x)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        x_rec = self.decode(z)
        kl = kl_normal(mu, logvar).mean()
        n_data = cfg.dataset_size or len(getattr(real, "split", x))
        tc = total_correlation_mws(z, mu, logvar, n_data)
        raw = reconstruction_terms(x, x_rec, self.spec.kind == "image")
        weights = self.calib.observe(raw)
        rec = (weights.to(raw) * raw).sum()
        loss = rec + cfg.kl_weight * kl + cfg.tc_weight * tc
        out = {"loss": loss, "rec": rec, "kl": kl, "tc": tc, "x_rec": x_rec}
        out.update({f"L_{name}": raw[i] for i, name in enumerate(TERMS)})
        out.update({f"w_{name}": weights[i] for i, name in enumerate(TERMS)})
        return out

    @torch.no_grad()
    def dry_probe(self, real: RealBatches) -> None:
        """AVAE-S §III's probe without training: ``calib.target`` fresh batches through the untrained
        encoder and decoder (train mode, as a training step sees them), no parameter updated and the
        BatchNorm running statistics restored afterwards; the weights are then frozen."""
        image = self.spec.kind == "image"
        nets = (self.enc, self.dec)
        saved = [{name: buf.clone() for name, buf in net.named_buffers()} for net in nets]
        while not bool(self.calib.frozen):
            x = real()
            mu, logvar = self.posterior(x)
            x_rec = self.decode(mu + (0.5 * logvar).exp() * torch.randn_like(mu))
            self.calib.observe(reconstruction_terms(x, x_rec, image))
        for net, buffers in zip(nets, saved, strict=True):
            for name, buf in net.named_buffers():
                buf.copy_(buffers[name])

    def trained_probe(self, real: RealBatches) -> None:
        """AVAE-S §III's probe on a throwaway copy: a deep copy of the model (same initial weights, its own
        Adam on E and D) is trained for ``calib.target`` fresh batches on L_VAE with the running ratios as
        weights (``calibration=running``); its frozen λ are then copied into this model's calibration, whose
        networks, BatchNorm statistics and optimiser are untouched. The copy is discarded."""
        probe = copy.deepcopy(self)
        probe.cfg = dataclasses.replace(self.cfg, calibration="running")
        opt = probe.adam(list(probe.enc.parameters()) + list(probe.dec.parameters()))
        probe.optimizers = {"vae": opt}
        while not bool(probe.calib.frozen):
            out = VAES.vae_losses(probe, real(), real)
            probe.update("vae", out["loss"])
        self.calib.load_state_dict(probe.calib.state_dict())

    def train_step(self, real: RealBatches, step: int) -> dict[str, Tensor]:
        out = self.vae_losses(real(), real)
        self.update("vae", out["loss"])
        return {k: v.detach() for k, v in out.items() if k != "x_rec"}
