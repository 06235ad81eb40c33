"""Real datasets through torchvision, read from ``--data-root``.

Each loader uses torchvision's own dataset class (the real file layout and parsing). A dataset that
is not on disk is downloaded on first use by :func:`bench.data.load` (:mod:`bench.data.remote`: the
URLs and checksums of torchvision's classes, atomic); with ``--offline`` / ``BENCH_OFFLINE=1`` it fails
with one line naming the directory looked in and the command that fetches it
(``python -m bench data download NAME --data-root DIR``, run where there is internet, e.g. a login
node). Decoded JPEG/LMDB datasets are cached once as ``.npy`` under ``DATA_ROOT/.hybrid-bench-cache``
and memory-mapped afterwards.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bench.atomic import write_with
from bench.data.base import Dataset, DataSpec, Split
from bench.data.layout import DatasetMissing, default_root, missing
from bench.errors import MissingResourceError

CACHE_DIR = ".hybrid-bench-cache"
# CelebA in AVAE §V: "center-cropped at 70%" then resized (64 px; 96 px for AVAE-S).
CELEBA_CROP_FRACTION = 0.7
LSUN_MAX_IMAGES = 300_000  # LSUN bedroom has 3M images; cap what is decoded and cached


def _missing(name: str, where: Path) -> DatasetMissing:
    return missing(name, where)


def _presence_only(cls: type) -> type:
    """Subclass a torchvision dataset with its MD5 sums set to None, so torchvision's own
    integrity check (``check_integrity(path, md5=None)``) only requires the files to exist.

    Re-packed or test-written copies in the real layout would fail the MD5 check; the download
    command (torchvision's ``download=True``) still verifies archives.
    """
    attrs: dict[str, object] = {}
    for name in ("train_list", "test_list"):
        if hasattr(cls, name):
            attrs[name] = [[f, None] for f, _ in getattr(cls, name)]
    if hasattr(cls, "meta"):
        attrs["meta"] = {**cls.meta, "md5": None}
    if hasattr(cls, "split_list"):
        attrs["split_list"] = {k: [url, f, None] for k, (url, f, _) in cls.split_list.items()}
    if hasattr(cls, "file_list"):
        attrs["file_list"] = [(fid, None, f) for fid, _, f in cls.file_list]
    return type(cls.__name__, (cls,), attrs)


def _cifar(name: str, cls_name: str, n_classes: int, root: str | None) -> Dataset:
    import torchvision.datasets as tvd

    where = Path(root or default_root())
    cls = _presence_only(getattr(tvd, cls_name))
    try:
        tr, te = cls(str(where), train=True, download=False), cls(str(where), train=False, download=False)
    except RuntimeError:
        raise _missing(name, where) from None
    spec = DataSpec(name, "image", (3, 32, 32), n_classes, f"{cls_name} 32 px ({len(tr)} train / {len(te)} test)")

    def split(ds) -> Split:  # noqa: ANN001
        return Split(torch.from_numpy(np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2))), torch.tensor(ds.targets))

    return Dataset(spec, {"train": split(tr), "test": split(te)})


def cifar10(data_root: str | None = None) -> Dataset:
    """CIFAR-10 (torchvision ``CIFAR10`` layout: ``cifar-10-batches-py``)."""
    return _cifar("cifar10", "CIFAR10", 10, data_root)


def cifar100(data_root: str | None = None) -> Dataset:
    """CIFAR-100 (torchvision ``CIFAR100`` layout: ``cifar-100-python``)."""
    return _cifar("cifar100", "CIFAR100", 100, data_root)


def svhn(data_root: str | None = None) -> Dataset:
    """SVHN cropped digits, train / test (torchvision ``SVHN``: ``train_32x32.mat``, ``test_32x32.mat``)."""
    import torchvision.datasets as tvd

    where = Path(root := (data_root or default_root()))
    cls = _presence_only(tvd.SVHN)
    try:
        tr, te = cls(root, split="train", download=False), cls(root, split="test", download=False)
    except RuntimeError:
        raise _missing("svhn", where) from None
    spec = DataSpec("svhn", "image", (3, 32, 32), 10, f"SVHN 32 px ({len(tr)} train / {len(te)} test)")
    return Dataset(spec, {"train": Split(torch.from_numpy(tr.data), torch.from_numpy(tr.labels).long()),
                          "test": Split(torch.from_numpy(te.data), torch.from_numpy(te.labels).long())})


def mnist(data_root: str | None = None) -> Dataset:
    """MNIST, 28 px, 1 channel (torchvision ``MNIST`` layout: ``MNIST/raw``)."""
    import torchvision.datasets as tvd

    where = Path(root := (data_root or default_root()))
    try:
        tr, te = tvd.MNIST(root, train=True, download=False), tvd.MNIST(root, train=False, download=False)
    except RuntimeError:
        raise _missing("mnist", where) from None
    spec = DataSpec("mnist", "image", (1, 28, 28), 10, "MNIST 28 px (60,000 train / 10,000 test)")
    return Dataset(spec, {"train": Split(tr.data.unsqueeze(1), tr.targets), "test": Split(te.data.unsqueeze(1), te.targets)})


def colormnist(data_root: str | None = None) -> Dataset:
    """ColorMNIST (α-GAN §5, after Metz et al.): each MNIST digit, resized to 32 px, stacked
    three times with an independent digit per channel → 1000 modes; labels = 100·d_r + 10·d_g + d_b."""
    base = mnist(data_root)
    g = torch.Generator().manual_seed(0)

    def stack(split: Split) -> Split:
        x = torch.nn.functional.interpolate(split.data.float(), size=(32, 32), mode="bilinear", align_corners=False)
        x = x.round().clamp(0, 255).to(torch.uint8)
        idx = torch.stack([torch.randperm(len(x), generator=g) for _ in range(3)], 1)
        labels = split.labels[idx]  # type: ignore[index]
        return Split(x[idx, 0], labels[:, 0] * 100 + labels[:, 1] * 10 + labels[:, 2])

    spec = DataSpec("colormnist", "image", (3, 32, 32), 1000, "stacked ColorMNIST 32 px (1000 modes)")
    return Dataset(spec, {"train": stack(base.train), "test": stack(base.test)})


def _cached(path: Path, build: Callable[[], np.ndarray]) -> torch.Tensor:
    """Decode once into ``path`` (.npy, atomic), then memory-map it copy-on-write (``mmap_mode="c"``): pages are
    read from the file as they are touched, and the array is writable in memory only (the file never changes),
    so ``torch.from_numpy`` takes it without the "non-writable NumPy array" UserWarning a read-only map gave."""
    if not path.exists():
        arr = build()

        def save(tmp: Path) -> None:
            with open(tmp, "wb") as fh:  # a file object: np.save(str) would append ".npy" to the temporary name
                np.save(fh, arr)

        write_with(path, save)
    return torch.from_numpy(np.load(path, mmap_mode="c"))


def _resize_stack(images: Iterable[Image.Image], size: int, crop_fraction: float | None, total: int) -> np.ndarray:
    from tqdm import tqdm

    out = np.empty((total, 3, size, size), dtype=np.uint8)
    n = 0
    for img in tqdm(images, total=total, desc="decoding images", unit="img"):
        img = img.convert("RGB")
        if crop_fraction is not None:
            w, h = img.size
            c = int(round(min(w, h) * crop_fraction))
            left, top = (w - c) // 2, (h - c) // 2
            img = img.crop((left, top, left + c, top + c))
        else:  # centre-crop to square
            w, h = img.size
            c = min(w, h)
            img = img.crop(((w - c) // 2, (h - c) // 2, (w - c) // 2 + c, (h - c) // 2 + c))
        out[n] = np.asarray(img.resize((size, size), Image.BICUBIC)).transpose(2, 0, 1)
        n += 1
        if n == total:
            break
    return out[:n]


def _decode_all(ds: object, total: int, size: int, crop_fraction: float | None) -> np.ndarray:
    """Decode the first ``total`` images of a torchvision dataset into a uint8 array."""
    return _resize_stack((ds[i][0] for i in range(total)), size, crop_fraction, total)  # type: ignore[index]


def _celeba(name: str, size: int, data_root: str | None) -> Dataset:
    import torchvision.datasets as tvd

    where = Path(root := (data_root or default_root()))
    if not (where / "celeba" / "img_align_celeba").is_dir() or not (where / "celeba" / "list_eval_partition.txt").exists():
        raise _missing(name, where)

    CelebA = _presence_only(tvd.CelebA)

    splits = {}
    for split in ("train", "valid", "test"):
        ds = CelebA(root, split=split, target_type=[], download=False)
        key = {"valid": "val"}.get(split, split)
        path = where / CACHE_DIR / f"{name}_{key}.npy"
        data = _cached(path, partial(_decode_all, ds, len(ds), size, CELEBA_CROP_FRACTION))
        splits[key] = Split(data)
    spec = DataSpec(name, "image", (3, size, size), None, f"CelebA, centre crop 70% (AVAE §V), {size} px")
    return Dataset(spec, splits)


def celeba(data_root: str | None = None) -> Dataset:
    """CelebA aligned faces, centre-cropped at 70 % and resized to 64 px (AVAE §V), official splits."""
    return _celeba("celeba", 64, data_root)


def celeba96(data_root: str | None = None) -> Dataset:
    """CelebA at 96 px (AVAE-S §III), same crop and splits."""
    return _celeba("celeba96", 96, data_root)


def lsun_bedroom(data_root: str | None = None) -> Dataset:
    """LSUN bedroom (torchvision ``LSUN`` over ``bedroom_train_lmdb`` / ``bedroom_val_lmdb``), 64 px,
    at most 300,000 training images decoded; the 3,000 validation images are the test split."""
    import torchvision.datasets as tvd

    where = Path(root := (data_root or default_root()))
    if not (where / "bedroom_train_lmdb").is_dir():
        raise MissingResourceError(
            f"dataset 'lsun-bedroom' not found in {where} (bedroom_train_lmdb); fetch it with: "
            f"python -m bench data download lsun-bedroom --data-root {where}"
        )
    splits = {}
    for key, cls_name, cap in (("train", "bedroom_train", LSUN_MAX_IMAGES), ("test", "bedroom_val", None)):
        ds = tvd.LSUN(root, classes=[cls_name])
        total = min(len(ds), cap or len(ds))
        path = where / CACHE_DIR / f"lsun-bedroom_{key}_{total}.npy"
        splits[key] = Split(_cached(path, partial(_decode_all, ds, total, 64, None)))
    return Dataset(DataSpec("lsun-bedroom", "image", (3, 64, 64), None, "LSUN bedroom, centre crop, 64 px"), splits)


IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".ppm", ".tif", ".tiff")
FOLDER_RESOLUTION = 64  # default side of folder datasets; ``folder@128`` asks for another


def list_images(folder: Path) -> list[Path]:
    """All image files under ``folder`` (recursive, sorted)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def folder_classes(folder: Path, files: list[Path]) -> list[str] | None:
    """Class names by torchvision's ``ImageFolder`` convention: the sorted names of the folder's direct
    sub-directories, each image labelled by the one it lies under. ``None`` (unlabelled) when some image
    lies directly in ``folder`` or fewer than two sub-directories hold images."""
    tops = {f.relative_to(folder).parts[0] if len(f.relative_to(folder).parts) > 1 else None for f in files}
    if None in tops or len(tops) < 2:
        return None
    return sorted(tops)  # type: ignore[arg-type]


def folder_cache_dir() -> Path:
    """Decoded image folders are cached here, never inside the user's folder (which then stays as it was,
    e.g. for torchvision's ``ImageFolder``): ``$BENCH_CACHE_DIR/folders`` (default ``~/.cache/hybrid-bench``)."""
    base = os.environ.get("BENCH_CACHE_DIR") or Path.home() / ".cache" / "hybrid-bench"
    return Path(base).expanduser() / "folders"


class FolderError(MissingResourceError):
    """An image folder that cannot become a dataset (empty, unreadable file, mixed sizes)."""


def _read_folder(files: list[Path], folder: Path, size: int) -> np.ndarray:
    """Decode every file (one pixel size required, checked first), centre-crop and resize to ``size``."""
    first: tuple[Path, tuple[int, int]] | None = None
    for f in files:  # headers only: a bad file or a second size fails before any decoding
        try:
            with Image.open(f) as im:
                dims = im.size
        except (OSError, ValueError) as err:
            raise FolderError(f"cannot read image {f}: {err}") from None
        if first is None:
            first = (f, dims)
        elif dims != first[1]:
            raise FolderError(f"images in {folder} have different sizes: {f} is {dims[0]}x{dims[1]}, "
                              f"{first[0]} is {first[1][0]}x{first[1][1]} (give the folder one image size)")

    def decoded() -> Iterable[Image.Image]:
        for f in files:
            try:
                with Image.open(f) as im:
                    im.load()
                    yield im.convert("RGB")
            except (OSError, ValueError) as err:
                raise FolderError(f"cannot read image {f}: {err}") from None

    return _resize_stack(decoded(), size, None, len(files))


def image_folder(data_root: str | None = None, name: str = "folder", size: int = FOLDER_RESOLUTION,
                 test_fraction: float = 0.1, labelled: bool = True) -> Dataset:
    """A folder of images (``DATA_ROOT/<name>`` if it exists, else ``DATA_ROOT``): centre-cropped, resized to
    ``size``, a seeded train/test split (stratified by class when labelled), decoded once into
    :func:`folder_cache_dir` (keyed by the folder's path, file names and sizes).

    Class sub-directories become labels (torchvision's ``ImageFolder`` convention, :func:`folder_classes`) when
    ``labelled``, so the domain-classifier metrics apply. All images must have one size; an empty folder, an
    unreadable file or a second size is one line naming the folder or the file."""
    where = Path(data_root or default_root())
    folder = where / name if (where / name).is_dir() else where
    files = list_images(folder) if folder.is_dir() else []
    if not files:
        raise FolderError(f"dataset {name!r}: no images ({', '.join(IMAGE_EXTENSIONS)}) found in {folder}; "
                          f"point --data-root at a folder of images")
    classes = folder_classes(folder, files) if labelled else None
    listing = hashlib.sha1(str(folder.resolve()).encode())
    listing.update("\n".join(f"{f.relative_to(folder)}:{f.stat().st_size}" for f in files).encode())
    path = folder_cache_dir() / f"{name}_{size}_{len(files)}_{listing.hexdigest()[:16]}.npy"
    data = _cached(path, lambda: _read_folder(files, folder, size))
    if classes is not None:
        index = {c: i for i, c in enumerate(classes)}
        labels = torch.tensor([index[f.relative_to(folder).parts[0]] for f in files])
    g = torch.Generator().manual_seed(0)
    if classes is None:
        perm = torch.randperm(len(data), generator=g)
        n_test = max(1, int(len(data) * test_fraction))
        te, tr = perm[:n_test].sort().values, perm[n_test:].sort().values
    else:  # the same fraction of every class in test
        te_parts, tr_parts = [], []
        for c in range(len(classes)):
            idx = torch.nonzero(labels == c).flatten()
            idx = idx[torch.randperm(len(idx), generator=g)]
            k = max(1, int(len(idx) * test_fraction)) if len(idx) > 1 else 0
            te_parts.append(idx[:k])
            tr_parts.append(idx[k:])
        te, tr = torch.cat(te_parts).sort().values, torch.cat(tr_parts).sort().values
    what = f"{len(classes)} classes" if classes is not None else "unlabelled"
    spec = DataSpec(name if size == FOLDER_RESOLUTION else f"{name}@{size}", "image", (3, size, size),
                    None if classes is None else len(classes),
                    f"image folder {folder} at {size} px ({what})")
    train = Split(data[tr], None if classes is None else labels[tr])
    test = Split(data[te], None if classes is None else labels[te])
    return Dataset(spec, {"train": train, "test": test})


def ffhq(data_root: str | None = None, size: int = FOLDER_RESOLUTION) -> Dataset:
    """FFHQ as an image folder (``DATA_ROOT/ffhq``), 64 px by default. Unlabelled: FFHQ's numbered
    sub-folders (00000, 01000, …) are chunks of 1,000 images, not classes."""
    return image_folder(data_root, "ffhq", size, labelled=False)


def folder(data_root: str | None = None, size: int = FOLDER_RESOLUTION) -> Dataset:
    """Images under ``--data-root`` (class sub-directories → labels, as ``ImageFolder``), 64 px by default."""
    return image_folder(data_root, "folder", size)


def download(name: str, root: str, progress: bool = True) -> str:
    """Fetch ``name`` into ``root`` (:func:`bench.data.remote.download`); returns the line to print."""
    from bench.data import parse_sized, remote

    name = parse_sized(name)[0]  # fashion-mnist@32 is fashion-mnist's files
    if name in remote.BUILT_IN:
        return str(remote.no_download_reason(name, root))
    if remote.present(name, root):
        return f"{name} is already in {root}"
    remote.download(name, root, progress=progress)
    return f"{name} downloaded to {root}"
