"""Issue #26 §1: VAE/GAN's Dis_l follows a normalised block (Larsen et al.'s released code), the released
balancing margin, and the posterior that the old layer collapsed."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.functional import jvp
from training_runs import read_log

from bench.data.base import DataSpec
from bench.run import RunSpec, execute
from models.blocks import DCGANCritic, dis_l_reading
from models.vae_gan import VAEGAN, VAEGANConfig

D16 = DataSpec("digits@16", "image", (1, 16, 16))
D32 = DataSpec("digits", "image", (1, 32, 32))


def released_dis_l(dis: DCGANCritic, x: Tensor, after_norm: bool) -> Tensor:
    """Dis up to layer l written out with torch.nn.functional on the whole batch ``x``, as the released code's
    ``discriminator_recon`` evaluates it (andersbll/autoencoding_beyond_pixels, model/aegan.py:
    ``discriminator.collection[:recon_depth]``, one pass on [x̃; x]): conv → LReLU, then per down-block conv →
    BatchNorm (statistics of this batch) → LReLU. ``after_norm=False`` stops at the deepest conv that has a
    BatchNorm before it, before its own BatchNorm (cifar_aegan.py recon_depth=6, celeba_aegan.py
    recon_depth=9); ``after_norm=True`` stops after the BatchNorm of the last conv (the 16-px reading)."""
    convs = [m for m in dis.trunk if isinstance(m, torch.nn.Conv2d)]
    norms = [m for m in dis.trunk if isinstance(m, torch.nn.BatchNorm2d)]
    h = F.leaky_relu(F.conv2d(x, convs[0].weight, convs[0].bias, stride=2, padding=2), 0.2)
    for i, (conv, bn) in enumerate(zip(convs[1:], norms, strict=True)):
        h = F.conv2d(h, conv.weight, None, stride=2, padding=2)
        if not after_norm and i == len(norms) - 1:
            assert i >= 1, "no BatchNorm precedes this conv"
            return h.flatten(1)
        mean, var = h.mean((0, 2, 3), keepdim=True), h.var((0, 2, 3), unbiased=False, keepdim=True)
        h = (h - mean) / (var + bn.eps).sqrt() * bn.weight.view(1, -1, 1, 1) + bn.bias.view(1, -1, 1, 1)
        if after_norm and i == len(norms) - 1:
            return h.flatten(1)
        h = F.leaky_relu(h, 0.2)
    raise AssertionError("unreachable")


def test_dis_l_reading_follows_the_released_code() -> None:
    """16 px (conv → LReLU → conv → BN): l is read after that BatchNorm; 32 px: the last conv, which has a
    BatchNorm before it, before its own BatchNorm (the released code's recon_depth); both in one [x̃; x] pass."""
    assert dis_l_reading(D16) == "post_norm" and dis_l_reading(D32) == "pre_norm"
    assert VAEGAN.dataset_defaults(D16)["dis_l"] == "post_norm"  # written into the run's config
    assert VAEGAN.dataset_defaults(D32)["dis_l"] == "pre_norm"
    torch.manual_seed(0)
    for spec, after in ((D16, True), (D32, False)):
        model = VAEGAN.build(VAEGANConfig(width=8, latent_dim=4), spec)
        x = torch.rand(16, *spec.shape) * 2 - 1
        batch = torch.cat([0.5 * x, x])
        torch.testing.assert_close(model.dis.layer_l(batch, "auto"), released_dis_l(model.dis, batch, after))


def test_released_margin() -> None:
    """aegan.py ``train(..., gan_margin=0.35)`` (GradientDescent's class default 0.4 is never used)."""
    assert VAEGANConfig().margin == 0.35 and VAEGANConfig().equilibrium == 0.68


def image_to_dis_l_gain(init: str, reading: str, seeds: int = 3) -> float:
    """‖J δ‖² / ‖δ‖² from image to Dis_l at initialisation (training mode, 64 images in [-1, 1], one random
    direction δ per seed, mean over seeds), at the study's width 32 on 16-px digits."""
    gains = []
    for seed in range(seeds):
        torch.manual_seed(seed)
        model = VAEGAN.build(VAEGANConfig(width=32, latent_dim=16, init=init), D16)
        x = torch.rand(64, *D16.shape) * 2 - 1
        d = torch.randn_like(x)
        _, jd = jvp(lambda t: model.dis.layer_l(t, reading), (x,), (d,))  # noqa: B023
        gains.append(float(jd.pow(2).sum() / d.pow(2).sum()))
    return sum(gains) / len(gains)


def test_dis_l_gain_does_not_depend_on_the_initialisation() -> None:
    """Issue #26: with l before the 16-px critic's only BatchNorm the gain was ≈ 0.0045 (DCGAN's N(0, 0.02))
    against ≈ 0.15 (PyTorch's), a 33× ratio that set the KL's effective weight β/gain²; after the BatchNorm
    it differs by < 2×."""
    auto = image_to_dis_l_gain("pytorch", "auto") / image_to_dis_l_gain("dcgan", "auto")
    old = image_to_dis_l_gain("pytorch", "pre_norm") / image_to_dis_l_gain("dcgan", "pre_norm")
    assert 0.5 < auto < 2.0
    assert old > 20.0  # the old reading, kept as ``dis_l=pre_norm``: the failure the fix removes


STUDY = {"width": 32, "latent_dim": 16, "batch_size": 32, "lr": 1e-3}  # the study's shared setting


@pytest.mark.slow
def test_posterior_keeps_active_units_on_digits16(tmp_path: Path) -> None:
    """The study's setting on digits@16 under DCGAN's initialisation: ≥ 8 of 16 active units (Burda et al.'s
    A_u > 0.01 on the trainer's probe) at steps 500 and 1,000. The old layer (``dis_l=pre_norm``), same seed and
    setting: 15 units at 500, 8 at 750, 1 at 1,000 (docs/models-fidelity.md, Fidelity IV §1, where the new layer
    keeps 16 of 16 to 2,000 iterations on 3 seeds)."""
    spec = RunSpec(model="vae-gan", dataset="digits@16", seed=0, steps=1000, overrides=STUDY, metrics=["mse"],
                   n_eval=300, log_every=500, checkpoint_every=10**9)
    rec = execute(spec, tmp_path / "run", progress=False)
    assert rec["status"] == "completed"
    log = read_log(tmp_path / "run")
    assert [r["step"] for r in log] == [500, 1000]
    assert all(r["active_units"] >= 8 for r in log)
    assert all(r["grad_feature"] > 0 and r["grad_gan"] > 0 for r in log)  # the per-term diagnostics are logged
