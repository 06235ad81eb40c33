"""Where each downloadable dataset lies under the data root, checked without importing torch.

:func:`missing_offline` lets an offline run (``--offline`` / ``BENCH_OFFLINE=1``) stop with its one line
in about a second, before torch and torchvision are imported. The paths are those torchvision's dataset
classes read (``tests/test_downloads.py`` checks them against :mod:`bench.data.remote`'s targets).
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.errors import MissingResourceError

_CIFAR10 = tuple(f"cifar-10-batches-py/{f}" for f in (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch",
                                                        "batches.meta"))
_MNIST = tuple(f"MNIST/raw/{f}" for f in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))
_FASHION = tuple(f"FashionMNIST/raw/{f}" for f in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))
_CELEBA = tuple(f"celeba/{f}" for f in ("img_align_celeba", "list_attr_celeba.txt", "identity_CelebA.txt",
                                        "list_bbox_celeba.txt", "list_landmarks_align_celeba.txt",
                                        "list_eval_partition.txt"))
REQUIRED: dict[str, tuple[str, ...]] = {
    "cifar10": _CIFAR10,
    "cifar100": ("cifar-100-python/train", "cifar-100-python/test", "cifar-100-python/meta"),
    "svhn": ("train_32x32.mat", "test_32x32.mat"),
    "mnist": _MNIST, "colormnist": _MNIST,
    "fashion-mnist": _FASHION,  # where the download puts them; bench.data.fashion_mnist.locate also looks elsewhere
    "celeba": _CELEBA, "celeba96": _CELEBA,
}


def default_root() -> str:
    """``$BENCH_DATA_ROOT`` or ``~/.cache/hybrid-bench/data``."""
    return os.environ.get("BENCH_DATA_ROOT", str(Path.home() / ".cache" / "hybrid-bench" / "data"))


class DatasetMissing(MissingResourceError):
    """A downloadable dataset that is not under the data root (``root`` says where it was looked for)."""

    def __init__(self, message: str, root: Path) -> None:
        super().__init__(message)
        self.root = root


def missing(name: str, where: Path) -> DatasetMissing:
    """Today's one line: where it was looked for, and the command that fetches it."""
    return DatasetMissing(f"dataset {name!r} not found in {where}; fetch it with: "
                          f"python -m bench data download {name} --data-root {where}", where)


def present(name: str, root: str | os.PathLike[str]) -> bool:
    """Every file torchvision's loader for ``name`` reads is under ``root`` (True for other datasets)."""
    return all((Path(root) / rel).exists() for rel in REQUIRED.get(name, ()))


def missing_offline(name: str, data_root: str | None) -> MissingResourceError | None:
    """The one-line error for a downloadable dataset that is not on disk, or ``None`` if it is there."""
    if name == "fashion-mnist":  # the data root's places, then Debian's package directory
        from bench.data import fashion_mnist

        return None if fashion_mnist.locate(data_root) is not None else fashion_mnist.missing_error(data_root)
    root = Path(data_root or default_root()).expanduser()
    return None if present(name, root) else missing(name, root)
