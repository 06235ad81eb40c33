"""Fashion-MNIST (Xiao et al. 2017): 60,000 train / 10,000 test grey 28×28 images of 10 clothing classes.

``fashion-mnist`` is the native 28 px; ``fashion-mnist@32`` (any ``@SIZE`` above 28 by an even number)
zero-pads the image by ``(SIZE − 28) / 2`` px on every side. Padding keeps every source pixel unchanged (the
images' background is 0, so the border is more background); resizing would resample, and so change, every
pixel. 32 px is the depth of the papers' CIFAR-10 DCGAN blocks (4 → 8 → 16 → 32).

The four upstream IDX files (``train-images-idx3-ubyte`` …, gzipped or not) are looked for in this order:

1. the data root (``--data-root``, else ``$BENCH_DATA_ROOT`` or ``~/.cache/hybrid-bench/data``): its
   ``FashionMNIST/raw`` (torchvision's layout, where ``python -m bench data download`` puts them), its
   ``fashion-mnist`` folder, or the data root itself;
2. Debian's package ``dataset-fashion-mnist`` (:data:`SYSTEM_DIR`, ``/usr/share/datasets/fashion-mnist``);
3. torchvision's ``FashionMNIST`` download (its mirrors and MD5 sums, :mod:`bench.data.remote`) when the
   network is allowed.

Offline with none of them: one line naming ``apt-get install dataset-fashion-mnist`` and the download
command. The IDX format (LeCun's MNIST page): a big-endian header ``0x0000 08 NDIM`` (type 0x08 = unsigned
byte) and ``NDIM`` big-endian uint32 sizes, then the bytes in C order. This module imports no torch at import
time (:func:`locate` is the offline fast path of :mod:`bench.data.layout`).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import TYPE_CHECKING

from bench.errors import MissingResourceError

if TYPE_CHECKING:
    import numpy as np

    from bench.data.base import Dataset

NAME = "fashion-mnist"
NATIVE = 28
SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist
APT_PACKAGE = "dataset-fashion-mnist"
TORCHVISION_DIR = "FashionMNIST/raw"  # torchvision's FashionMNIST(root) reads ROOT/FashionMNIST/raw
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
IDX_UBYTE = 0x08


class IdxError(MissingResourceError):
    """An IDX file that is not what its name says (bad header, wrong type, short, counts that disagree)."""


def candidate_dirs(data_root: str | os.PathLike[str] | None) -> list[Path]:
    """Where the files are looked for, in order: the data root's three places, then Debian's directory."""
    from bench.data.layout import default_root

    root = Path(data_root or default_root()).expanduser()
    return [root / TORCHVISION_DIR, root / NAME, root, Path(SYSTEM_DIR)]


def _file_in(folder: Path, stem: str) -> Path | None:
    for name in (stem, f"{stem}.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def files_in(folder: Path) -> dict[str, Path] | None:
    """The four IDX files in ``folder`` (each plain or ``.gz``), or ``None`` unless all four are there."""
    found = {stem: _file_in(folder, stem) for pair in FILES.values() for stem in pair}
    return None if any(p is None for p in found.values()) else found  # type: ignore[return-value]


def locate(data_root: str | os.PathLike[str] | None) -> Path | None:
    """The first directory of :func:`candidate_dirs` that holds all four files, or ``None``."""
    return next((d for d in candidate_dirs(data_root) if files_in(d) is not None), None)


def missing_error(data_root: str | os.PathLike[str] | None) -> MissingResourceError:
    """The one line for files found nowhere: where it looked, the Debian package, the download command."""
    from bench.data.layout import DatasetMissing, default_root

    root = Path(data_root or default_root()).expanduser()
    return DatasetMissing(
        f"dataset {NAME!r} not found in {root} ({TORCHVISION_DIR}, {NAME}/ or the folder itself) nor in {SYSTEM_DIR}; "
        f"install it with: apt-get install {APT_PACKAGE}, or fetch it with: "
        f"python -m bench data download {NAME} --data-root {root}", root)


def source_label(folder: Path) -> str:
    """How ``folder`` came to hold the files, in words (for ``data check`` and the dataset description)."""
    return f"Debian package {APT_PACKAGE}" if folder == Path(SYSTEM_DIR) else "data root"


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """An unsigned-byte IDX file (gzipped when it ends in ``.gz``) as a uint8 array of its header's shape."""
    import numpy as np

    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise IdxError(f"cannot read {path}: {err}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise IdxError(f"{path} is not an IDX file (its first two bytes must be 0)")
    dtype, ndim = raw[2], raw[3]
    if dtype != IDX_UBYTE or ndim == 0:
        raise IdxError(f"{path}: IDX type 0x{dtype:02x} with {ndim} dimensions; expected unsigned bytes (0x08)")
    head = 4 + 4 * ndim
    shape = tuple(int(v) for v in np.frombuffer(raw[4:head], dtype=">u4")) if len(raw) >= head else ()
    if len(shape) != ndim or len(raw) != head + int(np.prod(shape)):
        raise IdxError(f"{path}: {len(raw)} bytes do not match its IDX header (truncated or corrupt file)")
    return np.frombuffer(raw, dtype=np.uint8, offset=head).reshape(shape)


def read_split(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8, labels (N,) uint8) of ``split`` from ``folder``, checked for agreement."""
    found = files_in(folder)
    if found is None:
        raise IdxError(f"{folder} does not hold the four Fashion-MNIST IDX files")
    img_stem, lab_stem = FILES[split]
    images, labels = read_idx(found[img_stem]), read_idx(found[lab_stem])
    if images.ndim != 3 or images.shape[1:] != (NATIVE, NATIVE):
        raise IdxError(f"{found[img_stem]}: images of shape {images.shape[1:]}, expected {NATIVE}x{NATIVE}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise IdxError(f"{found[lab_stem]}: {len(labels)} labels for {len(images)} images in {found[img_stem].name}")
    if len(labels) and int(labels.max()) >= len(CLASSES):
        raise IdxError(f"{found[lab_stem]}: label {int(labels.max())} outside the {len(CLASSES)} classes")
    return images, labels


def padding(size: int) -> int:
    """Pixels of zeros on each side that take 28 px to ``size`` (``size`` − 28 must be even and ≥ 0)."""
    if size < NATIVE or (size - NATIVE) % 2:
        from bench.errors import ConfigError

        raise ConfigError(f"fashion-mnist@{size}: the 28-px images are zero-padded, so SIZE must be 28 plus an "
                          f"even number of pixels (e.g. fashion-mnist@32)")
    return (size - NATIVE) // 2


def fashion_mnist(data_root: str | None = None, size: int = NATIVE) -> Dataset:
    """Fashion-MNIST, 1 channel, labels 0–9 (:data:`CLASSES`), at 28 px or zero-padded to ``size``."""
    import numpy as np
    import torch

    from bench.data.base import Dataset, DataSpec, Split

    pad = padding(size)
    folder = locate(data_root)
    if folder is None:
        raise missing_error(data_root)
    splits = {}
    for split in FILES:
        images, labels = read_split(folder, split)
        x = torch.from_numpy(np.pad(images, ((0, 0), (pad, pad), (pad, pad)))).unsqueeze(1)
        splits[split] = Split(x, torch.from_numpy(labels.astype(np.int64)))
    how = "" if pad == 0 else f", zero-padded {pad} px a side"
    name = NAME if size == NATIVE else f"{NAME}@{size}"
    spec = DataSpec(name, "image", (1, size, size), len(CLASSES),
                    f"Fashion-MNIST {size} px{how} ({len(splits['train']):,} train / {len(splits['test']):,} test; "
                    f"{source_label(folder)}: {folder})")
    return Dataset(spec, splits)
