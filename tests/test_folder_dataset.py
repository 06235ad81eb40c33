"""Labelled image folders (torchvision's ``ImageFolder`` convention), the ``folder@SIZE`` resolution option,
and the one-line errors for an empty folder, mixed image sizes and an unreadable file.

A folder this test writes (three classes of distinct colours) gives ``is_domain`` and ``fd_domain`` through
``bench train`` and ``bench evaluate``. References: torchvision's ``ImageFolder`` for the labels; the
Inception Score's bounds (1 ≤ IS ≤ K; 1 for a single class) and FD(x, x) = 0.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from bench.cli import main
from bench.data import DATASETS, load
from bench.data.real import image_folder

COLOURS = {"blue": (30, 60, 220), "green": (40, 200, 60), "red": (220, 40, 40)}


def write_labelled(root: Path, per_class: int = 64, size: int = 32, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for name, rgb in COLOURS.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            noise = rng.integers(-25, 26, (size, size, 3))
            Image.fromarray(np.clip(np.array(rgb) + noise, 0, 255).astype(np.uint8)).save(root / name / f"{i:03d}.png")


@pytest.fixture
def labelled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))  # the domain classifier's cache
    root = tmp_path / "images"
    write_labelled(root, size=16)  # 16 px: the domain classifier of the slow test below trains 4x faster
    load.cache_clear()
    yield root
    load.cache_clear()


def test_labels_follow_torchvision_image_folder(labelled: Path) -> None:
    ds = image_folder(str(labelled), "folder", 32)
    reference = torchvision.datasets.ImageFolder(str(labelled))
    assert reference.classes == ["blue", "green", "red"] and ds.spec.n_classes == 3
    ref_labels = torch.tensor(reference.targets)
    got = torch.cat([ds.train.labels, ds.test.labels]).sort().values
    assert torch.equal(got, ref_labels.sort().values)
    assert torch.bincount(ds.test.labels).tolist() == [6, 6, 6]  # 10 % of every class held out
    # every image carries its own folder's label: the colour's dominant channel
    dominant = {"blue": 2, "green": 1, "red": 0}
    for split in (ds.train, ds.test):
        chan = split.data.float().mean(dim=(2, 3)).argmax(1)
        want = torch.tensor([dominant[reference.classes[int(y)]] for y in split.labels])
        assert torch.equal(chan, want)


def test_folder_dataset_gives_no_numpy_warning(labelled: Path) -> None:
    """Issue 28: every folder dataset warned "The given NumPy array is not writable" (torch.from_numpy of the
    read-only memory map of its decoded cache). Decoded (first load) and from the cache (second load)."""
    import warnings

    for _ in range(2):
        load.cache_clear()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ds = load("folder@16", str(labelled))
        assert ds.train.data.shape[1:] == (3, 16, 16)
    assert list((labelled.parent / "cache" / "folders").glob("folder_16_*.npy"))  # the second load read the cache


def test_resolution_option_and_unlabelled_folders(tmp_path: Path, labelled: Path) -> None:
    ds = load("folder@16", str(labelled))
    assert ds.spec.shape == (3, 16, 16) and ds.spec.name == "folder@16" and ds.spec.n_classes == 3
    assert "folder@128" in DATASETS and "cifar10@64" not in DATASETS
    assert main(["train", "--model", "vae", "--dataset", "folder@abc", "--data-root", str(labelled)]) == 2
    assert main(["train", "--model", "vae", "--dataset", "cifar10@64"]) == 2
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(4):
        Image.new("RGB", (20, 24), (i * 50, 0, 0)).save(flat / f"{i}.png")
    ds = load("folder", str(flat))
    assert ds.spec.n_classes is None and ds.train.labels is None and ds.spec.shape == (3, 64, 64)


@pytest.mark.slow  # ~25 s on one core (train + two evaluations; the small domain classifier is trained twice)
def test_is_domain_and_fd_domain_through_train_and_evaluate(labelled: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main(["train", "--model", "vae", "--dataset", "folder@16", "--data-root", str(labelled), "--steps", "2",
                 "--metrics", "is_domain,fd_domain", "--n-eval", "60", "--out", str(run), "--quiet"]) == 0
    rec = json.loads((run / "metrics.json").read_text())
    assert 1.0 <= rec["is_domain"] <= 3.0 and rec["fd_domain"] > 0, rec
    assert rec["is_domain.classifier_heldout_acc"] == 1.0  # three distinct colours: the classifier gets them all
    capsys.readouterr()
    # evaluate: the folder's own images as fakes against the folder → FD(x, x) = 0, and an IS well above 1
    # (1 is what one class, or labels the classifier cannot learn, gives) and at most K = 3
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--fake", str(labelled), "--real", str(labelled), "--metrics", "is_domain,fd_domain",
                 "--json", str(out)]) == 0
    got = json.loads(out.read_text())
    assert got["fd_domain"] == pytest.approx(0.0, abs=1e-6)
    assert 2.0 < got["is_domain"] <= 3.0 and got["is_domain.classifier_heldout_acc"] == 1.0
    # evaluate the run directory: its dataset (folder@16 under the recorded data root) supplies the labels
    assert main(["evaluate", "--fake", str(run), "--metrics", "is_domain,fd_domain", "--json", str(out)]) == 0
    got = json.loads(out.read_text())
    assert "is_domain.unavailable" not in got and got["fd_domain"] > 0


@pytest.mark.parametrize("case", ["empty", "mixed", "unreadable"])
def test_bad_folders_are_one_line_naming_the_file(tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "imgs"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    if case != "empty":
        Image.new("RGB", (32, 32)).save(root / "a" / "1.png")
        Image.new("RGB", (32, 32)).save(root / "b" / "1.png")
    if case == "mixed":
        Image.new("RGB", (48, 32)).save(root / "b" / "2.png")
        named = root / "b" / "2.png"
    elif case == "unreadable":
        (root / "b" / "2.png").write_bytes(b"not a png")
        named = root / "b" / "2.png"
    else:
        named = root
    load.cache_clear()
    for argv in (["train", "--model", "vae", "--dataset", "folder", "--data-root", str(root), "--steps", "1",
                  "--out", str(tmp_path / "run"), "--quiet"],
                 ["evaluate", "--fake", str(root), "--real", str(root), "--metrics", "is_domain"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: ") and str(named) in err, err
        if case == "mixed":
            assert "different sizes" in err
    assert not (tmp_path / "run").exists() and sorted(p.name for p in root.iterdir()) == ["a", "b"]
