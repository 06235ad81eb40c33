"""Feature-extraction layer: every extractor runs **once** per image set, and real-data reference
statistics are cached on disk.

The networks are torch-fidelity feature extractors (its registry: its own ``inception-v3-compat`` plus the
suite's classes in :mod:`metrics.extractors`); weights come only from the weights directory
(:mod:`metrics.weights`). All metrics of one extractor share one forward pass over an image set: the pass
computes every layer the extractor offers (Inception: 64, 192, 768, 2048 and unbiased logits) and the result
lives in ``EvalContext.cache`` for the other metrics of the battery.

API (all a metric needs):

- ``EXTRACTORS[name]`` — :class:`Extractor`: torch-fidelity registry name, weights rows, layers.
- ``images(ctx, source, n)`` — uint8 (N, 3, H, W) of an image set; ``source`` is ``"samples"``,
  ``"real_train"``, ``"real_val"``, ``"real_test"``, ``"recon_test"`` or ``"recon_val"``. Grayscale
  (1-channel) images are repeated to 3 channels, which is what torch-fidelity's and clean-fid's loaders
  do (PIL ``convert('RGB')`` of an ``L`` image).
- ``features(ctx, extractor, source, n)`` → ``{layer: float32 (N, d)}``, one pass, cached in ``ctx.cache``.
- ``reference(ctx, extractor, split, n)`` → :class:`Reference` (``mu``/``sigma`` per layer in float64, raw
  features for the layers in ``Extractor.keep_features``) of the first ``n`` images of ``split`` (the fixed
  seeded subset of ``ctx.real``), read from / written to the on-disk cache (:func:`stats_dir`).
- ``unavailable_reason(ctx, extractor)`` → ``None`` or the one-line missing-weights reason.
- ``PASSES`` — a Counter of images passed through each extractor in this process (for tests and logs).

Missing weights raise :class:`bench.errors.MissingResourceError` (one line); metrics turn it into
``MetricUnavailable``.

On-disk reference cache: one file per (dataset, split, extractor, layer, sample count, resize mode) under
``stats_dir()`` (``$BENCH_STATS_DIR``, default ``$XDG_CACHE_HOME/hybrid-bench/ref-stats``); the file name
carries a digest of the full key, which also holds the library versions (torch, torchvision, torch-fidelity,
clean-fid), the weights file's identity (name, size, mtime) and a SHA-1 of the real images' bytes, and the
file repeats the key so a stale or foreign file is recomputed instead of trusted. Writes are atomic
(:mod:`bench.atomic`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from bench.atomic import write_with
from bench.config import check_precision
from bench.errors import MissingResourceError
from metrics import weights as W
from metrics.base import EvalContext
from metrics.extractors import register
from metrics.frechet import moments

register()

ENV_STATS = "BENCH_STATS_DIR"
EXTRACT_BATCH = 64  # images per forward pass (torch-fidelity's default batch size)
PASSES: Counter[str] = Counter()


@dataclass(frozen=True)
class Extractor:
    """A feature network: its torch-fidelity registry name, weights rows, layers and resize mode."""

    name: str
    weights: tuple[str, ...]
    layers: tuple[str, ...]  # everything computed in the one pass
    resize: str  # recorded in the reference-cache key
    keep_features: tuple[str, ...] = ()  # reference layers whose raw features are cached (KID, PR)

    @property
    def reference_layers(self) -> tuple[str, ...]:
        """Layers whose real-data statistics are cached (logits are only used on samples, by IS)."""
        return tuple(layer for layer in self.layers if not layer.startswith("logits"))


EXTRACTORS: dict[str, Extractor] = {e.name: e for e in (
    Extractor("inception-v3-compat", ("inception-v3-compat",), ("64", "192", "768", "2048", "logits_unbiased"),
              "tf1-bilinear-299", keep_features=("2048",)),
    # "-tfpool": TF 'SAME' average pools since issue 16 (keys the cached statistics apart from the old pooling)
    Extractor("inception-v3-tv", ("inception-v3-tv",), ("2048",), "tf1-bilinear-299-tfpool"),
    Extractor("resnet50-tv", ("resnet50",), ("2048",), "tf1-bilinear-224"),
    Extractor("clean-fid-inception", ("clean-fid-inception",), ("2048",), "clean-pil-bicubic-299"),
    Extractor("dinov2-vit-l-14-local", ("dinov2-vitl14", "dinov2-repo"), ("dinov2",), "tf1-bilinear-224"),
    # torch-fidelity's own VGG-16 extractor (its default network for precision/recall), fc2 after ReLU (4096-d)
    Extractor("vgg16", ("vgg16",), ("fc2_relu",), "tf1-bilinear-224", keep_features=("fc2_relu",)),
)}

# torch-fidelity's default network for ``prc``: torchvision's VGG-16 ImageNet weights, the row the weights
# table (metrics/weights.py: TABLE) needs for precision_vgg16 / recall_vgg16. Until TABLE lists it, those two
# metrics are "unavailable" with a one-line reason (:func:`_weight_paths`).
VGG16_WEIGHTS = W.WeightsFile(
    "vgg16", "vgg16-397923af.pth", "https://download.pytorch.org/models/vgg16-397923af.pth",
    "torchvision vgg16 IMAGENET1K_V1 (torch-fidelity's FeatureExtractorVGG16, its default for precision/recall)",
    ("precision_vgg16", "recall_vgg16"), sha256_prefix="397923af")

_LOADED: dict[tuple[Any, ...], nn.Module] = {}


def stats_dir() -> Path:
    """Where reference statistics are cached: ``$BENCH_STATS_DIR`` or ``~/.cache/hybrid-bench/ref-stats``."""
    env = os.environ.get(ENV_STATS)
    if env:
        return Path(env).expanduser()
    return W.default_dir().parent / "ref-stats"


def to_rgb(x: Tensor) -> Tensor:
    """uint8 (N, C, H, W) with C in {1, 3} → (N, 3, H, W); grayscale is repeated as PIL's convert('RGB') does."""
    if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected uint8 (N, 1|3, H, W) images, got {tuple(x.shape)} {x.dtype}")
    return x.expand(-1, 3, -1, -1).contiguous() if x.shape[1] == 1 else x


def images(ctx: EvalContext, source: str, n: int) -> Tensor:
    """The image set ``source`` (see the module docstring) as uint8 (N, 3, H, W), N ≤ n."""
    if source == "samples":
        x = ctx.samples(n)
    elif source.startswith("real_"):
        x = ctx.real(source, n)
    elif source.startswith("recon_"):
        x = ctx.reconstructions(n, source.removeprefix("recon_"))[1]
    else:
        raise ValueError(f"unknown image set {source!r}")
    return to_rgb(x)


def _weight_paths(ctx: EvalContext, spec: Extractor) -> list[Path]:
    absent = [w for w in spec.weights if w not in W.TABLE]
    if absent:
        raise MissingResourceError(f"no weights row {absent[0]!r} in metrics/weights.py TABLE (needed by {spec.name})")
    return [W.ensure(w, ctx.weights_dir) for w in spec.weights]


def unavailable_reason(ctx: EvalContext, extractor: str) -> str | None:
    """``None`` if the extractor's weights are all on disk, else the one-line missing-file reason."""
    try:
        _weight_paths(ctx, EXTRACTORS[extractor])
    except MissingResourceError as err:
        return str(err)
    return None


def load_extractor(ctx: EvalContext, extractor: str) -> nn.Module:
    """The torch-fidelity feature-extractor module (kept loaded for the process), on ``ctx.device``."""
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    spec = EXTRACTORS[extractor]
    paths = _weight_paths(ctx, spec)
    key = (extractor, tuple((str(p), p.stat().st_mtime_ns) for p in paths), str(ctx.device))
    if key not in _LOADED:
        kwargs: dict[str, Any] = {"feature_extractor_weights_path": str(paths[0]), "verbose": False}
        if len(paths) > 1:
            kwargs["repo_dir"] = str(paths[1])
        cls = FEATURE_EXTRACTORS_REGISTRY[spec.name]
        _LOADED[key] = cls(spec.name, list(spec.layers), **kwargs).to(ctx.device).eval()
    return _LOADED[key]


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[Any]:
    """``torch.autocast(bfloat16)`` for ``precision == "bf16"``, else nothing (fp32, the libraries' precision)."""
    check_precision(precision, "extractor precision")
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()


def extract(module: nn.Module, x: Tensor, device: torch.device, counter_name: str,
            precision: str = "fp32") -> dict[str, Tensor]:
    """One forward pass over uint8 images ``x`` in batches → ``{layer: float32 (N, d)}`` on the CPU."""
    out: dict[str, list[Tensor]] = {}
    with torch.no_grad(), autocast(device, precision):
        for start in range(0, len(x), EXTRACT_BATCH):
            batch = to_rgb(x[start:start + EXTRACT_BATCH]).to(device)
            feats = module.convert_features_tuple_to_dict(module(batch))  # type: ignore[operator]
            PASSES[counter_name] += len(batch)
            for k, v in feats.items():
                out.setdefault(k, []).append(v.detach().float().cpu())
    return {k: torch.cat(v) for k, v in out.items()}


def features(ctx: EvalContext, extractor: str, source: str, n: int) -> dict[str, Tensor]:
    """Every layer of ``extractor`` for image set ``source`` (first ``n``): one pass, cached in ``ctx.cache``."""
    key = ("features", extractor, source, n)
    if key not in ctx.cache:
        module = load_extractor(ctx, extractor)  # weights checked before any image is drawn
        ctx.cache[key] = extract(module, images(ctx, source, n), ctx.device, extractor, ctx.extractor_precision)
    return ctx.cache[key]


@dataclass
class Reference:
    """Real-data statistics of one (dataset, split, extractor, n): moments per layer, some raw features."""

    split: str
    n: int
    mu: dict[str, np.ndarray] = field(default_factory=dict)
    sigma: dict[str, np.ndarray] = field(default_factory=dict)
    feats: dict[str, Tensor] = field(default_factory=dict)
    from_disk: bool = False


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose code shapes the features (part of the reference-cache key)."""
    out = {}
    for pkg in ("torch", "torchvision", "torch-fidelity", "clean-fid"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "absent"
    return out


def reference_key(ctx: EvalContext, spec: Extractor, split: str, n: int, real: Tensor, layer: str) -> dict[str, Any]:
    """Everything a cached reference statistic depends on."""
    ids = []
    for p in _weight_paths(ctx, spec):
        st = p.stat()
        ids.append([p.name, st.st_size if p.is_file() else 0, st.st_mtime_ns])
    key = {"dataset": ctx.dataset.spec.name, "split": split, "extractor": spec.name, "layer": layer, "n": int(n),
           "resize": spec.resize, "versions": library_versions(), "weights": ids,
           "images_sha1": hashlib.sha1(real.contiguous().numpy().tobytes()).hexdigest()}
    if ctx.extractor_precision != "fp32":  # only then, so existing fp32 cache files stay valid
        key["precision"] = ctx.extractor_precision
    return key


def _cache_path(key: dict[str, Any]) -> Path:
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    stem = f"{key['dataset']}-{key['split']}-{key['extractor']}-{key['layer']}-n{key['n']}-{key['resize']}"
    return stats_dir() / f"{stem}-{digest}.pt"


def _load(path: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a truncated or foreign file is recomputed, never trusted
        return None
    return blob if isinstance(blob, dict) and blob.get("key") == json.loads(json.dumps(key)) else None


def reference(ctx: EvalContext, extractor: str, split: str, n: int) -> Reference:
    """Real statistics of ``split`` (first ``n`` images of ``ctx.real``) for every reference layer of
    ``extractor``: from ``ctx.cache``, else from the disk cache, else one pass (then written atomically)."""
    spec = EXTRACTORS[extractor]
    n = min(n, len(ctx.dataset.split(split)))
    mem_key = ("reference", extractor, split, n)
    if mem_key in ctx.cache:
        return ctx.cache[mem_key]
    real = ctx.real(split, n)
    keys = {layer: reference_key(ctx, spec, split, n, real, layer) for layer in spec.reference_layers}
    blobs = {layer: _load(_cache_path(k), k) for layer, k in keys.items()}
    ref = Reference(split=split, n=n)
    if all(b is not None for b in blobs.values()):
        ref.from_disk = True
        for layer, b in blobs.items():
            assert b is not None
            ref.mu[layer], ref.sigma[layer] = b["mu"].numpy(), b["sigma"].numpy()
            if "features" in b:
                ref.feats[layer] = b["features"]
    else:
        feats = features(ctx, extractor, f"real_{split}", n)
        for layer, k in keys.items():
            mu, sigma = moments(feats[layer].numpy())
            ref.mu[layer], ref.sigma[layer] = mu, sigma
            blob: dict[str, Any] = {"key": k, "mu": torch.from_numpy(mu), "sigma": torch.from_numpy(sigma)}
            if layer in spec.keep_features:
                ref.feats[layer] = blob["features"] = feats[layer].clone()
            write_with(_cache_path(k), lambda tmp, b=blob: torch.save(b, tmp))
    for layer in spec.keep_features:  # raw features needed but only moments cached: not possible by construction
        assert layer in ref.feats, layer
    ctx.cache[mem_key] = ref
    return ref
