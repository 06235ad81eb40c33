"""Where each real dataset comes from upstream, and its download into the data root.

The URLs, file names and MD5 sums are read from torchvision's own dataset classes (``CIFAR10.url`` /
``tgz_md5``, ``MNIST.mirrors`` / ``resources``, ``SVHN.split_list``, ``CelebA.file_list``), so they are the
ones torchvision verifies. Each file is fetched by :func:`bench.data.download.fetch` (temporary file,
MD5, rename) into a hidden temporary folder inside the data root, unpacked there (tar, zip or gzip, as
torchvision would), and only the finished result (``cifar-10-batches-py``, ``MNIST/raw/…``,
``train_32x32.mat``, ``celeba/img_align_celeba``…) is renamed into the layout torchvision's loaders read.
A failure removes the temporary folder and any directory the download created, so nothing is left that
a later run could take for the dataset. CelebA lives on Google Drive and is fetched with ``gdown`` (what
torchvision's ``CelebA(download=True)`` uses).
"""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bench.data.download import DownloadError, effective_url, fetch, file_digest, offline, timeout_s
from bench.errors import BenchError, MissingResourceError

BUILT_IN = ("digits", "shapes", "ring8", "grid25", "avae-toy")
GDRIVE_URL = "https://drive.google.com/uc?id={}"


@dataclass(frozen=True)
class RemoteFile:
    """One upstream file and what it becomes under the data root."""

    urls: tuple[str, ...]  # mirrors, tried in order
    file: str  # the upstream file name
    md5: str | None
    result: str  # what ends up at DATA_ROOT/<into>/<result> (a folder for archives)
    into: str = ""
    unpack: Literal["none", "tar", "zip", "gunzip"] = "none"
    gdrive: bool = False  # a Google Drive file (fetched with gdown)

    def target(self, root: Path) -> Path:
        return root / self.into / self.result


def _cifar(cls_name: str) -> tuple[RemoteFile, ...]:
    import torchvision.datasets as tvd

    cls = getattr(tvd, cls_name)
    return (RemoteFile((cls.url,), cls.filename, cls.tgz_md5, cls.base_folder, unpack="tar"),)


def _mnist(cls_name: str = "MNIST") -> tuple[RemoteFile, ...]:
    """MNIST's (or FashionMNIST's: same IDX files, ``FashionMNIST/raw``) gzipped files, gunzipped as torchvision does."""
    import torchvision.datasets as tvd

    cls = getattr(tvd, cls_name)
    return tuple(RemoteFile(tuple(m + f for m in cls.mirrors), f, md5, f.removesuffix(".gz"), f"{cls_name}/raw", "gunzip")
                 for f, md5 in cls.resources)


def _svhn() -> tuple[RemoteFile, ...]:
    from torchvision.datasets import SVHN

    return tuple(RemoteFile((url,), f, md5, f) for key, (url, f, md5) in SVHN.split_list.items() if key != "extra")


def _celeba() -> tuple[RemoteFile, ...]:
    from torchvision.datasets import CelebA

    return tuple(RemoteFile((GDRIVE_URL.format(fid),), f, md5, f.removesuffix(".zip"), "celeba",
                            "zip" if f.endswith(".zip") else "none", gdrive=True)
                 for fid, md5, f in CelebA.file_list)


SOURCES = {"cifar10": lambda: _cifar("CIFAR10"), "cifar100": lambda: _cifar("CIFAR100"), "mnist": _mnist,
           "colormnist": _mnist, "fashion-mnist": lambda: _mnist("FashionMNIST"), "svhn": _svhn, "celeba": _celeba,
           "celeba96": _celeba}
# Another way to get a dataset offline, said in the one-line error of a failed download.
INSTALL_HINT = {"fashion-mnist": "install it with: apt-get install dataset-fashion-mnist (Debian/Ubuntu), or "}

MANUAL = {
    "lsun-bedroom": "LSUN has no automatic download here: fetch bedroom_train_lmdb and bedroom_val_lmdb with the "
                    "official script (github.com/fyu/lsun) into {root}",
    "ffhq": "FFHQ has no automatic download here: copy its images into {root}/ffhq (github.com/NVlabs/ffhq-dataset)",
    "folder": "'folder' is your own images: copy them into {root} (class sub-folders become labels)",
}


def files(name: str) -> tuple[RemoteFile, ...]:
    """The upstream files of dataset ``name`` (empty for built-in or hand-copied datasets)."""
    return SOURCES[name]() if name in SOURCES else ()


def fetch_command(name: str, root: str | os.PathLike[str]) -> str:
    return f"python -m bench data download {name} --data-root {root}"


def no_download_reason(name: str, root: str | os.PathLike[str]) -> str | None:
    """Why ``name`` cannot be downloaded (built in, or copied by hand), or ``None`` if it can."""
    if name in BUILT_IN:
        return f"{name!r} is built into the suite (generated offline): it needs no download"
    if name in MANUAL:
        return MANUAL[name].format(root=root)
    if name not in SOURCES:
        return f"no automatic download for dataset {name!r}"
    return None


def present(name: str, root: str | os.PathLike[str]) -> bool:
    """Every upstream file of ``name`` is unpacked in place under ``root``."""
    fs = files(name)
    return bool(fs) and all(f.target(Path(root)).exists() for f in fs)


def _gdown(url: str, dst: Path, md5: str | None, progress: bool, fix: str, shown_url: str) -> None:
    try:
        import gdown
    except ModuleNotFoundError:
        raise BenchError(f"downloading {dst.name} from Google Drive needs gdown (pip install gdown; it is in "
                         f"the suite's dependencies): {fix}") from None
    try:
        gdown.download(url=url, output=str(dst), quiet=not progress, timeout=timeout_s())
    except Exception as err:  # noqa: BLE001 - gdown raises requests', its own and OS errors: all mean "not fetched"
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise DownloadError(f"could not download {dst.name} from {shown_url}: {reason}; {fix}") from None
    if md5 is not None and (digest := file_digest(dst, "md5")) != md5:
        raise DownloadError(f"could not download {dst.name} from {shown_url}: MD5 {digest} does not match the "
                            f"expected {md5}; {fix}")


def _fetch_one(f: RemoteFile, dst: Path, progress: bool, fix: str) -> None:
    errors: list[DownloadError] = []
    for url in f.urls:
        try:
            if f.gdrive:
                _gdown(effective_url(url), dst, f.md5, progress, fix, url)
            else:
                fetch(url, dst, md5=f.md5, progress=progress, fix=fix)
            return
        except DownloadError as err:
            errors.append(err)
    raise errors[0]


def _unpack(f: RemoteFile, archive: Path, work: Path) -> Path:
    """Unpack ``archive`` inside ``work``; returns the path of the finished result there."""
    out = work / "unpacked"
    out.mkdir()
    try:
        if f.unpack == "none":
            return archive
        if f.unpack == "gunzip":
            with gzip.open(archive, "rb") as src, open(out / f.result, "wb") as dst:
                shutil.copyfileobj(src, dst)
        elif f.unpack == "tar":
            with tarfile.open(archive) as tar:
                tar.extractall(out, filter="data")
        else:
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(out)
    except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile) as err:
        raise DownloadError(f"could not unpack {f.file}: {type(err).__name__}: {err}") from None
    result = out / f.result
    if not result.exists():
        raise DownloadError(f"{f.file} does not contain {f.result}")
    return result


def _created_dirs(path: Path) -> list[Path]:
    """The directories that ``path.mkdir(parents=True)`` would create, deepest first."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    return missing


def download(name: str, root: str | os.PathLike[str], progress: bool = True) -> list[Path]:
    """Fetch every missing upstream file of ``name`` into ``root``; returns the paths put in place.

    One-line :class:`BenchError` for a built-in or hand-copied dataset, offline mode, or any failed
    download (the URL and the command that fetches it elsewhere). Nothing is left behind on failure."""
    root = Path(root).expanduser()
    why = no_download_reason(name, root)
    if why is not None:
        raise BenchError(why)
    hint = INSTALL_HINT.get(name, "")
    fix = f"{hint}on a machine with internet run: {fetch_command(name, root)}, then run here with --offline"
    if offline():
        raise MissingResourceError(f"dataset {name!r} not found in {root} and the network is off "
                                   f"(--offline / BENCH_OFFLINE=1); {hint}fetch it with: {fetch_command(name, root)}")
    todo = [f for f in files(name) if not f.target(root).exists()]
    created = _created_dirs(root)
    done: list[Path] = []
    try:
        root.mkdir(parents=True, exist_ok=True)
        for f in todo:
            with tempfile.TemporaryDirectory(dir=root, prefix=f".download-{f.file}.") as tmp:
                archive = Path(tmp) / f.file
                _fetch_one(f, archive, progress, fix)
                try:
                    result = _unpack(f, archive, Path(tmp))
                except DownloadError as err:
                    raise DownloadError(f"{err} (from {f.urls[0]}); {fix}") from None
                target = f.target(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(result, target)
                done.append(target)
    except BaseException:
        for d in created:  # only directories this download made, and only if it left them empty
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()
        raise
    return done
