"""The weights directory: every pretrained file a metric needs, under its upstream file name.

One directory (``--weights-dir``, else ``$BENCH_WEIGHTS_DIR``, else ``$XDG_CACHE_HOME/hybrid-bench/weights``,
``~/.cache/hybrid-bench/weights`` by default) holds every file of :data:`TABLE`, named exactly as upstream
publishes it, so a login node with internet fills it once (``python -m bench weights`` / ``make weights``) and
offline GPU jobs read it. Nothing here or in :mod:`metrics.features` ever lets a library reach the network: a
missing file is :func:`ensure` raising :class:`bench.errors.MissingResourceError` with the one line
``missing weights file X in DIR; fetch with: python -m bench weights --weights-dir DIR`` and metrics report it
as ``name.unavailable``.

Which library loads each file is recorded in :data:`TABLE` (``loader``): torch-fidelity (its
``inception-v3-compat`` TF-2015 port), clean-fid (the NVIDIA TorchScript of the same TF graph), torchvision
(Inception-v3 2016 and ResNet-50 ImageNet weights; AlexNet for LPIPS) and torch.hub (DINOv2's code + weights).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError, MissingResourceError

ENV_VAR = "BENCH_WEIGHTS_DIR"
FETCH_COMMAND = "python -m bench weights"


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
    """Where ``name``'s upstream file lives (whether or not it is there)."""
    return resolve_dir(weights_dir) / entry(name).file


def missing_message(name: str, weights_dir: str | os.PathLike[str] | None = None) -> str:
    """The one-line reason used everywhere a file is missing."""
    d = resolve_dir(weights_dir)
    return f"missing weights file {entry(name).file} in {d}; fetch with: {FETCH_COMMAND} --weights-dir {d}"


def ensure(name: str, weights_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of ``name``'s file; :class:`MissingResourceError` (one line naming the file and the
    fetch command) if it is not on disk. Never downloads."""
    p = path(name, weights_dir)
    if not p.exists():
        raise MissingResourceError(missing_message(name, weights_dir))
    return p


def status(weights_dir: str | os.PathLike[str] | None = None) -> dict[str, bool]:
    """``{name: present}`` for every row of :data:`TABLE`."""
    return {name: path(name, weights_dir).exists() for name in TABLE}


def download(names: list[str] | None = None, weights_dir: str | os.PathLike[str] | None = None,
             progress: bool = True) -> list[Path]:
    """Fetch every missing file of ``names`` (default: all) into the weights directory (needs internet).

    Files go through torch.hub's ``download_url_to_file`` (temporary file, SHA-256 prefix check where the
    upstream name carries one, then rename); archives are extracted beside and renamed into place, so an
    interrupted download never leaves a file that :func:`ensure` would accept. Returns the paths fetched.
    """
    from torch.hub import download_url_to_file

    d = resolve_dir(weights_dir)
    d.mkdir(parents=True, exist_ok=True)
    fetched = []
    for name in names or list(TABLE):
        w = entry(name)
        dst = d / w.file
        if dst.exists():
            continue
        try:
            if w.archive:
                with tempfile.TemporaryDirectory(dir=d, prefix=f".{w.file}.") as tmp:
                    zpath = Path(tmp) / "archive.zip"
                    download_url_to_file(w.url, str(zpath), hash_prefix=w.sha256_prefix, progress=progress)
                    with zipfile.ZipFile(zpath) as zf:
                        zf.extractall(Path(tmp) / "x")
                    tops = list((Path(tmp) / "x").iterdir())
                    src = tops[0] if len(tops) == 1 and tops[0].is_dir() else Path(tmp) / "x"
                    os.replace(src, dst)
            else:
                download_url_to_file(w.url, str(dst), hash_prefix=w.sha256_prefix, progress=progress)
        except (OSError, RuntimeError, zipfile.BadZipFile) as err:  # URLError is an OSError; hash mismatch RuntimeError
            if dst.exists() and w.archive:
                shutil.rmtree(dst, ignore_errors=True)
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise BenchError(f"could not fetch {w.file} from {w.url}: {reason}") from err
        fetched.append(dst)
    return fetched
