"""Domain classifier metrics ``is_domain`` and ``fd_domain`` (α-GAN §4 and App. H.5).

α-GAN reports, beside the ImageNet Inception Score, the score of a VGG-style CNN trained on
CIFAR-10 itself (5.5 % error; real test data 9.18). The suite does the same on every labelled
dataset: a small VGG-style CNN (3×3 convolutions, BatchNorm, ReLU, stride-2 down-sampling, global
average pooling, one linear layer: App. H.5 Table 5 shrunk to CPU size) is trained once on the
train split, its test accuracy is measured and stored, and the network is cached on disk under
``$BENCH_CACHE_DIR`` (default ``~/.cache/hybrid-bench``) / ``domain`` / ``<dataset>-<key>.pt``,
where the key hashes the dataset (name, shape, classes, a fingerprint of the train split) and the
code version (the source of this module's classifier and training functions) — change either and
it retrains. Written atomically (bench.atomic), so concurrent jobs never read half a file.

* ``is_domain`` = exp(E_x KL(p(y|x) ‖ p(y))) with its softmax (Salimans et al. 2016; the IS
  protocol: 10 splits, mean and ``is_domain_std``), computed by the same function as ``is``
  (:func:`metrics.inception.inception_score`, torch-fidelity's: shuffled with seed 2020, no ε);
* ``fd_domain`` = Fréchet distance (metrics.frechet, Heusel et al. 2017 eq. 6) between its
  penultimate (pooled) features of the samples and of the train split.

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
TRAIN_SETTINGS: dict[str, Any] = {"width": 32, "epochs": 10, "max_steps": 20_000, "batch": 64, "lr": 3e-3,
                                  "weight_decay": 1e-4, "shift": 2, "seed": 0}


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


def train_classifier(dataset: Dataset, settings: dict[str, Any] | None = None,
                     device: torch.device | str = "cpu") -> tuple[DomainClassifier, float]:
    """Train the domain classifier on the train split (Adam, cross-entropy, shift augmentation);
    returns it in eval mode and its test-split accuracy."""
    s = settings_for(dataset, settings)
    train, test = dataset.train, dataset.test
    if dataset.spec.n_classes is None or train.labels is None:
        raise MetricUnavailable(f"{dataset.spec.name} has no labels: no domain classifier")
    state = torch.get_rng_state()
    torch.manual_seed(s["seed"])
    model = DomainClassifier(dataset.spec.channels, dataset.spec.n_classes, s["width"]).to(device)
    torch.set_rng_state(state)
    g = torch.Generator().manual_seed(s["seed"])
    opt = torch.optim.Adam(model.parameters(), lr=s["lr"], weight_decay=s["weight_decay"])
    steps_per_epoch = max(1, len(train) // s["batch"])
    total = min(s["epochs"] * steps_per_epoch, s["max_steps"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, total)
    model.train()
    step = 0
    while step < total:
        perm = torch.randperm(len(train), generator=g)
        for i in range(steps_per_epoch):
            if step >= total:
                break
            idx = perm[i * s["batch"]:(i + 1) * s["batch"]]
            x = _random_shift(to_model_range(train.data[idx]), s["shift"], g).to(device)
            loss = F.cross_entropy(model(x), train.labels[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
    model.eval()
    logits = _apply(model, test.data, "forward")
    accuracy = (logits.argmax(1) == test.labels).float().mean().item() if test.labels is not None else float("nan")
    return model, accuracy


def _apply(model: DomainClassifier, images: Tensor, what: str, batch: int = 500) -> Tensor:
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for s in range(0, len(images), batch):
            x = to_model_range(match_channels(images[s:s + batch], model.channels)).to(device)
            out.append((model.features(x) if what == "features" else model(x)).float().cpu())
    return torch.cat(out)


def cache_key(dataset: Dataset, settings: dict[str, Any]) -> str:
    """Hash of the dataset (name, shape, classes, train-split fingerprint) and the code version."""
    train = dataset.train
    step = max(1, len(train) // 4096)
    h = hashlib.sha1()
    h.update(train.data[::step].contiguous().numpy().tobytes())
    if train.labels is not None:
        h.update(train.labels.numpy().tobytes())
    code = "".join(inspect.getsource(f) for f in (DomainClassifier, train_classifier, _random_shift))
    h.update(json.dumps({"name": dataset.spec.name, "shape": dataset.spec.shape, "n_classes": dataset.spec.n_classes,
                         "n_train": len(train), "settings": settings, "version": CLASSIFIER_VERSION}, sort_keys=True,
                        default=str).encode())
    h.update(code.encode())
    return h.hexdigest()[:16]


def load_or_train(dataset: Dataset, device: torch.device | str = "cpu",
                  settings: dict[str, Any] | None = None) -> tuple[DomainClassifier, dict[str, Any]]:
    """The cached classifier of ``dataset`` (trained and cached atomically on first use) and its info
    (``test_accuracy``, ``path``, ``trained_now``). Concurrent jobs of a sweep wait on an advisory
    lock (``fcntl.flock``) beside the file, so the classifier is trained once, not once per job."""
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
            return model.eval().to(device), {"test_accuracy": blob["test_accuracy"], "path": str(path),
                                             "trained_now": False}
        model, acc = train_classifier(dataset, s, device)
        blob = {"state_dict": {k: v.cpu() for k, v in model.state_dict().items()}, "test_accuracy": acc,
                "settings": s, "dataset": dataset.spec.name}
        write_with(path, lambda tmp: torch.save(blob, tmp))
    return model, {"test_accuracy": acc, "path": str(path), "trained_now": True}


def _classifier(ctx: EvalContext) -> tuple[DomainClassifier, dict[str, Any]]:
    key = ("domain_classifier", ctx.dataset.spec.name)
    if key not in ctx.cache:
        ctx.cache[key] = load_or_train(ctx.dataset, ctx.device)
    return ctx.cache[key]


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
        return {self.name: mean, f"{self.name}_std": std, f"{self.name}.classifier_test_acc": info["test_accuracy"],
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
                f"{self.name}.ref": "train", f"{self.name}.classifier_test_acc": info["test_accuracy"],
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
        return {self.name: frechet_from_features(fake, real), f"{self.name}.classifier_test_acc": info["test_accuracy"],
                "__n__": len(originals)}
