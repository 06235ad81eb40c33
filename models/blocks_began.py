"""BEGAN's encoder/decoder (Berthelot et al. 2017, Fig. 1), the ``paper``-protocol architecture of
Khan et al. (paper 001, §4): "three pairs of convolution layers, each with an ELU non-linearity and
interleaved with sub-sampling and up-sampling layers … no dropout, batch-normalisation and
convolution transpose layers". Both the VAE and the auto-encoder discriminator use these blocks.

Reading of the sizes (the papers give them for 64 px; we follow BEGAN's layout at any resolution):
the decoder starts at 8×8 (BEGAN's h → 8×8×n Dense) and doubles with nearest-neighbour
up-sampling until the output size, one pair of 3×3 conv + ELU per scale (32 px: three pairs, as in
Khan §4; 64 px: four); the encoder mirrors it with stride-2 3×3 convolutions for sub-sampling and
channels growing linearly n, 2n, 3n, … as in BEGAN. The decoder's last conv is linear (BEGAN has no
output non-linearity); the suite clamps to [-1, 1] when it converts images for metrics.
"""

from __future__ import annotations

from torch import Tensor, nn

from bench.data.base import DataSpec
from models import blocks


def began_scales(resolution: int) -> tuple[int, int]:
    """(number of ×2 up-samplings, starting size): halve while even and the half is ≥ 8.

    BEGAN starts its decoder at 8×8: 32 → (2, 8), 64 → (3, 8), 128 → (4, 8), 28 → (1, 14), 96 → (3, 12).
    """
    n, s = 0, resolution
    while s % 2 == 0 and s // 2 >= 8:
        s //= 2
        n += 1
    return n, s


class BEGANDecoder(nn.Module):
    """BEGAN decoder (Berthelot et al. 2017, Fig. 1a): Dense h → (n, s0, s0); per scale a pair of
    3×3 conv + ELU, nearest up-sampling between scales; a final 3×3 conv to the image channels."""

    def __init__(self, latent_dim: int, channels: int, resolution: int, width: int) -> None:
        super().__init__()
        n_up, s0 = began_scales(resolution)
        self.start = (width, s0)
        self.fc = nn.Linear(latent_dim, width * s0 * s0)
        layers: list[nn.Module] = []
        for i in range(n_up + 1):
            layers += [nn.Conv2d(width, width, 3, 1, 1), nn.ELU(inplace=True),
                       nn.Conv2d(width, width, 3, 1, 1), nn.ELU(inplace=True)]
            if i < n_up:
                layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
        layers.append(nn.Conv2d(width, channels, 3, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        c, s = self.start
        return self.net(self.fc(z).view(-1, c, s, s))


class BEGANEncoder(blocks.TrunkHead):
    """BEGAN encoder (Berthelot et al. 2017, Fig. 1b): 3×3 conv n + ELU; per scale a pair of 3×3
    conv + ELU with k·n channels, then a stride-2 3×3 conv to (k+1)·n (sub-sampling); the last scale
    has its pair only; Dense to ``out_dim``."""

    def __init__(self, channels: int, resolution: int, width: int, out_dim: int) -> None:
        super().__init__()
        n_down, s0 = began_scales(resolution)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, 1, 1), nn.ELU(inplace=True)]
        c = width
        for k in range(1, n_down + 2):
            layers += [nn.Conv2d(c, k * width, 3, 1, 1), nn.ELU(inplace=True),
                       nn.Conv2d(k * width, k * width, 3, 1, 1), nn.ELU(inplace=True)]
            c = k * width
            if k <= n_down:
                layers += [nn.Conv2d(c, (k + 1) * width, 3, 2, 1), nn.ELU(inplace=True)]
                c = (k + 1) * width
        self.trunk = nn.Sequential(*layers)
        self.set_head(c * s0 * s0, out_dim)


def encoder(spec: DataSpec, arch: str, width: int, out_dim: int, mlp_hidden: int = 128) -> nn.Module:
    """Encoder for ``spec``: BEGAN blocks when ``arch == "began"`` (images), else the shared fair
    encoder (critic trunk + Dense ``out_dim``); an MLP for 2-D points under either protocol."""
    if arch == "began" and spec.kind == "image":
        return BEGANEncoder(spec.channels, spec.resolution, width, out_dim)
    return blocks.encoder(spec, width, out_dim, mlp_hidden)


def decoder(spec: DataSpec, arch: str, latent_dim: int, width: int, mlp_hidden: int = 128) -> nn.Module:
    """Decoder/generator for ``spec``: BEGAN blocks when ``arch == "began"`` (images), else the
    shared fair DCGAN generator; an MLP for 2-D points under either protocol."""
    if arch == "began" and spec.kind == "image":
        return BEGANDecoder(latent_dim, spec.channels, spec.resolution, width)
    return blocks.generator(spec, latent_dim, width, mlp_hidden)
