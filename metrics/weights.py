"""The weights directory: every pretrained file a metric needs, under its upstream file name.

One directory (``--weights-dir``, else ``$BENCH_WEIGHTS_DIR``, else ``$XDG_CACHE_HOME/hybrid-bench/weights``,
``~/.cache/hybrid-bench/weights`` by default) holds every file of :data:`TABLE`, named exactly as upstream
publishes it. A file is looked for there first, then in the cache of the library that would have fetched
it (:func:`candidates`: torch.hub's ``checkpoints/`` folder, where torchvision, torch-fidelity and lpips put
their weights, torch.hub's repository folder for DINOv2's code, and clean-fid's ``/tmp``), so a machine
that already ran those libraries needs no second copy. A file found nowhere is downloaded on first use
into the weights directory (:func:`ensure`, through :func:`bench.data.download.fetch`: temporary file,
SHA-256 prefix where upstream publishes one, size, rename). With ``--offline`` / ``BENCH_OFFLINE=1``
nothing reaches the network: :func:`ensure` raises :class:`bench.errors.MissingResourceError` with the one
line ``missing weights file X in DIR; fetch with: python -m bench weights --weights-dir DIR`` and metrics
report it as ``name.unavailable``; a failed download is one line too (the URL and that command).

Which library loads each file is recorded in :data:`TABLE` (``loader``): torch-fidelity (its
``inception-v3-compat`` TF-2015 port), clean-fid (the NVIDIA TorchScript of the same TF graph), torchvision
(Inception-v3 2016 and ResNet-50 ImageNet weights; AlexNet for LPIPS) and torch.hub (DINOv2's code + weights).
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bench.data.download import DownloadError, fetch, offline
from bench.errors import BenchError, MissingResourceError

ENV_VAR = "BENCH_WEIGHTS_DIR"
FETCH_COMMAND = "python -m bench weights"
CLEAN_FID_CACHE = Path("/tmp")  # clean-fid 0.1.35 fetches its Inception TorchScript into /tmp (features.py)


@dataclass(frozen=True)
class WeightsFile:
    """One upstream file: where it comes from and who reads it."""

    name: str  # the suite's key
    file: str  # upstream file name (a directory for ``archive`` entries)
    url: str
    loader: str  # the library that loads it
    used_by: tuple[str, ...]  # metrics that need it
    sha256_prefix: str | None = None  # torch.hub naming convention "<name>-<sha256 prefix>.pth"
    archive: bool = False  # a zip whose single top folder is extracted to ``file``


# SHA-256 prefixes only where upstream publishes them through torch.hub's naming convention (torchvision).
# torch-fidelity's "-6726825d" suffix repeats pytorch-fid's file name (pt_inception-2015-12-05-6726825d.pth)
# and is not documented as a hash of torch-fidelity's own conversion, so it is not checked.
TABLE: dict[str, WeightsFile] = {w.name: w for w in (
    WeightsFile("inception-v3-compat", "weights-inception-2015-12-05-6726825d.pth",
                "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
                "torch-fidelity FeatureExtractorInceptionV3 (TF 2015-12-05 Inception port)",
                ("fid", "fid_64", "fid_192", "fid_768", "is", "kid", "precision", "recall")),
    WeightsFile("clean-fid-inception", "inception-2015-12-05.pt",
                "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt",
                "clean-fid InceptionV3W (NVIDIA TorchScript of the TF 2015-12-05 graph)", ("fid_clean",)),
    WeightsFile("inception-v3-tv", "inception_v3_google-0cc3c7bd.pth",
                "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth",
                "torchvision inception_v3 IMAGENET1K_V1 (port of the 2016-08-28 TF checkpoint)", ("fid_tv16",),
                sha256_prefix="0cc3c7bd"),
    WeightsFile("resnet50", "resnet50-0676ba61.pth", "https://download.pytorch.org/models/resnet50-0676ba61.pth",
                "torchvision resnet50 IMAGENET1K_V1", ("frd",), sha256_prefix="0676ba61"),
    WeightsFile("dinov2-vitl14", "dinov2_vitl14_pretrain.pth",
                "https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/dinov2_vitl14_pretrain.pth",
                "torch.hub facebookresearch/dinov2 (dinov2_vitl14), through torch-fidelity's DINOv2 preprocessing",
                ("fd_dinov2",)),
    WeightsFile("dinov2-repo", "facebookresearch_dinov2_main", "https://github.com/facebookresearch/dinov2/zipball/main",
                "torch.hub (source='local'): the model code DINOv2's weights need", ("fd_dinov2",), archive=True),
    WeightsFile("alexnet", "alexnet-owt-7be5be79.pth", "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
                "torchvision alexnet IMAGENET1K_V1 (the LPIPS v0.1 trunk; lpips ships its own linear layers)",
                ("lpips",), sha256_prefix="7be5be79"),
    WeightsFile("vgg16", "vgg16-397923af.pth", "https://download.pytorch.org/models/vgg16-397923af.pth",
                "torchvision vgg16 IMAGENET1K_V1 (torch-fidelity's FeatureExtractorVGG16, its default for precision/recall)",
                ("precision_vgg16", "recall_vgg16"), sha256_prefix="397923af"),
)}


def default_dir() -> Path:
    """``$XDG_CACHE_HOME/hybrid-bench/weights`` (``~/.cache/hybrid-bench/weights``)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "hybrid-bench" / "weights"


def resolve_dir(weights_dir: str | os.PathLike[str] | None = None) -> Path:
    """The weights directory: the argument, else ``$BENCH_WEIGHTS_DIR``, else :func:`default_dir`."""
    if weights_dir:
        return Path(weights_dir).expanduser()
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else default_dir()


def entry(name: str) -> WeightsFile:
    """The table row for ``name`` (a one-line BenchError listing the known names otherwise)."""
    if name not in TABLE:
        raise BenchError(f"unknown weights {name!r}; known: {', '.join(TABLE)}")
    return TABLE[name]


def path(name: str, weights_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where ``name``'s upstream file lives in the weights directory (whether or not it is there)."""
    return resolve_dir(weights_dir) / entry(name).file


def library_caches(name: str) -> list[Path]:
    """Where the libraries themselves would have cached ``name``: torch.hub's ``checkpoints/`` (torchvision,
    torch-fidelity's ``load_state_dict_from_url`` and lpips all fetch there), torch.hub's repository folder
    (``owner_repo_ref``) for code archives, and clean-fid's ``/tmp`` for its TorchScript Inception."""
    import torch.hub

    w = entry(name)
    hub = Path(torch.hub.get_dir())
    if w.archive:
        return [hub / w.file]
    out = [hub / "checkpoints" / w.file]
    if w.loader.startswith("clean-fid"):
        out.append(CLEAN_FID_CACHE / w.file)
    return out


def candidates(name: str, weights_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Every place ``name`` is looked for, in order: the weights directory, then the libraries' caches."""
    return [path(name, weights_dir), *library_caches(name)]


def find(name: str, weights_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The first of :func:`candidates` that exists (a non-empty file, or a folder for archives)."""
    for p in candidates(name, weights_dir):
        if (p.is_dir() if entry(name).archive else (p.is_file() and p.stat().st_size > 0)):
            return p
    return None


def missing_message(name: str, weights_dir: str | os.PathLike[str] | None = None) -> str:
    """The one-line reason used everywhere a file is missing."""
    d = resolve_dir(weights_dir)
    return f"missing weights file {entry(name).file} in {d}; fetch with: {FETCH_COMMAND} --weights-dir {d}"


def ensure(name: str, weights_dir: str | os.PathLike[str] | None = None, progress: bool = True) -> Path:
    """Path of ``name``'s file (:func:`find`); downloaded into the weights directory first if it is
    nowhere. Offline (``BENCH_OFFLINE``): :class:`MissingResourceError`, one line naming the file and
    the fetch command; a failed download: :class:`bench.data.download.DownloadError`, one line."""
    found = find(name, weights_dir)
    if found is not None:
        return found
    if offline():
        raise MissingResourceError(missing_message(name, weights_dir))
    download([name], weights_dir, progress=progress)
    return path(name, weights_dir)


def status(weights_dir: str | os.PathLike[str] | None = None) -> dict[str, bool]:
    """``{name: present}`` for every row of :data:`TABLE` (weights directory or a library cache)."""
    return {name: find(name, weights_dir) is not None for name in TABLE}


def download(names: list[str] | None = None, weights_dir: str | os.PathLike[str] | None = None,
             progress: bool = True) -> list[Path]:
    """Fetch every file of ``names`` (default: all) that is nowhere on disk into the weights directory.

    Files go through :func:`bench.data.download.fetch` (temporary file, size and SHA-256 prefix check where
    the upstream name carries one, then rename); archives are downloaded and extracted in a temporary folder
    and renamed into place, so an interrupted download never leaves a file that :func:`find` would accept.
    Returns the paths fetched. Offline, or on any failure: one-line :class:`BenchError`."""
    d = resolve_dir(weights_dir)
    fix = f"on a machine with internet run: {FETCH_COMMAND} --weights-dir {d}, then run here with --offline"
    todo = [entry(n) for n in (names or list(TABLE)) if find(n, weights_dir) is None]
    if todo and offline():
        raise MissingResourceError(f"cannot fetch {', '.join(w.file for w in todo)}: the network is off "
                                   f"(--offline / BENCH_OFFLINE=1); {FETCH_COMMAND} needs internet")
    fetched = []
    for w in todo:
        dst = d / w.file
        d.mkdir(parents=True, exist_ok=True)
        if w.archive:
            with tempfile.TemporaryDirectory(dir=d, prefix=f".{w.file}.") as tmp:
                zpath = _fetch(w, Path(tmp) / "archive.zip", progress, fix)
                try:
                    with zipfile.ZipFile(zpath) as zf:
                        zf.extractall(Path(tmp) / "x")
                except (OSError, zipfile.BadZipFile) as err:
                    raise DownloadError(f"could not unpack {w.file} from {w.url}: {err}; {fix}") from None
                tops = list((Path(tmp) / "x").iterdir())
                src = tops[0] if len(tops) == 1 and tops[0].is_dir() else Path(tmp) / "x"
                os.replace(src, dst)
        else:
            _fetch(w, dst, progress, fix)
        fetched.append(dst)
    return fetched


def _fetch(w: WeightsFile, dst: Path, progress: bool, fix: str) -> Path:
    """One file through the shared downloader (``file://`` URLs, e.g. a mirror on a shared disk, work too)."""
    return fetch(w.url, dst, sha256_prefix=w.sha256_prefix, progress=progress, fix=fix)
