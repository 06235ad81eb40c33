"""Independent Wasserstein critic (α-GAN §4 and App. E, after Danihelka et al. 2017).

A fresh WGAN-GP critic (Gulrajani et al. 2017, Alg. 1: loss E[C(x̃)] − E[C(x)] + λ E[(‖∇C(x̂)‖₂ − 1)²],
λ = 10, Adam lr 1e-4, β = (0.5, 0.9)) is trained to separate held-out *validation* images from
samples; the Wasserstein distance is then estimated on *test* images against *new* samples,
W = E_test[C(x)] − E_new[C(x̃)], and reported as −W (higher is better). The critic is the suite's
shared critic block (``models.blocks.critic``) with LayerNorm instead of BatchNorm (WGAN-GP has no
BatchNorm in the critic); on 2-D data it is the shared MLP. It is trained only for evaluation and
never touches the model. The number of critic steps is a setting: ``steps_quick`` / ``steps_paper``,
or ``ctx.cache[CRITIC_STEPS_OPTION]`` (``bench evaluate --critic-steps``). Written by hand because no
library of the field ships this metric; the gradient penalty is the standard 10-line form.

Held-out data: the critic never sees an image any model trained on. Where the dataset has an official
validation split (CelebA) the critic trains on it and is evaluated on the test split; elsewhere (CIFAR-10,
SVHN, MNIST, ColorMNIST, LSUN, digits, shapes, the toys) the test split is cut into two seeded halves, the
critic trains on half A (the dataset's ``val``) and is evaluated on half B (:meth:`bench.data.base.Dataset.held_out`).
Held-out images byte-identical to a training image are dropped as well (procedural ``shapes`` repeats 567 of
its 2,000 test images in train). ``critic_w.val_source`` records which case applied, ``critic_w.n_val`` /
``critic_w.n_test`` the counts, ``critic_w.dropped_train_dupes`` the duplicates removed.

Deviation, stated: α-GAN trains the critic alongside the second half of the model's training; here it
is trained after training, on samples of the evaluated (final) checkpoint, so it scores exactly the
model that the other metrics score. Test images identical to one of the critic's training samples are
dropped from the evaluation set (they can only occur when the "samples" are real images, e.g. on the
real-data reference row of ``bench.run.evaluate_real``, whose samples are the test images themselves:
that row is a sanity value of 0, not an independent score).
"""

from __future__ import annotations

import hashlib

import torch
from torch import Tensor

from bench.data.base import DataSpec, to_model_range
from metrics.base import SAMPLES, EvalContext, Metric, MetricUnavailable
from models import blocks

CRITIC_STEPS_OPTION = ("option", "critic_w.steps")
CRITIC_REAL_KEY = ("critic_w", "real sets")  # ctx.cache: (critic-training images, evaluation images) used
GP_LAMBDA = 10.0


def gradient_penalty(critic: torch.nn.Module, real: Tensor, fake: Tensor, generator: torch.Generator) -> Tensor:
    """Gulrajani et al. 2017 Alg. 1: E[(‖∇_x̂ C(x̂)‖₂ − 1)²] at x̂ = εx + (1 − ε)x̃, ε ~ U[0, 1]."""
    eps = torch.rand(len(real), *([1] * (real.dim() - 1)), generator=generator).to(real.device)
    mix = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mix).sum(), mix, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


def _to_model(x: Tensor, kind: str) -> Tensor:
    return to_model_range(x) if kind == "image" else x.float()


def train_critic(spec: DataSpec, real: Tensor, fake: Tensor, *, steps: int, width: int = 16, batch: int = 64,
                 lr: float = 1e-4, seed: int = 0, device: torch.device | str = "cpu") -> torch.nn.Module:
    """Train a fresh WGAN-GP critic (Gulrajani et al. 2017 Alg. 1, λ = 10) on ``real`` vs ``fake``
    (uint8 images or float points); batches are drawn with replacement from a seeded generator."""
    g = torch.Generator().manual_seed(seed)
    state = torch.get_rng_state()
    torch.manual_seed(seed)
    critic = blocks.critic(spec, width, 1, norm="ln").to(device)
    torch.set_rng_state(state)
    opt = torch.optim.Adam(critic.parameters(), lr=lr, betas=(0.5, 0.9))
    critic.train()
    for _ in range(steps):
        xr = _to_model(real[torch.randint(len(real), (batch,), generator=g)], spec.kind).to(device)
        xf = _to_model(fake[torch.randint(len(fake), (batch,), generator=g)], spec.kind).to(device)
        loss = critic(xf).mean() - critic(xr).mean() + GP_LAMBDA * gradient_penalty(critic, xr, xf, g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return critic.eval()


def row_digests(x: Tensor) -> list[bytes]:
    """SHA-1 of each row's bytes (images or points): byte-identical rows, and only those, share a digest."""
    arr = x.cpu().contiguous().numpy().reshape(len(x), -1)
    return [hashlib.sha1(row.tobytes()).digest() for row in arr]


def drop_seen(x: Tensor, seen: Tensor | set[bytes]) -> Tensor:
    """``x`` without the rows that are byte-identical to a row of ``seen`` (a tensor or its :func:`row_digests`)."""
    keys = seen if isinstance(seen, set) else set(row_digests(seen))
    keep = [i for i, d in enumerate(row_digests(x)) if d not in keys]
    return x if len(keep) == len(x) else x[torch.tensor(keep, dtype=torch.long)]


def held_out_sets(ctx: EvalContext, n: int) -> tuple[Tensor, Tensor, str, int]:
    """(critic-training images, evaluation images, source, duplicates dropped): up to ``n`` of each, from
    :meth:`Dataset.held_out`, without any image byte-identical to one of the training split."""
    ds = ctx.dataset
    fit, ev, source = ds.held_out()
    train_keys: set[bytes] = set()
    if ds.train is ds.test:  # a bare image set used as every split (bench evaluate --real DIR): no training split
        source += "; the image set is every split (no training split to exclude)"
    else:
        key = ("train digests", ds.spec.name, len(ds.train))
        if key not in ctx.cache:
            ctx.cache[key] = set(row_digests(ds.train.data))
        train_keys = ctx.cache[key]
    out, dropped = [], 0
    for s in (fit, ev):
        kept = drop_seen(s.data, train_keys)
        dropped += len(s.data) - len(kept)
        if len(kept) > n:
            g = torch.Generator().manual_seed(0)
            kept = kept[torch.randperm(len(kept), generator=g)[:n].sort().values]
        out.append(kept)
    return out[0], out[1], source, dropped


def critic_mean(critic: torch.nn.Module, x: Tensor, kind: str, batch: int = 500) -> float:
    """E[C(x)] over a whole set (batched, no gradients)."""
    device = next(critic.parameters()).device
    total = 0.0
    with torch.no_grad():
        for s in range(0, len(x), batch):
            total += critic(_to_model(x[s:s + batch], kind).to(device)).double().sum().item()
    return total / len(x)


def negative_wasserstein(spec: DataSpec, real_train: Tensor, fake_train: Tensor, real_test: Tensor, fake_test: Tensor,
                         *, steps: int, width: int = 16, batch: int = 64, seed: int = 0,
                         device: torch.device | str = "cpu") -> float:
    """α-GAN §4: −W with W = E_test[C(x)] − E_new[C(x̃)] for a critic trained on (real_train, fake_train)."""
    critic = train_critic(spec, real_train, fake_train, steps=steps, width=width, batch=batch, seed=seed, device=device)
    return -(critic_mean(critic, real_test, spec.kind) - critic_mean(critic, fake_test, spec.kind))


class CriticW(Metric):
    """−W of a fresh WGAN-GP critic trained on held-out images vs samples, evaluated on other held-out
    images vs new samples (α-GAN §4, Fig. 2; see the module docstring for where the images come from).
    ``n`` samples train it and ``n`` new ones test it."""

    name = "critic_w"
    description = "independent WGAN-GP critic: -W(held-out images, new samples), trained on other held-out images"
    paper = "α-GAN §4, Fig. 2 (Danihelka et al. 2017)"
    direction = "higher"
    needs = frozenset({SAMPLES})
    n_paper, n_quick = 10_000, 500
    steps_paper, steps_quick = 2_000, 200
    width_paper, width_quick = 64, 16

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        n = self.n(ctx)
        paper = ctx.sample_setting == "paper"
        steps = int(ctx.cache.get(CRITIC_STEPS_OPTION, self.steps_paper if paper else self.steps_quick))
        width = self.width_paper if paper else self.width_quick
        fakes = ctx.samples(2 * n)  # first half trains the critic, the second half is the new samples
        half = len(fakes) // 2
        if half < 2:
            raise MetricUnavailable(f"critic_w needs at least 4 samples, got {len(fakes)}")
        real_val, real_test, source, dupes = held_out_sets(ctx, n)
        real_test = drop_seen(real_test, fakes[:half])
        if len(real_val) == 0 or len(real_test) == 0:
            raise MetricUnavailable("critic_w: no held-out image left (every one is a training image or a "
                                    "critic training sample)")
        ctx.cache[CRITIC_REAL_KEY] = (real_val, real_test)
        value = negative_wasserstein(ctx.dataset.spec, real_val, fakes[:half], real_test, fakes[half:2 * half],
                                     steps=steps, width=width, seed=ctx.seed, device=ctx.device)
        return {self.name: value, f"{self.name}.steps": steps, f"{self.name}.n_val": len(real_val),
                f"{self.name}.n_test": len(real_test), f"{self.name}.val_source": source,
                f"{self.name}.dropped_train_dupes": dupes, "__n__": half}
