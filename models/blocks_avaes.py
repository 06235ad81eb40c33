"""AVAE-S Table I (Naderi et al., paper 003, §III): the ``paper``-protocol encoder, decoder and
discriminator shared by VAE, AVAE, VAE-S and AVAE-S.

Encoder: per stage, conv 3×3 stride 1 + BN + ReLU, conv 4×4 stride 2 + BN + ReLU, with 24, 48, 96,
192 channels (``width`` = 24, doubling); FC 48 + BN + tanh; FC to (z_mean, z_log_var) of 32 each.
Decoder: FC 48 + BN + tanh; FC s0×s0×192 + BN + tanh; per stage (192, 96, 48, 24) conv 3×3 + BN +
ReLU, nearest up-sampling, conv 3×3 + BN + ReLU; 1×1 (transposed) conv to the image channels,
sigmoid. The discriminator is the encoder "with max pooling for down-sampling instead of stride 2
convolution" (§III): each 4×4 stride-2 conv becomes a 2×2 max-pool, and the head is one logit.

At 96 px the four stages end at 6×6 as in the table; at other sizes the number of stages is
min(4, the number of halvings the image allows), so 32 px ends at 2×2 and 28 px uses two stages.
The sigmoid output in [0, 1] is mapped to the suite's model range by 2·σ(a) − 1.
"""

from __future__ import annotations

from torch import Tensor, nn

from bench.data.base import DataSpec
from models import blocks


def stages(resolution: int) -> tuple[int, int]:
    """(number of stride-2 stages, final spatial size): Table I's four, fewer if the image is small
    or not divisible (96 → (4, 6), 64 → (4, 4), 32 → (4, 2), 28 → (2, 7))."""
    n, s = 0, resolution
    while n < 4 and s % 2 == 0 and s // 2 >= 2:
        s //= 2
        n += 1
    if n == 0:
        raise ValueError(f"resolution {resolution} is too small for the AVAE-S blocks")
    return n, s


def _conv_bn_relu(cin: int, cout: int, k: int, stride: int) -> list[nn.Module]:
    pad = (k - 1) // 2 if stride == 1 else (k - stride) // 2
    return [nn.Conv2d(cin, cout, k, stride, pad, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]


class TableIEncoder(blocks.TrunkHead):
    """AVAE-S Table I encoder (``pool=False``) or discriminator trunk (``pool=True``: max-pooling
    instead of the stride-2 convs); FC ``hidden`` + BN + tanh; Dense head of ``out_dim``."""

    def __init__(self, channels: int, resolution: int, width: int, out_dim: int, hidden: int = 48,
                 pool: bool = False) -> None:
        super().__init__()
        n, s = stages(resolution)
        layers: list[nn.Module] = []
        c = channels
        for i in range(n):
            w = width * 2**i
            layers += _conv_bn_relu(c, w, 3, 1)
            layers += [nn.MaxPool2d(2)] if pool else _conv_bn_relu(w, w, 4, 2)
            c = w
        layers += [nn.Flatten(), nn.Linear(c * s * s, hidden, bias=False), nn.BatchNorm1d(hidden), nn.Tanh()]
        self.trunk = nn.Sequential(*layers)  # ends in a flat (N, hidden) layer
        self.set_head(hidden, out_dim)


class TableIDecoder(nn.Module):
    """AVAE-S Table I decoder: FC 48 + BN + tanh → FC s0·s0·8w + BN + tanh → stages of
    (conv 3×3 + BN + ReLU, nearest ×2, conv 3×3 + BN + ReLU) → 1×1 conv → sigmoid, mapped to [-1, 1]."""

    def __init__(self, latent_dim: int, channels: int, resolution: int, width: int, hidden: int = 48) -> None:
        super().__init__()
        n, s = stages(resolution)
        c0 = width * 2 ** (n - 1)
        self.start = (c0, s)
        self.fc = nn.Sequential(nn.Linear(latent_dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.Tanh(),
                                nn.Linear(hidden, c0 * s * s, bias=False), nn.BatchNorm1d(c0 * s * s), nn.Tanh())
        layers: list[nn.Module] = []
        c = c0
        for i in reversed(range(n)):
            w = width * 2**i
            layers += _conv_bn_relu(c, w, 3, 1) + [nn.Upsample(scale_factor=2, mode="nearest")] + _conv_bn_relu(w, w, 3, 1)
            c = w
        layers += [nn.ConvTranspose2d(c, channels, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        c0, s = self.start
        return 2.0 * self.net(self.fc(z).view(-1, c0, s, s)).sigmoid() - 1.0


def encoder(spec: DataSpec, arch: str, width: int, out_dim: int, mlp_hidden: int = 128) -> nn.Module:
    """The VAE encoder: Table I when ``arch == "avaes"`` (images), else the shared fair encoder;
    an MLP for 2-D points under either protocol."""
    if arch == "avaes" and spec.kind == "image":
        return TableIEncoder(spec.channels, spec.resolution, width, out_dim)
    return blocks.encoder(spec, width, out_dim, mlp_hidden)


def decoder(spec: DataSpec, arch: str, latent_dim: int, width: int, mlp_hidden: int = 128) -> nn.Module:
    """The VAE decoder: Table I when ``arch == "avaes"`` (images), else the shared fair generator."""
    if arch == "avaes" and spec.kind == "image":
        return TableIDecoder(latent_dim, spec.channels, spec.resolution, width)
    return blocks.generator(spec, latent_dim, width, mlp_hidden)


def discriminator(spec: DataSpec, arch: str, width: int, mlp_hidden: int = 128) -> nn.Module:
    """The discriminator (one logit): Table I's encoder with max-pooling when ``arch == "avaes"``,
    else the shared fair critic (BatchNorm, as DCGAN)."""
    if arch == "avaes" and spec.kind == "image":
        return TableIEncoder(spec.channels, spec.resolution, width, 1, pool=True)
    return blocks.critic(spec, width, 1, "bn", mlp_hidden)
