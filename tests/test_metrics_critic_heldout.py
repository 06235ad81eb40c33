"""critic_w trains and evaluates on held-out images only (α-GAN §4: "held out validation data").

Before issue 16 the critic's ``val`` was a seeded 10 % slice of *train* (on digits every critic image was a
training image); these tests fail on that code.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.data import DATASETS, load
from bench.data.base import VAL_FROM_TEST, Dataset, Split
from bench.errors import MissingResourceError
from metrics.base import EvalContext, evaluate
from metrics.critic import CRITIC_REAL_KEY, CRITIC_STEPS_OPTION, held_out_sets, row_digests

pytestmark = pytest.mark.usefixtures("one_thread")


def _write_cifar10(root: Path) -> None:
    """A 40 / 20 image CIFAR-10 copy in torchvision's ``cifar-10-batches-py`` layout."""
    base = root / "cifar-10-batches-py"
    base.mkdir(parents=True)
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (40, 3072), dtype=np.uint8)
    test = rng.integers(0, 256, (20, 3072), dtype=np.uint8)
    test[:3] = train[:3]  # duplicates across the official splits must not reach the critic
    for i in range(5):
        with open(base / f"data_batch_{i + 1}", "wb") as fh:
            pickle.dump({"data": train[i * 8:(i + 1) * 8], "labels": [0] * 8}, fh)
    with open(base / "test_batch", "wb") as fh:
        pickle.dump({"data": test, "labels": [1] * 20}, fh)
    with open(base / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, fh)


def _stand_in(name: str) -> Dataset:
    """A dataset that cannot be loaded offline, rebuilt with its split names (CelebA: official val) from
    random images, with training images repeated inside the held-out splits."""
    from bench.data.base import DataSpec

    g = torch.Generator().manual_seed(0)
    train = torch.randint(0, 256, (60, 3, 8, 8), generator=g, dtype=torch.uint8)
    test = torch.cat([torch.randint(0, 256, (27, 3, 8, 8), generator=g, dtype=torch.uint8), train[:3]])
    splits = {"train": Split(train), "test": Split(test)}
    if name.startswith("celeba"):
        splits["val"] = Split(torch.cat([torch.randint(0, 256, (18, 3, 8, 8), generator=g, dtype=torch.uint8),
                                         train[5:7]]))
    return Dataset(DataSpec(name, "image", (3, 8, 8)), splits)


def _dataset(name: str, tmp_path: Path) -> tuple[Dataset, str]:
    if name == "cifar10":
        from bench.data.real import cifar10

        _write_cifar10(tmp_path)
        return cifar10(str(tmp_path)), "torchvision loader on CIFAR-format files"
    try:
        return load(name, str(tmp_path / "nodata")), "loader"
    except MissingResourceError:
        return _stand_in(name), "stand-in"


@pytest.mark.parametrize("name", DATASETS.names())
def test_critic_images_are_never_training_images(name: str, tmp_path: Path) -> None:
    ds, how = _dataset(name, tmp_path)
    fit, ev, source, dupes = held_out_sets(EvalContext(ds), 10_000)
    train = set(row_digests(ds.train.data))
    fit_keys, ev_keys = row_digests(fit), row_digests(ev)
    assert len(fit) > 0 and len(ev) > 0, how
    assert not train & set(fit_keys), f"{name} ({how}): a critic-training image is a training image"
    assert not train & set(ev_keys), f"{name} ({how}): a critic evaluation image is a training image"
    assert not set(fit_keys) & set(ev_keys) or name == "shapes", f"{name}: the critic is evaluated on its own data"
    official_val = "val" in ds.splits and not ds.splits["val"].origin
    assert source == ("val (official split)" if official_val else VAL_FROM_TEST)
    if how != "loader":
        assert dupes == (5 if official_val else 3)  # the planted training images were dropped


def test_shapes_repeats_training_images_in_test_and_the_critic_drops_them() -> None:
    ds = load("shapes")
    fit, ev, _, dupes = held_out_sets(EvalContext(ds), 10_000)
    assert dupes == 567 and len(fit) + len(ev) == 2_000 - 567  # measured: shapes' generator repeats images


def test_critic_w_on_digits_never_sees_a_training_image() -> None:
    ds = load("digits")
    noise = torch.randint(0, 256, (200, 1, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    ctx = EvalContext(ds, sample_images=noise, n_override=100, seed=0)
    ctx.cache[CRITIC_STEPS_OPTION] = 5
    out = evaluate(ctx, ["critic_w"])
    assert out["critic_w.val_source"] == VAL_FROM_TEST and out["critic_w.dropped_train_dupes"] == 0
    assert out["critic_w.n_val"] == 100 and out["critic_w.n_test"] == 100
    fit, ev = ctx.cache[CRITIC_REAL_KEY]
    train = set(row_digests(ds.train.uint8()))
    assert not train & set(row_digests(fit)) and not train & set(row_digests(ev))
    assert not set(row_digests(fit)) & set(row_digests(ev))
    # both sets come from digits' 300 test images, halves A (the dataset's val) and B
    test = set(row_digests(ds.test.uint8()))
    assert set(row_digests(fit)) <= set(row_digests(ds.split("val").uint8())) <= test
    assert set(row_digests(ev)) <= test


def test_a_bare_image_set_keeps_its_halves() -> None:
    """``bench evaluate --real DIR``: the folder is every split (no model trained on it here), so nothing is
    dropped as a training image and the critic uses the two halves."""
    from bench.sources import images_dataset

    images = torch.randint(0, 256, (40, 3, 8, 8), generator=torch.Generator().manual_seed(5), dtype=torch.uint8)
    fit, ev, source, dupes = held_out_sets(EvalContext(images_dataset(images)), 100)
    assert (len(fit), len(ev), dupes) == (20, 20, 0) and "no training split" in source
    assert not set(row_digests(fit)) & set(row_digests(ev))
