"""The shared fair-protocol blocks (docs/protocols.md §1, AVAE Fig. 5): shapes, parameter counts, norms."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bench.data.base import DataSpec
from models import blocks

RESOLUTIONS = {16: (2, 4), 28: (2, 7), 32: (3, 4), 64: (4, 4), 96: (4, 6), 128: (5, 4)}


def image_spec(res: int, channels: int = 3) -> DataSpec:
    return DataSpec(f"img{res}", "image", (channels, res, res))


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def generator_params(latent: int, channels: int, res: int, w: int) -> int:
    """Hand count for AVAE Fig. 5's generator: Dense (with bias) → BN → (ConvT k5, no bias, BN)×(n−1)
    → ConvT k5 to C (with bias)."""
    n, s0 = RESOLUTIONS[res]
    c = w * 2 ** (n - 1)
    total = latent * c * s0 * s0 + c * s0 * s0 + 2 * c
    for _ in range(n - 1):
        total += c * (c // 2) * 25 + 2 * (c // 2)
        c //= 2
    return total + c * channels * 25 + channels


def critic_params(channels: int, res: int, w: int, out: int, norm: str) -> int:
    """Hand count for the critic: conv k5 (bias) → (conv k5 no bias, norm)×(n−1) → Dense (bias)."""
    n, s0 = RESOLUTIONS[res]
    total = channels * w * 25 + w
    c, size = w, res // 2
    for _ in range(n - 1):
        size //= 2
        total += c * 2 * c * 25
        c *= 2
        total += {"bn": 2 * c, "ln": 2 * c * size * size, "none": 0}[norm]
    return total + c * s0 * s0 * out + out


@pytest.mark.parametrize("res", sorted(RESOLUTIONS))
def test_doublings_and_shapes_for_every_resolution(res: int) -> None:
    assert blocks.doublings(res) == RESOLUTIONS[res]
    spec, w, latent = image_spec(res), 4, 8
    gen = blocks.generator(spec, latent, w)
    crit = blocks.critic(spec, w)
    enc = blocks.encoder(spec, w, 2 * latent)
    z = torch.randn(2, latent)
    x = gen(z)
    assert x.shape == (2, 3, res, res)
    assert x.abs().max().item() <= 1.0  # Tanh output
    assert crit(x).shape == (2, 1)
    assert enc(x).shape == (2, 2 * latent)
    n, s0 = RESOLUTIONS[res]
    # Dis_l (the last down-block) has 2^(n-1)·w channels on an s0×s0 map.
    assert crit.features(x).shape == (2, w * 2 ** (n - 1) * s0 * s0)
    # The number of stride-2 stages is the same up and down (AVAE Fig. 5: 32 px has one fewer than 64 px).
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in gen.modules()) == n
    assert sum(isinstance(m, nn.Conv2d) for m in crit.modules()) == n


@pytest.mark.parametrize("res", [28, 32, 64])
def test_parameter_counts_match_hand_count(res: int) -> None:
    spec, w, latent = image_spec(res, 3), 8, 16
    assert n_params(blocks.generator(spec, latent, w)) == generator_params(latent, 3, res, w)
    for norm in ("bn", "ln", "none"):
        assert n_params(blocks.critic(spec, w, 1, norm)) == critic_params(3, res, w, 1, norm)
    # The encoder is the critic with a Dense head of 2·dim(z).
    assert n_params(blocks.encoder(spec, w, 2 * latent)) == critic_params(3, res, w, 2 * latent, "bn")


def test_paper_width_64px_generator_channels() -> None:
    """AVAE Fig. 5 at 64 px, w = 128: Dense → (4, 4, 8w) → up-blocks 4w, 2w, w → 3 channels."""
    gen = blocks.generator(image_spec(64), 128, 128)
    convs = [m for m in gen.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [512, 256, 128, 3]
    assert gen.fc.out_features == 8 * 128 * 4 * 4
    assert all(c.kernel_size == (5, 5) and c.stride == (2, 2) for c in convs)


def test_layernorm_critic_has_no_batchnorm() -> None:
    spec = image_spec(32)
    ln = blocks.critic(spec, 4, norm="ln")
    none = blocks.critic(spec, 4, norm="none")
    bn = blocks.critic(spec, 4, norm="bn")
    bn_types = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
    assert not any(isinstance(m, bn_types) for m in ln.modules())
    assert not any(isinstance(m, bn_types) for m in none.modules())
    assert sum(isinstance(m, nn.LayerNorm) for m in ln.modules()) == 2  # 32 px: two down-blocks
    assert sum(isinstance(m, nn.BatchNorm2d) for m in bn.modules()) == 2
    # LayerNorm is per example: a critic output does not depend on the other examples of the batch.
    x = torch.randn(4, 3, 32, 32)
    torch.testing.assert_close(ln(x)[:1], ln(x[:1]))


def test_mlp_blocks_for_points() -> None:
    spec = DataSpec("pts", "points", (2,))
    gen = blocks.generator(spec, 3, 99, mlp_hidden=16)
    crit = blocks.critic(spec, 99, 1, mlp_hidden=16)
    assert gen(torch.randn(5, 3)).shape == (5, 2)
    assert crit(torch.randn(5, 2)).shape == (5, 1)
    # Two hidden layers of 16: (3·16 + 16) + (16·16 + 16) + (16·2 + 2).
    assert n_params(gen) == 3 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2
    assert crit.feature_dim == 16
    assert any(isinstance(m, nn.LeakyReLU) for m in crit.modules())  # critic: LeakyReLU(0.2)


def _weights_by_kind(model: nn.Module) -> dict[str, list[torch.Tensor]]:
    """The parameters of the DCGAN blocks inside ``model``, grouped as DCGAN's code initialises them."""
    out: dict[str, list[torch.Tensor]] = {"weight": [], "bias": [], "bn_scale": [], "bn_shift": []}
    for net in model.modules():
        if not isinstance(net, blocks.DCGANGenerator | blocks.DCGANCritic):
            continue
        for m in net.modules():
            if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
                out["weight"].append(m.weight.detach().flatten())
                if m.bias is not None:
                    out["bias"].append(m.bias.detach().flatten())
            elif isinstance(m, nn.BatchNorm2d):
                out["bn_scale"].append(m.weight.detach().flatten())
                out["bn_shift"].append(m.bias.detach().flatten())
    return out


def test_fresh_model_has_dcgan_initialisation() -> None:
    """DCGAN §4 / Newmu/dcgan_code: weights ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02), biases and
    shifts 0. Checked on a VAE built as every run builds it (Model.build, default ``init``), each
    group against the normal law by scipy's Kolmogorov–Smirnov test, and per layer (every layer drawn,
    not just the pooled values): |sample std / 0.02 − 1| < 5 / √(2n)."""
    from scipy import stats

    from bench.run import RunSpec, resolve
    from models.vae import VAE

    spec = image_spec(32)
    cfg = VAE.Config(latent_dim=8, width=8)
    torch.manual_seed(0)
    model = VAE.build(cfg, spec)
    groups = _weights_by_kind(model)
    # encoder: 3 convs + head, 2 BN; decoder: Dense + 3 ConvT, 3 BN (32 px)
    assert len(groups["weight"]) == 8 and len(groups["bn_scale"]) == 5
    for w in groups["weight"]:
        assert abs(w.std().item() / 0.02 - 1) < 5 / (2 * w.numel()) ** 0.5
    weights = torch.cat(groups["weight"]).double().numpy()
    assert stats.kstest(weights, "norm", args=(0.0, 0.02)).pvalue > 1e-3
    scales = torch.cat(groups["bn_scale"]).double().numpy()
    assert stats.kstest(scales, "norm", args=(1.0, 0.02)).pvalue > 1e-3
    assert all((b == 0).all() for b in groups["bias"] + groups["bn_shift"])
    # PyTorch's default (the "pytorch" setting) is far from N(0, 0.02) on the same layers: a first conv
    # of 3·5·5 inputs draws U(±1/√75), std 0.067; the test above would reject it.
    pt = VAE.build(VAE.Config(latent_dim=8, width=8, init="pytorch"), spec)
    first = _weights_by_kind(pt)["weight"][0].double().numpy()
    assert stats.kstest(first, "norm", args=(0.0, 0.02)).pvalue < 1e-6
    # The run pipeline resolves the default to "dcgan".
    assert resolve(RunSpec(model="vae", dataset="digits"), _digits())[1].init == "dcgan"


def _digits():  # noqa: ANN202
    from bench.data import load

    return load("digits")


def test_pytorch_init_setting_keeps_the_old_weights_bit_for_bit() -> None:
    """``init="pytorch"`` = the constructor's weights as PyTorch draws them (the blocks' old behaviour)."""
    from models.vae import VAE

    spec = image_spec(32)
    torch.manual_seed(3)
    plain = VAE(VAE.Config(latent_dim=8, width=8), spec)
    torch.manual_seed(3)
    kept = VAE.build(VAE.Config(latent_dim=8, width=8, init="pytorch"), spec)
    for a, b in zip(plain.state_dict().values(), kept.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_mlp_blocks_keep_pytorch_initialisation_under_dcgan_init() -> None:
    """2-D data: the MLPs are never re-initialised (models/blocks.py states why), so the seeded 2-D training
    tests see the weights they were measured with."""
    from models.vae import VAE

    spec = DataSpec("pts", "points", (2,))
    torch.manual_seed(5)
    plain = VAE(VAE.Config(latent_dim=2, mlp_hidden=16), spec)
    torch.manual_seed(5)
    built = VAE.build(VAE.Config(latent_dim=2, mlp_hidden=16), spec)
    for a, b in zip(plain.state_dict().values(), built.state_dict().values(), strict=True):
        assert torch.equal(a, b)
