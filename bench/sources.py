"""Turn a PATH given to ``bench evaluate`` into images (or a model to draw them from).

A PATH is one of:

* a **run directory** (has ``config.json`` and ``checkpoint.pt``): the model is rebuilt from the
  saved spec and resolved config (``bench.run.resolve``, then the recorded ``model_config``) and the
  checkpoint's weights; samples and reconstructions are drawn from it (BatchNorm in the recorded
  ``sample_mode``);
* an **image folder** (searched recursively for .png/.jpg/.jpeg/.bmp/.webp/.tif/.tiff/.gif): all
  images must have one size; grayscale ("L") stays one channel unless the folder also holds colour
  images, then everything is RGB; other modes (RGBA, palette, 16-bit…) are converted to RGB; class
  sub-directories are labels (torchvision's ``ImageFolder`` convention), which the domain metrics use;
* an **.npz** file with a uint8 ``images`` array (N, H, W, C) with C = 1 or 3, or (N, H, W) for
  grayscale;
* a **dataset name with a split**, ``cifar10:test`` (default split ``test``).

Images come back as uint8 (N, C, H, W). Grayscale sets meeting RGB ones are repeated to three
channels (what LPIPS' AlexNet, the Inception networks and MS-SSIM's per-channel mean expect):
see :func:`match_channels`. Every problem is a one-line :class:`bench.errors.BenchError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from bench.data.base import Dataset, DataSpec, Split
from bench.errors import BenchError, ConfigError, MissingResourceError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif")


class SourceError(BenchError, ValueError):
    """A PATH that cannot be read as images (empty folder, mixed sizes, NaN values, wrong dtype…)."""


@dataclass
class Source:
    """What a PATH turned into: images, or a dataset split, or a model from a run directory."""

    kind: str  # "folder", "npz", "dataset", "run"
    path: str
    images: Tensor | None = None  # uint8 (N, C, H, W) for folder / npz / dataset
    dataset: Dataset | None = None  # dataset sources and run directories
    split: str | None = None
    model: Any = None  # models.base.Model for run directories
    labels: Tensor | None = None  # class labels of a labelled image folder (ImageFolder convention)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        """(C, H, W) of the images this source yields."""
        if self.images is not None:
            return tuple(self.images.shape[1:])
        assert self.dataset is not None
        return tuple(self.dataset.spec.shape)


def read_folder(path: str | Path) -> Tensor:
    """All images under ``path`` (recursive, sorted) as uint8 (N, C, H, W); one size required."""
    return read_labelled_folder(path)[0]


def read_labelled_folder(path: str | Path) -> tuple[Tensor, Tensor | None, list[str] | None]:
    """Images under ``path`` (as :func:`read_folder`), with labels and class names when the folder follows
    torchvision's ``ImageFolder`` convention (images in two or more class sub-directories, none at the top:
    :func:`bench.data.real.folder_classes`), else ``(images, None, None)``."""
    from PIL import Image

    from bench.data.real import folder_classes

    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise SourceError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in folder {root}")
    arrays, first_size = [], None
    for f in files:
        try:
            with Image.open(f) as im:
                im.load()
                mode = "L" if im.mode in ("L", "1") else "RGB"
                arr = np.asarray(im.convert(mode))
        except (OSError, ValueError) as err:
            raise SourceError(f"cannot read image {f}: {err}") from None
        size = arr.shape[:2]
        if first_size is None:
            first_size, first_file = size, f
        elif size != first_size:
            raise SourceError(f"images in {root} have different sizes: {first_file} is "
                              f"{first_size[1]}x{first_size[0]}, {f} is {size[1]}x{size[0]} (resize them to one size)")
        arrays.append(arr)
    if any(a.ndim == 3 for a in arrays):  # some colour: everything RGB (grayscale repeated)
        arrays = [np.repeat(a[..., None], 3, axis=2) if a.ndim == 2 else a for a in arrays]
    else:
        arrays = [a[..., None] for a in arrays]
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    classes = folder_classes(root, files)
    if classes is None:
        return images, None, None
    index = {c: i for i, c in enumerate(classes)}
    return images, torch.tensor([index[f.relative_to(root).parts[0]] for f in files]), classes


def read_npz(path: str | Path) -> Tensor:
    """The uint8 ``images`` array (N, H, W, C) or (N, H, W) of an .npz as uint8 (N, C, H, W)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            files = list(z.files)
            a = z["images"] if "images" in files else None
    except (OSError, ValueError) as err:
        raise SourceError(f"cannot read {path} as .npz: {err}") from None
    if a is None:
        raise SourceError(f"{path} has no 'images' array (found: {', '.join(files) or 'nothing'})")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise SourceError(f"{path}: 'images' contains NaN or infinite values")
    if a.dtype != np.uint8:
        raise SourceError(f"{path}: 'images' must be uint8 (N, H, W, C), got {a.dtype}")
    if a.ndim == 3:
        a = a[..., None]
    if a.ndim != 4 or a.shape[-1] not in (1, 3) or a.shape[0] == 0:
        raise SourceError(f"{path}: 'images' must have shape (N, H, W, C) with N > 0 and C = 1 or 3, got {a.shape}")
    return torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).contiguous()


def load_run(run_dir: str | Path, data_root: str | None = None, device: str = "cpu") -> tuple[Any, Dataset, dict]:
    """Rebuild a run's model from ``config.json`` + ``checkpoint.pt``; returns (model, dataset, config)."""
    import dataclasses

    from bench import config as cfgmod
    from bench.data import load as load_dataset
    from bench.run import RunSpec, resolve

    run_dir = Path(run_dir)
    try:
        cfg = json.loads((run_dir / "config.json").read_text())
        known = {f.name for f in dataclasses.fields(RunSpec)}
        spec = RunSpec(**{k: v for k, v in cfg["spec"].items() if k in known})
    except (ValueError, KeyError, TypeError) as err:
        raise SourceError(f"{run_dir}/config.json is not a run configuration: {type(err).__name__}: {err}") from None
    dataset = load_dataset(spec.dataset, data_root or spec.data_root)
    cls, mcfg = resolve(spec, dataset)
    if cfg.get("model_config"):
        mcfg = cfgmod.override(mcfg, {k: v for k, v in cfg["model_config"].items()}, source=f"{run_dir}/config.json")
    torch.manual_seed(spec.seed)
    model = cls(mcfg, dataset.spec).to(device)
    state = torch.load(run_dir / "checkpoint.pt", map_location=device, weights_only=False)
    model.load_state_dict(state["model"])
    model.train(mcfg.sample_mode == "train")
    return model, dataset, {**cfg, "checkpoint_step": state.get("step")}


def load_source(path: str, *, data_root: str | None = None, device: str = "cpu") -> Source:
    """Read PATH (run directory, image folder, .npz, or ``dataset[:split]``) into a :class:`Source`."""
    from bench.registries import datasets

    p = Path(path).expanduser()
    if p.is_dir():
        if (p / "config.json").is_file() and (p / "checkpoint.pt").is_file():
            model, dataset, cfg = load_run(p, data_root, device)
            return Source("run", path, dataset=dataset, split="test", model=model,
                          info={"run_id": cfg.get("run_id"), "step": cfg.get("checkpoint_step")})
        images, labels, classes = read_labelled_folder(p)
        return Source("folder", path, images=images, labels=labels, info={"classes": classes} if classes else {})
    if p.is_file():
        if p.suffix.lower() != ".npz":
            raise SourceError(f"{path}: expected an image folder, an .npz file, a run directory or dataset:split")
        return Source("npz", path, images=read_npz(p))
    name, _, split = path.partition(":")
    if name in datasets():
        from bench.data import load as load_dataset

        dataset = load_dataset(name, data_root)
        split = split or "test"
        try:
            images = dataset.split(split).uint8()
        except KeyError:
            raise ConfigError(f"dataset {name} has no split {split!r}; splits: train, val, "
                              f"{', '.join(s for s in dataset.splits if s not in ('train', 'val'))}") from None
        except TypeError:
            raise ConfigError(f"dataset {name} holds 2-D points, not images") from None
        return Source("dataset", path, images=images, dataset=dataset, split=split)
    raise MissingResourceError(f"no such file, folder, run directory or dataset: {path}")


def match_channels(images: Tensor, channels: int) -> Tensor:
    """Grayscale → RGB by repeating the channel (the input the libraries' ImageNet networks expect)."""
    if images.shape[1] == channels:
        return images
    if images.shape[1] == 1 and channels == 3:
        return images.expand(-1, 3, -1, -1).contiguous()
    raise SourceError(f"cannot turn {images.shape[1]}-channel images into {channels} channels")


def rgb_dataset(dataset: Dataset) -> Dataset:
    """A grayscale dataset with every split repeated to three channels (labels kept); name gets ``-rgb``."""
    s = dataset.spec
    spec = DataSpec(f"{s.name}-rgb", s.kind, (3, *s.shape[1:]), s.n_classes, s.description + " (gray repeated to RGB)")
    splits = {k: Split(match_channels(v.data, 3), v.labels, v.kind) for k, v in dataset.splits.items()}
    return Dataset(spec, splits)


def images_dataset(images: Tensor, name: str = "custom", labels: Tensor | None = None) -> Dataset:
    """A :class:`Dataset` around a bare image set, with its class labels if it has them: the set is every
    split (``val`` is the suite's seeded slice of it)."""
    n_classes = None if labels is None else int(labels.max()) + 1
    spec = DataSpec(name, "image", tuple(images.shape[1:]), n_classes,
                    f"images from {name}" + ("" if labels is None else f" ({n_classes} classes)"))
    whole = Split(images, labels)
    return Dataset(spec, {"train": whole, "test": whole})
