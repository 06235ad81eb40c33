"""Dataset registry: one line per dataset (name, loader ``module:function``, description).

Every loader takes ``data_root`` and returns a :class:`bench.data.base.Dataset`. Importing this package
does not import torch (``DataSpec``, ``Dataset``… are loaded on first access), so that listing names or
failing on a missing dataset offline stays fast.
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from bench.errors import ConfigError
from bench.registry import Entry, Registry

if TYPE_CHECKING:
    from bench.data.base import Dataset

RESIZABLE = ("folder", "ffhq", "digits", "fashion-mnist")  # ``NAME@SIZE`` loads these at SIZE px (folder@128, digits@16)
PADDED = {"fashion-mnist": 28}  # these reach SIZE by zero padding (every pixel kept): SIZE = native + an even number
MAX_SIZE = 1024


def parse_sized(name: str) -> tuple[str, int | None]:
    """``"folder@128"`` → ``("folder", 128)``; a plain name → ``(name, None)``; one-line ConfigError otherwise."""
    base, at, size = name.partition("@")
    if not at:
        return name, None
    if base not in RESIZABLE:
        raise ConfigError(f"dataset {base!r} has a fixed resolution; NAME@SIZE is for {', '.join(RESIZABLE)}")
    if not size.isdigit() or not 8 <= int(size) <= MAX_SIZE:
        raise ConfigError(f"bad resolution in dataset {name!r}: SIZE must be a whole number of pixels, 8 to {MAX_SIZE}")
    if base in PADDED and (int(size) < PADDED[base] or (int(size) - PADDED[base]) % 2):
        raise ConfigError(f"bad resolution in dataset {name!r}: {base} is zero-padded from {PADDED[base]} px, so SIZE "
                          f"must be {PADDED[base]} plus an even number of pixels (e.g. {base}@{PADDED[base] + 4})")
    return base, int(size)


class DatasetRegistry(Registry):
    """The dataset registry, where the image-folder datasets also answer to ``NAME@SIZE`` (their resolution)."""

    def entry(self, name: str) -> Entry:
        base, size = parse_sized(name)
        e = super().entry(base)
        if size is None:
            return e
        how = f" (zero-padded from {PADDED[base]} px)" if base in PADDED else ""
        return Entry(name, e.target, f"{e.description.split(',')[0]}, {size} px{how}")

    def get(self, name: str) -> Any:
        base, size = parse_sized(name)
        loader = super().get(base)
        return loader if size is None else partial(loader, size=size)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self.entry(name)
        except (ConfigError, KeyError):
            return False
        return True


DATASETS = DatasetRegistry("dataset")
# offline built-ins (no download)
DATASETS.register("ring8", "bench.data.toys:ring8", "8 Gaussians on a circle, 2-D (offline)")
DATASETS.register("grid25", "bench.data.toys:grid25", "25 Gaussians on a 5x5 grid, 2-D (offline)")
DATASETS.register("avae-toy", "bench.data.toys:avae_toy", "AVAE §V-A toy: 2-D points from two factors (offline)")
DATASETS.register("digits", "bench.data.offline_images:digits", "scikit-learn 8x8 digits up-sampled to 32 px, 1 ch (offline)")
DATASETS.register("shapes", "bench.data.offline_images:shapes", "procedural coloured shapes, 32 px, 12 modes (offline)")
# real data through torchvision, from --data-root
DATASETS.register("cifar10", "bench.data.real:cifar10", "CIFAR-10, 32 px (torchvision, --data-root; downloaded on first use)")
DATASETS.register("cifar100", "bench.data.real:cifar100", "CIFAR-100, 32 px (torchvision, --data-root; downloaded on first use)")
DATASETS.register("svhn", "bench.data.real:svhn", "SVHN, 32 px (torchvision, --data-root; downloaded on first use)")
DATASETS.register("mnist", "bench.data.real:mnist", "MNIST, 28 px, 1 ch (torchvision, --data-root; downloaded on first use)")
DATASETS.register("fashion-mnist", "bench.data.fashion_mnist:fashion_mnist",
                  "Fashion-MNIST, 28 px, 1 ch, 10 classes (--data-root, Debian's dataset-fashion-mnist, or downloaded; "
                  "fashion-mnist@32: zero-padded to 32 px)")
DATASETS.register("colormnist", "bench.data.real:colormnist", "stacked ColorMNIST, 32 px, 1000 modes (from MNIST)")
DATASETS.register("celeba", "bench.data.real:celeba",
                  "CelebA, 70% centre crop, 64 px (torchvision, --data-root; downloaded on first use)")
DATASETS.register("celeba96", "bench.data.real:celeba96", "CelebA, 70% centre crop, 96 px (AVAE-S)")
DATASETS.register("lsun-bedroom", "bench.data.real:lsun_bedroom", "LSUN bedroom, 64 px (torchvision LSUN, --data-root)")
DATASETS.register("ffhq", "bench.data.real:ffhq", "FFHQ as an image folder DATA_ROOT/ffhq, 64 px (ffhq@SIZE: other sizes)")
DATASETS.register("folder", "bench.data.real:folder",
                  "any folder of images at --data-root, class sub-folders as labels, 64 px (folder@SIZE: other sizes)")


def check_offline(name: str, data_root: str | None = None) -> None:
    """Offline (``--offline`` / ``BENCH_OFFLINE=1``) and ``name`` not on disk: raise its one-line error now,
    without importing torch (commands call this first, so the error takes well under a second)."""
    from bench.data import layout
    from bench.data.download import offline

    DATASETS.entry(name)  # unknown name or bad NAME@SIZE: one line
    if offline() and (err := layout.missing_offline(parse_sized(name)[0], data_root)) is not None:
        raise err


@lru_cache(maxsize=8)
def load(name: str, data_root: str | None = None) -> Dataset:
    """Load dataset ``name`` (cached per process). A real dataset missing from the data root is
    downloaded first (:mod:`bench.data.remote`) unless the network is off (``--offline`` /
    ``BENCH_OFFLINE=1``), which keeps the one-line "not found …; fetch it with …" error."""
    from bench.data import layout, remote
    from bench.data.download import offline

    check_offline(name, data_root)  # before torch / torchvision are imported
    loader = DATASETS.get(name)

    try:
        return loader(data_root)
    except layout.DatasetMissing as err:
        base = parse_sized(name)[0]  # fashion-mnist@32 downloads fashion-mnist
        if offline() or remote.no_download_reason(base, err.root) is not None:
            raise
        remote.download(base, err.root)
    return loader(data_root)


_LAZY = ("DataSpec", "Dataset", "Split", "to_model_range", "to_uint8")


def __getattr__(name: str) -> Any:  # PEP 562: bench.data.base (and torch) only when used
    if name in _LAZY:
        from bench.data import base

        return getattr(base, name)
    raise AttributeError(f"module 'bench.data' has no attribute {name!r}")


__all__ = ["DATASETS", "DataSpec", "Dataset", "Split", "check_offline", "load", "to_model_range", "to_uint8"]
