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


@dataclass
class Dataset:
    """A dataset: its spec and its splits (``val`` defaults to a seeded slice of ``train``)."""

    spec: DataSpec
    splits: dict[str, Split] = field(default_factory=dict)

    def split(self, name: str) -> Split:
        if name == "val" and "val" not in self.splits:
            train = self.splits["train"]
            self.splits["val"] = train.subset(min(len(train) // 10 or 1, 10_000), seed=12345)
        if name not in self.splits:
            raise KeyError(f"{self.spec.name} has no split {name!r}; splits: {', '.join(self.splits)}")
        return self.splits[name]

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
