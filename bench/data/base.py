"""The one dataset interface every model and metric reads.

A dataset has named splits (``train``, ``val``, ``test``). Image splits are stored as
uint8 ``(N, C, H, W)`` tensors (what metrics read) and handed to models as float tensors
in [-1, 1] (the Tanh range every generator in the papers uses); point splits (2-D toys)
are float32 ``(N, D)`` and handed over unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor


@dataclass(frozen=True)
class DataSpec:
    """What a model needs to know to build itself for a dataset."""

    name: str
    kind: Literal["image", "points"]
    shape: tuple[int, ...]  # (C, H, W) for images, (D,) for points
    n_classes: int | None = None
    description: str = ""
    # 2-D mixtures: mode centres and the per-mode std (for the mode-coverage metric).
    modes: tuple[tuple[float, ...], ...] | None = None
    mode_std: float | None = None

    @property
    def channels(self) -> int:
        return self.shape[0] if self.kind == "image" else 0

    @property
    def resolution(self) -> int:
        return self.shape[-1] if self.kind == "image" else 0

    @property
    def dim(self) -> int:
        """Flattened data dimension."""
        n = 1
        for s in self.shape:
            n *= s
        return n


@dataclass
class Split:
    """One split held in memory: ``data`` uint8 images or float points, optional labels."""

    data: Tensor
    labels: Tensor | None = None
    kind: Literal["image", "points"] = "image"
    origin: str = ""  # where a derived split was cut from (empty for a dataset's own split)

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def batch(self, idx: Tensor | slice) -> Tensor:
        """Model-ready float batch: images in [-1, 1], points as stored."""
        x = self.data[idx]
        if self.kind == "image":
            return to_model_range(x)
        return x.float()

    def uint8(self, idx: Tensor | slice | None = None) -> Tensor:
        """Images as uint8 (N, C, H, W) for metrics (images only)."""
        if self.kind != "image":
            raise TypeError("uint8() is for image splits")
        return self.data if idx is None else self.data[idx]

    def subset(self, n: int, seed: int = 0) -> Split:
        """A fixed, seeded subset of ``n`` items (all of them if ``n >= len``)."""
        if n >= len(self):
            return self
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(self), generator=g)[:n].sort().values
        labels = None if self.labels is None else self.labels[idx]
        return Split(self.data[idx], labels, self.kind)


VAL_SEED = 12345
VAL_FROM_TEST = "test, seeded half A (no official val split; never a training image)"


@dataclass
class Dataset:
    """A dataset: its spec and its splits.

    ``val`` is the official validation split where the dataset has one (CelebA); otherwise it is a seeded
    half ("half A") of the *test* split, so that it holds no image any model trained on (α-GAN §4 trains its
    independent critic on held-out data). :meth:`held_out` gives both halves and says where they come from.
    """

    spec: DataSpec
    splits: dict[str, Split] = field(default_factory=dict)

    def _test_halves(self) -> tuple[Split, Split]:
        test = self.splits["test"]
        perm = torch.randperm(len(test), generator=torch.Generator().manual_seed(VAL_SEED))
        half = max(1, len(test) // 2)
        a, b = perm[:half].sort().values, perm[half:].sort().values

        def take(idx: Tensor) -> Split:
            return Split(test.data[idx], None if test.labels is None else test.labels[idx], test.kind)

        return take(a), take(b)

    def split(self, name: str) -> Split:
        if name == "val" and "val" not in self.splits:
            a = self._test_halves()[0]
            self.splits["val"] = Split(a.data, a.labels, a.kind, origin=VAL_FROM_TEST)
        if name not in self.splits:
            raise KeyError(f"{self.spec.name} has no split {name!r}; splits: {', '.join(self.splits)}")
        return self.splits[name]

    def held_out(self) -> tuple[Split, Split, str]:
        """(critic-training images, evaluation images, source) for metrics that must train on held-out data.

        With an official ``val`` split: (val, test, "val"). Without one: the two seeded halves A and B of the
        test split, (A, B, :data:`VAL_FROM_TEST`), A being the dataset's ``val``."""
        if "val" in self.splits and not self.splits["val"].origin:
            return self.splits["val"], self.split("test"), "val (official split)"
        a, b = self._test_halves()
        self.split("val")
        return a, b, VAL_FROM_TEST

    @property
    def train(self) -> Split:
        return self.split("train")

    @property
    def test(self) -> Split:
        return self.split("test")


def to_model_range(x: Tensor) -> Tensor:
    """uint8 [0, 255] → float [-1, 1]."""
    return x.float().div(127.5).sub(1.0)


def to_uint8(x: Tensor) -> Tensor:
    """Model output in [-1, 1] → uint8 [0, 255] (clamped, rounded), the format metrics read."""
    return x.detach().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
