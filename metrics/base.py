"""The metric contract and the evaluation context every metric reads from.

A metric declares what it needs (``samples``, ``reconstructions``, ``real_train``,
``real_test``, ``labels``, ``points``/``images``), its direction (lower or higher is better),
the paper it comes from and how many samples it uses (the paper's count and a quick count for
CPU runs). The :class:`EvalContext` produces each image set once and caches it (and, through
``cache``, anything derived from it such as extractor features), so a battery of metrics never
draws or encodes the same images twice.

Values are written flat into ``metrics.json``: ``name`` → value, ``name.n`` → number of images
used, ``name.unavailable`` → the reason a metric could not be computed (never a number). Every metric
computed on reconstructions also records ``name.split`` (the held-out split whose images were
reconstructed: ``test`` by default, ``val`` where the paper says so, e.g. AVAE-S Table III) and
``name.path`` (the model's reconstruction path as its code reads, e.g. ``decode(encode(x))``, where
``encode`` is the posterior mean: :func:`recon_path`).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor

from bench.data.base import Dataset

SAMPLES, RECONSTRUCTIONS, REAL_TRAIN, REAL_TEST, REAL_VAL, LABELS = (
    "samples", "reconstructions", "real_train", "real_test", "real_val", "labels")
IMAGES, POINTS = "images", "points"


class MetricUnavailable(Exception):
    """Raised by a metric that cannot be computed here (e.g. missing weights); the message is the reason."""


class Metric:
    """Base class: subclasses set the class attributes and implement :meth:`compute`."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    direction: ClassVar[Literal["lower", "higher"]] = "lower"
    needs: ClassVar[frozenset[str]] = frozenset()
    n_paper: ClassVar[int] = 10_000  # how many images the papers' protocol uses
    n_quick: ClassVar[int] = 500  # how many for a quick (CPU) evaluation

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        """Return ``{name: value, ...}`` (extra keys allowed, e.g. ``is_std``)."""
        raise NotImplementedError

    def n(self, ctx: EvalContext) -> int:
        """The number of images this metric uses under the context's sample setting."""
        if ctx.n_override is not None:
            return ctx.n_override
        return self.n_paper if ctx.sample_setting == "paper" else self.n_quick


@dataclass
class EvalContext:
    """Everything a metric may read, produced lazily and cached.

    ``sample_fn(n)`` returns samples in model range ([-1, 1] images or raw points), drawn in
    batches; ``recon_fn(x)`` returns reconstructions of a model-range batch; extra recon paths
    (``extra_recon_fns``) are evaluated by metrics that report them. Images are handed to
    metrics as uint8 (N, C, H, W).
    """

    dataset: Dataset
    sample_fn: Callable[[int], Tensor] | None = None
    recon_fn: Callable[[Tensor], Tensor] | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    seed: int = 0
    sample_setting: Literal["quick", "paper"] = "quick"
    n_override: int | None = None
    batch_size: int = 250
    weights_dir: str | None = None
    cache: dict[Any, Any] = field(default_factory=dict)
    sample_images: Tensor | None = None  # precomputed fakes (bench evaluate --fake PATH)
    # Precision of the pretrained feature extractors (issue #7). fp32 is what torch-fidelity and clean-fid run, so
    # it is the default and the only setting comparable with published numbers; "bf16" runs them under
    # torch.autocast(bfloat16) (faster on GPUs) and its effect on FID is measured in results/perf/.
    extractor_precision: Literal["fp32", "bf16"] = "fp32"
    recon_split: str = "test"  # the held-out split reconstruction metrics read (RECON_SPLITS)

    @property
    def kind(self) -> str:
        return self.dataset.spec.kind

    def provides(self, needs: frozenset[str]) -> bool:
        """Whether every requirement in ``needs`` can be met here."""
        have = {REAL_TRAIN, REAL_TEST, REAL_VAL, POINTS if self.kind == "points" else IMAGES}
        if self.sample_fn is not None or self.sample_images is not None:
            have.add(SAMPLES)
        if self.recon_fn is not None:
            have.add(RECONSTRUCTIONS)
        if self.dataset.spec.n_classes is not None and self.dataset.train.labels is not None:
            have.add(LABELS)
        return needs <= have

    def samples(self, n: int) -> Tensor:
        """``n`` samples: uint8 images or float points; the same tensor for every metric."""
        if self.sample_images is not None:
            return self.sample_images[:n]
        have = self.cache.get("samples")
        if have is None or len(have) < n:
            assert self.sample_fn is not None
            from bench.data.base import to_uint8

            g_state = torch.get_rng_state()
            torch.manual_seed(self.seed + 7_919)  # evaluation noise independent of training RNG
            chunks = []
            with torch.no_grad():
                for start in range(0, n, self.batch_size):
                    x = self.sample_fn(min(self.batch_size, n - start))
                    chunks.append(to_uint8(x).cpu() if self.kind == "image" else x.float().cpu())
            torch.set_rng_state(g_state)
            have = torch.cat(chunks)
            self.cache["samples"] = have
        return have[:n]

    def real(self, split: str, n: int | None = None) -> Tensor:
        """Real images (uint8) or points of ``split``; the first ``n`` of a fixed seeded order."""
        s = self.dataset.split({"real_train": "train", "real_test": "test", "real_val": "val"}.get(split, split))
        s = s.subset(n, seed=0) if n is not None else s
        return s.data if self.kind == "points" else s.uint8()

    def reconstructions(self, n: int, split: str | None = None) -> tuple[Tensor, Tensor]:
        """(originals, reconstructions) of the first ``n`` images of the held-out split (default
        ``recon_split``), both uint8."""
        split = split or self.recon_split
        key = ("recon", split)
        have = self.cache.get(key)
        if have is None or len(have[0]) < n:
            assert self.recon_fn is not None
            from bench.data.base import to_uint8

            s = self.dataset.split(split).subset(n, seed=0)
            originals, recons = [], []
            g_state = torch.get_rng_state()
            torch.manual_seed(self.seed + 104_729)
            with torch.no_grad():
                for start in range(0, len(s), self.batch_size):
                    idx = torch.arange(start, min(start + self.batch_size, len(s)))
                    x = s.batch(idx).to(self.device)
                    r = self.recon_fn(x)
                    if self.kind == "image":
                        originals.append(s.uint8(idx))
                        recons.append(to_uint8(r).cpu())
                    else:
                        originals.append(x.cpu())
                        recons.append(r.float().cpu())
            torch.set_rng_state(g_state)
            have = (torch.cat(originals), torch.cat(recons))
            self.cache[key] = have
        return have[0][:n], have[1][:n]


RECON_SPLITS = ("test", "val")


def recon_path(fn: Callable[..., Tensor] | None) -> str:
    """The reconstruction path ``fn`` computes, read from its code: the expression of its last ``return``
    with ``self.`` removed (``AVAE.reconstruct`` → ``generate(encode(x))``), else its qualified name."""
    if fn is None:
        return ""
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        source = ""
    returns = re.findall(r"^\s*return\s+(.+?)\s*$", source, flags=re.MULTILINE)
    if returns:
        return returns[-1].replace("self.", "")
    return getattr(fn, "__qualname__", repr(fn))


def to_unit(x: Tensor) -> Tensor:
    """uint8 images → float in [0, 1] (the pixel convention of MSE, cosine and sharpness)."""
    return x.float() / 255.0


def evaluate(ctx: EvalContext, names: list[str]) -> dict[str, Any]:
    """Compute each named metric whose needs ``ctx`` meets (others are absent, not zero).

    A metric that raises :class:`MetricUnavailable` is recorded as ``name.unavailable``.
    """
    from metrics import METRICS

    out: dict[str, Any] = {}
    for name in names:
        metric: Metric = METRICS.get(name)()
        if not ctx.provides(metric.needs):
            continue
        try:
            values = metric.compute(ctx)
        except MetricUnavailable as err:
            out[f"{name}.unavailable"] = str(err)
            continue
        n_used = values.pop("__n__", None)
        out.update(values)
        out[f"{name}.n"] = int(n_used if n_used is not None else metric.n(ctx))
        if RECONSTRUCTIONS in metric.needs:
            out[f"{name}.split"] = ctx.recon_split
            out[f"{name}.path"] = recon_path(ctx.recon_fn)
    return out
