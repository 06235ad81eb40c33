"""Domain classifier metrics ``is_domain`` and ``fd_domain`` (α-GAN §4 and App. H.5).

α-GAN reports, beside the ImageNet Inception Score, the score of a VGG-style CNN trained on
CIFAR-10 itself (5.5 % error; real test data 9.18). The suite does the same on every labelled
dataset: a small VGG-style CNN (3×3 convolutions, BatchNorm, ReLU, stride-2 down-sampling, global
average pooling, one linear layer: App. H.5 Table 5 shrunk to CPU size) is trained once on the
train split less a seeded, stratified 10 % held out (:func:`heldout_split`), for a budget of optimiser steps
(:func:`train_steps`), its accuracy on that held-out 10 % is measured and stored (the same whichever split a
command evaluates), and the network is cached on disk under
``$BENCH_CACHE_DIR`` (default ``~/.cache/hybrid-bench``) / ``domain`` / ``<dataset>-<key>.pt``,
where the key hashes the dataset (name, shape, classes, a fingerprint of the train split) and the
code version (the source of this module's classifier and training functions) — change either and
it retrains. Written atomically (bench.atomic), so concurrent jobs never read half a file.

* ``is_domain`` = exp(E_x KL(p(y|x) ‖ p(y))) with its softmax (Salimans et al. 2016; the IS
  protocol: 10 splits, mean and ``is_domain_std``), computed by the same function as ``is``
  (:func:`metrics.inception.inception_score`, torch-fidelity's: shuffled with seed 2020, no ε);
* ``fd_domain`` = Fréchet distance (metrics.frechet, Heusel et al. 2017 eq. 6) between its
  penultimate (pooled) features of the samples and of the train split.

When that held-out accuracy is not clearly above chance (:func:`usable_bound`), every metric built on the
classifier (``is_domain``, ``fd_domain``, ``fd_domain_recon``, ``recon_class_acc``) is recorded as unavailable
with the reason, as metrics without their weights are; otherwise the accuracy is recorded beside each as
``<metric>.classifier_heldout_acc``.

Inputs are uint8 images mapped to [-1, 1] as in App. H.5; images whose channel count differs from
the dataset's are matched to it (grayscale → RGB by repetition, RGB → gray by BT.601 luma).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bench.atomic import write_with
from bench.data.base import Dataset, to_model_range
from metrics.base import IMAGES, LABELS, RECONSTRUCTIONS, SAMPLES, EvalContext, Metric, MetricUnavailable
from metrics.frechet import frechet_from_features
from metrics.inception import inception_score

CLASSIFIER_VERSION = 1  # bump by hand for changes the source hash cannot see (e.g. a library default)
LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601


def cache_dir() -> Path:
    """``$BENCH_CACHE_DIR`` or ``~/.cache/hybrid-bench``."""
    return Path(os.environ.get("BENCH_CACHE_DIR") or Path.home() / ".cache" / "hybrid-bench").expanduser()


class DomainClassifier(nn.Module):
    """VGG-style CNN after α-GAN App. H.5 Table 5, shrunk: [conv3/2 w, conv3 w, conv3/2 2w, conv3 2w,
    conv3/2 4w] (BN + ReLU each; "/2" = stride 2, as Table 5 starts) → global average pool (the 4w-d
    features) → linear to the classes."""

    def __init__(self, channels: int, n_classes: int, width: int = 32) -> None:
        super().__init__()
        plan = [(width, 2), (width, 1), (2 * width, 2), (2 * width, 1), (4 * width, 2)]
        layers: list[nn.Module] = []
        c = channels
        for out, stride in plan:
            layers += [nn.Conv2d(c, out, 3, stride, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(True)]
            c = out
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(c, n_classes)
        self.channels = channels

    def features(self, x: Tensor) -> Tensor:
        """Penultimate features (globally average-pooled last convolution)."""
        return self.trunk(x).mean(dim=(2, 3))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


# width 32 (128-d features); 16 for small datasets (< 10k training images, e.g. digits), which a
# narrower net fits as well (digits: ≥ 95 % test accuracy either way) at half the CPU time.
SMALL_DATASET, SMALL_WIDTH = 10_000, 16
# The training length is a budget of optimiser steps: 10 epochs of the fitting images, but never fewer than
# ``min_steps`` (a folder of 100 images is 1 batch an epoch: 10 epochs were 10 steps, a classifier at chance)
# nor more than ``max_steps`` (Fashion-MNIST: 10 epochs would be 8,400 steps; 5,000 reach ≥ 90 %).
TRAIN_SETTINGS: dict[str, Any] = {"width": 32, "epochs": 10, "min_steps": 500, "max_steps": 5_000, "batch": 64,
                                  "lr": 3e-3, "weight_decay": 1e-4, "shift": 2, "seed": 0, "heldout_fraction": 0.1}
HELDOUT_SEED = 4321


def settings_for(dataset: Dataset, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """:data:`TRAIN_SETTINGS` with the width for the dataset's size, then ``settings`` on top."""
    size = {"width": SMALL_WIDTH} if len(dataset.train) < SMALL_DATASET else {}
    return {**TRAIN_SETTINGS, **size, **(settings or {})}


def match_channels(x: Tensor, channels: int) -> Tensor:
    """uint8 (N, C, H, W) with C made equal to ``channels``: gray → RGB repeats, RGB → gray is BT.601 luma."""
    if x.shape[1] == channels:
        return x
    if x.shape[1] == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1)
    if x.shape[1] == 3 and channels == 1:
        w = torch.tensor(LUMA).view(1, 3, 1, 1)
        return (x.float() * w).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    raise MetricUnavailable(f"cannot match {x.shape[1]}-channel images to a {channels}-channel classifier")


def _random_shift(x: Tensor, shift: int, g: torch.Generator) -> Tensor:
    """Random translation by up to ``shift`` px (pad by replication, crop): the crop augmentation of App. H.5."""
    if shift == 0:
        return x
    h, w = x.shape[-2:]
    padded = F.pad(x, (shift,) * 4, mode="replicate")
    dy, dx = (int(v) for v in torch.randint(0, 2 * shift + 1, (2,), generator=g))
    return padded[..., dy:dy + h, dx:dx + w]


def heldout_split(labels: Tensor, fraction: float, seed: int = HELDOUT_SEED) -> tuple[Tensor, Tensor]:
    """(fitting indices, held-out indices) of a labelled train split: a seeded ``fraction`` of every class
    (at least one image of each class that has two or more) is held out; both index lists sorted.

    The classifier's accuracy is measured on this held-out part of the *train* split, never on the split a
    command evaluates (which may be the train split itself, e.g. ``evaluate --real digits@16:train``), so
    the cached accuracy is the same whichever command trained the classifier first."""
    g = torch.Generator().manual_seed(seed)
    fit, held = [], []
    for c in torch.unique(labels):
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        k = max(1, round(len(idx) * fraction)) if len(idx) > 1 else 0
        held.append(idx[:k])
        fit.append(idx[k:])
    return torch.cat(fit).sort().values, torch.cat(held).sort().values


def train_steps(n_fit: int, s: dict[str, Any]) -> int:
    """The step budget for ``n_fit`` fitting images: ``epochs`` epochs, clamped to [min_steps, max_steps]."""
    return min(max(s["epochs"] * max(1, n_fit // s["batch"]), s["min_steps"]), s["max_steps"])


def usable_bound(chance: float) -> float:
    """The held-out accuracy a classifier needs before its scores mean anything: twice chance, and at most
    halfway from chance to 1 (for 2 classes twice chance would be 1). Below it, most of what the classifier
    says is guessing: ``is_domain`` of any image set is then near 1 (real images against themselves scored
    1.0016 with a classifier at chance), and its features do not separate the classes ``fd_domain`` compares."""
    return min(2 * chance, (1 + chance) / 2)


def train_classifier(dataset: Dataset, settings: dict[str, Any] | None = None,
                     device: torch.device | str = "cpu") -> tuple[DomainClassifier, dict[str, Any]]:
    """Train the domain classifier (Adam, cross-entropy, cosine schedule, shift augmentation) for the step
    budget of :func:`train_steps` on the fitting part of the train split (:func:`heldout_split`); returns it
    in eval mode and its held-out record: ``heldout_accuracy``, ``n_heldout``, ``chance`` (the largest class's
    share of the held-out images), ``steps``."""
    s = settings_for(dataset, settings)
    train = dataset.train
    if dataset.spec.n_classes is None or train.labels is None:
        raise MetricUnavailable(f"{dataset.spec.name} has no labels: no domain classifier")
    fit, held = heldout_split(train.labels, s["heldout_fraction"])
    images, labels = train.data[fit], train.labels[fit]
    state = torch.get_rng_state()
    torch.manual_seed(s["seed"])
    model = DomainClassifier(dataset.spec.channels, dataset.spec.n_classes, s["width"]).to(device)
    torch.set_rng_state(state)
    g = torch.Generator().manual_seed(s["seed"])
    opt = torch.optim.Adam(model.parameters(), lr=s["lr"], weight_decay=s["weight_decay"])
    steps_per_epoch = max(1, len(images) // s["batch"])
    total = train_steps(len(images), s)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, total)
    model.train()
    step = 0
    while step < total:
        perm = torch.randperm(len(images), generator=g)
        for i in range(steps_per_epoch):
            if step >= total:
                break
            idx = perm[i * s["batch"]:(i + 1) * s["batch"]]
            x = _random_shift(to_model_range(images[idx]), s["shift"], g).to(device)
            loss = F.cross_entropy(model(x), labels[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
    model.eval()
    held_labels = train.labels[held]
    if len(held) == 0:
        accuracy, chance = float("nan"), float("nan")
    else:
        accuracy = (_apply(model, train.data[held], "forward").argmax(1) == held_labels).float().mean().item()
        chance = torch.bincount(held_labels).max().item() / len(held)
    return model, {"heldout_accuracy": accuracy, "n_heldout": len(held), "chance": chance, "steps": total}


def _apply(model: DomainClassifier, images: Tensor, what: str, batch: int = 500) -> Tensor:
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for s in range(0, len(images), batch):
            x = to_model_range(match_channels(images[s:s + batch], model.channels)).to(device)
            out.append((model.features(x) if what == "features" else model(x)).float().cpu())
    return torch.cat(out)


_SOURCE: list[str] = []


def _code_source() -> str:
    """The source of the classifier and its training, read once per process (at import): a process keeps the key of
    the code it runs even if the file is edited meanwhile (``inspect`` would re-read the edited file with the old
    line numbers, get other text, miss the cache and retrain)."""
    if not _SOURCE:
        _SOURCE.append("".join(inspect.getsource(f) for f in (DomainClassifier, train_classifier, _random_shift,
                                                              heldout_split, train_steps)))
    return _SOURCE[0]


_code_source()  # at import, while the file is the one this process runs


def cache_key(dataset: Dataset, settings: dict[str, Any]) -> str:
    """Hash of the dataset (name, shape, classes, train-split fingerprint) and the code version."""
    train = dataset.train
    step = max(1, len(train) // 4096)
    h = hashlib.sha1()
    h.update(train.data[::step].contiguous().numpy().tobytes())
    if train.labels is not None:
        h.update(train.labels.numpy().tobytes())
    code = _code_source()
    h.update(json.dumps({"name": dataset.spec.name, "shape": dataset.spec.shape, "n_classes": dataset.spec.n_classes,
                         "n_train": len(train), "settings": settings, "version": CLASSIFIER_VERSION}, sort_keys=True,
                        default=str).encode())
    h.update(code.encode())
    return h.hexdigest()[:16]


def load_or_train(dataset: Dataset, device: torch.device | str = "cpu",
                  settings: dict[str, Any] | None = None) -> tuple[DomainClassifier, dict[str, Any]]:
    """The cached classifier of ``dataset`` (trained and cached atomically on first use) and its info
    (the held-out record of :func:`train_classifier`, ``path``, ``trained_now``). Concurrent jobs of a sweep
    wait on an advisory lock (``fcntl.flock``) beside the file, so the classifier is trained once, not once
    per job. The cache is keyed by the train split and the code, never by the split a command evaluates."""
    import fcntl

    s = settings_for(dataset, settings)
    path = cache_dir() / "domain" / f"{dataset.spec.name}-{cache_key(dataset, s)}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if path.is_file():
            blob = torch.load(path, map_location="cpu", weights_only=False)
            model = DomainClassifier(dataset.spec.channels, dataset.spec.n_classes or 0, s["width"])
            model.load_state_dict(blob["state_dict"])
            return model.eval().to(device), {**blob["heldout"], "path": str(path), "trained_now": False}
        with torch.enable_grad():  # callers may hold no_grad (a run's learning curve, the first to need it)
            model, record = train_classifier(dataset, s, device)
        blob = {"state_dict": {k: v.cpu() for k, v in model.state_dict().items()}, "heldout": record,
                "settings": s, "dataset": dataset.spec.name}
        write_with(path, lambda tmp: torch.save(blob, tmp))
    return model, {**record, "path": str(path), "trained_now": True}


def unusable_reason(info: dict[str, Any], n_classes: int) -> str | None:
    """Why the classifier's scores mean nothing (held-out accuracy below :func:`usable_bound`), or ``None``."""
    acc, n, chance = info["heldout_accuracy"], info["n_heldout"], info["chance"]
    if n == 0:
        return "the domain classifier has no held-out images to be checked on (a class with one image each?)"
    bound = usable_bound(chance)
    if not acc >= bound:
        return (f"domain classifier at chance: held-out accuracy {acc:.3f} on {n} images is below {bound:.3f} "
                f"(twice the chance level {chance:.3f} of {n_classes} classes, at most halfway to 1), so its "
                f"scores would not measure the classes")
    return None


def _classifier(ctx: EvalContext) -> tuple[DomainClassifier, dict[str, Any]]:
    """The dataset's classifier, or :class:`MetricUnavailable` (with the reason) when its held-out accuracy
    is not clearly above chance: every metric built on it (``is_domain``, ``fd_domain``, ``fd_domain_recon``,
    ``recon_class_acc``) is then marked unavailable rather than reported as a number."""
    key = ("domain_classifier", ctx.dataset.spec.name)
    if key not in ctx.cache:
        ctx.cache[key] = load_or_train(ctx.dataset, ctx.device)
    model, info = ctx.cache[key]
    why = unusable_reason(info, ctx.dataset.spec.n_classes or 0)
    if why is not None:
        raise MetricUnavailable(why)
    return model, info


HELDOUT_KEY = "classifier_heldout_acc"  # recorded beside every domain metric as ``<metric>.classifier_heldout_acc``


class DomainIS(Metric):
    """Inception Score with the suite's domain classifier (α-GAN §4, Fig. 5c; CIFAR-10 test: 9.18)."""

    name = "is_domain"
    description = "Inception Score with a classifier trained on the dataset itself (cached)"
    paper = "α-GAN §4, Fig. 5c and App. H.5"
    direction = "higher"
    needs = frozenset({SAMPLES, IMAGES, LABELS})
    n_paper, n_quick = 10_000, 1_000
    splits = 10

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        model, info = _classifier(ctx)
        x = ctx.samples(self.n(ctx))
        mean, std = inception_score(_apply(model, x, "forward"), min(self.splits, len(x)))
        return {self.name: mean, f"{self.name}_std": std, f"{self.name}.{HELDOUT_KEY}": info["heldout_accuracy"],
                f"{self.name}.splits": min(self.splits, len(x)), "__n__": len(x)}


class DomainFD(Metric):
    """Fréchet distance of the domain classifier's penultimate features, samples vs train split."""

    name = "fd_domain"
    description = "Frechet distance of domain-classifier features, samples vs train split"
    paper = "α-GAN §4 (domain classifier); Heusel et al. 2017 eq. 6"
    direction = "lower"
    needs = frozenset({SAMPLES, IMAGES, LABELS})
    n_paper, n_quick = 10_000, 1_000
    n_ref_paper, n_ref_quick = 50_000, 10_000

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        model, info = _classifier(ctx)
        x = ctx.samples(self.n(ctx))
        if len(x) < 2:
            raise MetricUnavailable(f"fd_domain needs at least 2 samples, got {len(x)}")
        ref_key = ("fd_domain_ref", ctx.dataset.spec.name, ctx.sample_setting)
        if ref_key not in ctx.cache:
            real = ctx.real("real_train", self.n_ref_paper if ctx.sample_setting == "paper" else self.n_ref_quick)
            ctx.cache[ref_key] = _apply(model, real, "features").double().numpy()
        ref = ctx.cache[ref_key]
        fake = _apply(model, x, "features").double().numpy()
        return {self.name: frechet_from_features(fake, ref), f"{self.name}.n_real": len(ref),
                f"{self.name}.ref": "train", f"{self.name}.{HELDOUT_KEY}": info["heldout_accuracy"],
                "__n__": len(x)}


class DomainFDRecon(Metric):
    """Fréchet distance of the domain classifier's features, held-out reconstructions vs the same images.

    The offline stand-in for AVAE-S Table III's Fréchet distances of reconstructions (``fid_recon`` and its
    64/192/768-d layers): the same comparison (Heusel et al. 2017 eq. 6 between the reconstructions of
    ``ctx.recon_split`` and that split's originals) on the domain classifier's penultimate features."""

    name = "fd_domain_recon"
    description = "Frechet distance of domain-classifier features, reconstructions vs their held-out originals"
    paper = "AVAE-S Table III (offline stand-in); Heusel et al. 2017 eq. 6"
    direction = "lower"
    needs = frozenset({RECONSTRUCTIONS, IMAGES, LABELS})
    n_paper, n_quick = 10_000, 1_000
    default = False  # opt-in (eval.metrics), like the other *_recon Fréchet distances

    def n(self, ctx: EvalContext) -> int:
        return min(super().n(ctx), len(ctx.dataset.split(ctx.recon_split)))

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        model, info = _classifier(ctx)
        originals, recons = ctx.reconstructions(self.n(ctx))
        if len(originals) < 2:
            raise MetricUnavailable(f"fd_domain_recon needs at least 2 images, got {len(originals)}")
        real = _apply(model, originals, "features").double().numpy()
        fake = _apply(model, recons, "features").double().numpy()
        return {self.name: frechet_from_features(fake, real), f"{self.name}.{HELDOUT_KEY}": info["heldout_accuracy"],
                "__n__": len(originals)}
