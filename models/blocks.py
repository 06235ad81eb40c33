"""The shared building blocks of the ``fair`` protocol (docs/protocols.md §1, AVAE Fig. 5).

One implementation of each block, used by every model: the DCGAN-style generator/decoder,
the critic (discriminator) and the encoder (the critic with a Dense head), parametrised
by resolution, channels, latent size and width multiplier ``w``; MLP equivalents for 2-D data.

Initialisation (:func:`initialise`, applied by :meth:`models.base.Model.build` from ``cfg.init``): AVAE §V
trains with "the hyper-parameters recommended in" DCGAN (Radford et al. 2016, §4: "All weights were
initialized from a zero-centered Normal distribution with standard deviation 0.02"). The authors' released
code (Newmu/dcgan_code, ``faces/train_uncond_dcgan.py``) draws every conv and dense weight from N(0, 0.02),
every BatchNorm scale from N(1, 0.02) and sets every bias and BatchNorm shift to 0; ``init="dcgan"`` does
exactly that on the DCGAN generator and critic. ``init="pytorch"`` keeps PyTorch's default initialisation
(Kaiming-uniform), bit for bit what the blocks had before. The MLP blocks of 2-D data keep PyTorch's default
under both settings: DCGAN's recommendation is for its convolutional nets, and with 2 inputs a weight std of
0.02 makes the first layers' activations ~1e-2 of the data's (a vanishing signal an MLP has no BatchNorm to
undo); the 2-D training tests were measured with PyTorch's initialisation. LayerNorm (WGAN-GP's critic) keeps
scale 1, shift 0 (DCGAN has no LayerNorm).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from bench.data.base import DataSpec

Norm = Literal["bn", "ln", "none"]
Init = Literal["dcgan", "pytorch"]
Act = Literal["relu", "lrelu"]  # activation of the MLP blocks (2-D data)
DisL = Literal["auto", "pre_norm", "post_norm"]  # where VAE/GAN reads Dis_l (TrunkHead.layer_l)


def doublings(resolution: int) -> tuple[int, int]:
    """(number of stride-2 stages, starting spatial size): halve while even and ≥ 8.

    16 → (2, 4), 28 → (2, 7), 32 → (3, 4), 64 → (4, 4), 96 → (4, 6), 128 → (5, 4).
    """
    n, s = 0, resolution
    while s % 2 == 0 and s // 2 >= 4:
        s //= 2
        n += 1
    if n == 0:
        raise ValueError(f"resolution {resolution} is too small for the DCGAN blocks")
    return n, s


def _norm2d(kind: Norm, channels: int, size: int) -> nn.Module:
    if kind == "bn":
        return nn.BatchNorm2d(channels)
    if kind == "ln":  # WGAN-GP: no BatchNorm in the critic; LayerNorm over (C, H, W)
        return nn.LayerNorm([channels, size, size])
    return nn.Identity()


class TrunkHead(nn.Module):
    """A feature trunk followed by a Dense head: ``features(x)`` is the flattened trunk output (the
    Dis_l / shared layer that several papers read), ``forward(x)`` the head on it. Subclasses build
    ``trunk`` and call :meth:`set_head`."""

    trunk: nn.Module

    def set_head(self, feature_dim: int, out_dim: int) -> None:
        self.feature_dim = feature_dim
        self.head = nn.Linear(feature_dim, out_dim)

    def features(self, x: Tensor) -> Tensor:
        return self.trunk(x).flatten(1)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))

    def layer_l(self, x: Tensor, reading: DisL = "auto") -> Tensor:
        """VAE/GAN's Dis_l, flattened. Larsen et al.'s released code (andersbll/autoencoding_beyond_pixels,
        ``model/aegan.py``: ``discriminator.collection[:recon_depth]``) reads a conv's output before its
        BatchNorm, always with a BatchNorm before it: ``cifar_aegan.py`` ``recon_depth=6`` = the third conv
        (after one BatchNorm), ``celeba_aegan.py`` ``recon_depth=9`` = the fourth (after two). ``reading``:

        - ``"pre_norm"``: the output of the deepest linear map (conv or dense) that a normalisation follows,
          before that normalisation (the released code's layer when a normalised block precedes that map);
        - ``"post_norm"``: the output of that normalisation (for trunks where no normalised block precedes
          the map, e.g. the 16-px critic conv → LReLU → conv → BN: reading before the BN makes Dis_l's scale
          the product of two freshly initialised convs, so its gain depends on the initialisation, ≈ 33×
          between DCGAN's N(0, 0.02) and PyTorch's; after the BN it does not);
        - ``"auto"``: ``pre_norm`` where a normalisation precedes that map, else ``post_norm``
          (:func:`dis_l_reading`).

        A trunk without any normalisation (the MLP of 2-D data) reads :meth:`features`. Pass [x̃; x] as one
        batch so the normalisation uses shared statistics."""
        mods = list(self.trunk)
        is_norm = [isinstance(m, nn.modules.batchnorm._BatchNorm | nn.LayerNorm) for m in mods]
        linear = [i for i, m in enumerate(mods) if isinstance(m, nn.Conv2d | nn.Linear)
                  and any(is_norm[i + 1:])]
        if not linear:
            return self.features(x)
        last = linear[-1]
        if reading == "auto":
            reading = "pre_norm" if any(is_norm[:last]) else "post_norm"
        stop = last if reading == "pre_norm" else next(i for i in range(last + 1, len(mods)) if is_norm[i])
        for m in mods[: stop + 1]:
            x = m(x)
        return x.flatten(1)


class DCGANGenerator(nn.Module):
    """Dense → reshape (s0, s0, c0) → BN → ReLU → up-blocks (ConvT k5 s2, BN, ReLU) → ConvT to
    C channels, stride 2 → Tanh. The last up-block has ``w`` channels, doubling towards the input
    (64 px: 8w → 4w, 2w, w; 32 px: 4w → 2w, w)."""

    def __init__(self, latent_dim: int, channels: int, resolution: int, width: int) -> None:
        super().__init__()
        n, s0 = doublings(resolution)
        c0 = width * 2 ** (n - 1)
        self.start = (c0, s0)
        self.fc = nn.Linear(latent_dim, c0 * s0 * s0)
        layers: list[nn.Module] = [nn.BatchNorm2d(c0), nn.ReLU(True)]
        c = c0
        for _ in range(n - 1):
            up = nn.ConvTranspose2d(c, c // 2, 5, 2, 2, output_padding=1, bias=False)
            layers += [up, nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 5, 2, 2, output_padding=1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        c0, s0 = self.start
        return self.net(self.fc(z).view(-1, c0, s0, s0))


class DCGANCritic(TrunkHead):
    """Conv w, stride 2 → LeakyReLU(0.2) → down-blocks (conv k5 s2, no bias, norm, LeakyReLU) with
    2w, 4w, … → flatten → Dense ``out_dim``. ``features(x)`` returns the flattened last down-block
    (the Dis_l layer of VAE/GAN)."""

    def __init__(self, channels: int, resolution: int, width: int, out_dim: int = 1, norm: Norm = "bn") -> None:
        super().__init__()
        n, s0 = doublings(resolution)
        size = resolution // 2
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 5, 2, 2), nn.LeakyReLU(0.2, True)]
        c = width
        for _ in range(n - 1):
            size //= 2
            layers += [nn.Conv2d(c, c * 2, 5, 2, 2, bias=False), _norm2d(norm, c * 2, size), nn.LeakyReLU(0.2, True)]
            c *= 2
        self.trunk = nn.Sequential(*layers)
        self.set_head(c * s0 * s0, out_dim)


class MLP(TrunkHead):
    """Fully connected net for 2-D data: ``layers`` hidden layers of ``hidden`` units."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 128, layers: int = 2, act: Act = "relu") -> None:
        super().__init__()
        mods: list[nn.Module] = []
        d = in_dim
        for _ in range(layers):
            mods += [nn.Linear(d, hidden), nn.LeakyReLU(0.2, True) if act == "lrelu" else nn.ReLU(True)]
            d = hidden
        self.trunk = nn.Sequential(*mods)
        self.set_head(d, out_dim)

    def features(self, x: Tensor) -> Tensor:
        return self.trunk(x.flatten(1))


DCGAN_WEIGHT_STD = 0.02  # Radford et al. 2016, §4; Newmu/dcgan_code: inits.Normal(scale=0.02)


@torch.no_grad()
def dcgan_init_(net: nn.Module) -> None:
    """DCGAN's initialisation, in place, on every conv/dense/BatchNorm layer of ``net``: weights
    N(0, 0.02), BatchNorm scales N(1, 0.02), biases and BatchNorm shifts 0 (other layers untouched)."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, DCGAN_WEIGHT_STD)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            nn.init.normal_(m.weight, 1.0, DCGAN_WEIGHT_STD)
            nn.init.zeros_(m.bias)


def initialise(model: nn.Module, init: Init) -> None:
    """Apply ``init`` to every DCGAN generator and critic inside ``model`` (in ``model.modules()`` order,
    so the same seed gives the same weights); ``"pytorch"`` leaves them as built. MLPs and the paper
    architectures of other modules (BEGAN, AVAE-S Table I) are never touched."""
    if init not in ("dcgan", "pytorch"):
        raise ValueError(f"unknown init {init!r} (dcgan or pytorch)")
    if init == "dcgan":
        for m in model.modules():
            if isinstance(m, DCGANGenerator | DCGANCritic):
                dcgan_init_(m)


def generator(spec: DataSpec, latent_dim: int, width: int, mlp_hidden: int = 128) -> nn.Module:
    """The shared generator/decoder for ``spec``: DCGAN blocks for images, an MLP for points."""
    if spec.kind == "points":
        return MLP(latent_dim, spec.dim, mlp_hidden)
    return DCGANGenerator(latent_dim, spec.channels, spec.resolution, width)


def critic(spec: DataSpec, width: int, out_dim: int = 1, norm: Norm = "bn", mlp_hidden: int = 128,
           mlp_act: Act = "lrelu") -> nn.Module:
    """The shared critic/discriminator (also the encoder trunk), with a Dense head of ``out_dim``;
    ``mlp_act`` (``lrelu`` or ``relu``) is the MLP's activation on 2-D data."""
    if spec.kind == "points":
        return MLP(spec.dim, out_dim, mlp_hidden, act=mlp_act)
    return DCGANCritic(spec.channels, spec.resolution, width, out_dim, norm)


def dis_l_reading(spec: DataSpec) -> Literal["pre_norm", "post_norm"]:
    """The ``auto`` reading of :meth:`TrunkHead.layer_l` for the fair critic on ``spec``: ``pre_norm`` when
    the critic has two or more down-blocks (a BatchNorm precedes its last conv: 32 px and up), ``post_norm``
    when it has one (16 px: conv → LReLU → conv → BN) or no convolution (2-D points, where both read the MLP's
    features)."""
    if spec.kind == "points":
        return "post_norm"
    return "pre_norm" if doublings(spec.resolution)[0] >= 3 else "post_norm"


def encoder(spec: DataSpec, width: int, out_dim: int, mlp_hidden: int = 128) -> nn.Module:
    """The shared encoder: the critic with a Dense head of ``out_dim`` (2·dim(z), or dim(z))."""
    return critic(spec, width, out_dim, "bn", mlp_hidden)
