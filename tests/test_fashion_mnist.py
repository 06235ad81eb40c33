"""Fashion-MNIST (``fashion-mnist``, ``fashion-mnist@32``): the IDX parsing, the look-up order (data root, Debian's
``/usr/share/datasets/fashion-mnist``, torchvision's download), ``python -m bench data check`` and the one-line
errors.

The test writes small IDX files itself in the upstream format (LeCun's MNIST page: a big-endian magic
``0x00000803`` / ``0x00000801``, the sizes, then the bytes), gzipped as upstream ships them. References: the bytes
the test wrote (hand-built headers), torchvision's own MNIST/FashionMNIST reader (``read_image_file`` /
``read_label_file``) on the same files, and ``numpy.pad`` for the zero padding. One test reads the real Debian
package and is skipped where it is not installed.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets as tvd
from torchvision.datasets.mnist import read_image_file, read_label_file

from bench.cli import main
from bench.data import DATASETS, fashion_mnist, layout, load
from bench.data import remote as R
from bench.data.fashion_mnist import IdxError, read_idx

SYSTEM = Path("/usr/share/datasets/fashion-mnist")
STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(data: np.ndarray, magic: int) -> bytes:
    """An IDX file by hand: big-endian magic, one big-endian uint32 per dimension, the bytes in C order."""
    return struct.pack(">" + "I" * (1 + data.ndim), magic, *data.shape) + data.tobytes()


def write_fashion(folder: Path, n_train: int = 12, n_test: int = 5, gz: bool = True, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": (np.arange(n_test)[::-1] % 10).astype(np.uint8)}
    folder.mkdir(parents=True, exist_ok=True)
    for stem, arr in arrays.items():
        raw = idx_bytes(arr, 2051 if arr.ndim == 3 else 2049)
        (folder / (f"{stem}.gz" if gz else stem)).write_bytes(gzip.compress(raw) if gz else raw)
    return arrays


@pytest.fixture
def no_system(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Debian's directory pointed at an empty folder (CI may or may not have the package installed)."""
    empty = tmp_path / "no-debian"
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", str(empty))
    load.cache_clear()
    yield empty
    load.cache_clear()


def test_idx_reader_matches_hand_written_bytes_and_torchvision(tmp_path: Path) -> None:
    img = np.arange(2 * 28 * 28, dtype=np.int64).reshape(2, 28, 28).astype(np.uint8)
    (tmp_path / "img").write_bytes(b"\x00\x00\x08\x03" + b"\x00\x00\x00\x02" + b"\x00\x00\x00\x1c" * 2 + img.tobytes())
    assert np.array_equal(read_idx(tmp_path / "img"), img)
    assert np.array_equal(read_idx(tmp_path / "img"), read_image_file(str(tmp_path / "img")).numpy())
    lab = np.array([9, 0, 3], dtype=np.uint8)
    (tmp_path / "lab.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x03" + lab.tobytes()))
    (tmp_path / "lab").write_bytes(gzip.decompress((tmp_path / "lab.gz").read_bytes()))
    assert read_idx(tmp_path / "lab.gz").tolist() == [9, 0, 3] == read_label_file(str(tmp_path / "lab")).tolist()


@pytest.mark.parametrize("bad", [b"\x00\x00\x0d\x01\x00\x00\x00\x01abcd", b"\x00\x00\x08\x01\x00\x00\x00\x05ab",
                                 b"\x01\x02", b"\x1f\x8b\x08garbage"])
def test_bad_idx_files_are_one_line(tmp_path: Path, bad: bytes) -> None:
    path = tmp_path / ("f.gz" if bad.startswith(b"\x1f\x8b") else "f")
    path.write_bytes(bad)
    with pytest.raises(IdxError) as err:
        read_idx(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_loader_padding_and_labels_against_the_written_files(tmp_path: Path, no_system: Path) -> None:
    arrays = write_fashion(tmp_path / "root" / "fashion-mnist")
    root = str(tmp_path / "root")
    native, padded = load("fashion-mnist", root), load("fashion-mnist@32", root)
    assert native.spec.shape == (1, 28, 28) and padded.spec.shape == (1, 32, 32) and padded.spec.name == "fashion-mnist@32"
    assert native.spec.n_classes == 10 and (len(native.train), len(native.test)) == (12, 5)
    assert np.array_equal(native.train.data[:, 0].numpy(), arrays["train-images-idx3-ubyte"])
    assert np.array_equal(native.test.labels.numpy(), arrays["t10k-labels-idx1-ubyte"])
    # zero padding keeps every pixel: the 28x28 image sits unchanged in the middle, a 2-px border of 0
    want = np.pad(arrays["t10k-images-idx3-ubyte"], ((0, 0), (2, 2), (2, 2)), constant_values=0)
    assert np.array_equal(padded.test.data[:, 0].numpy(), want)
    assert torch.equal(padded.train.labels, native.train.labels) and padded.train.labels.dtype == torch.int64
    # torchvision's FashionMNIST reads the same (un-gzipped) files in its layout: same images and labels
    raw = tmp_path / "tv" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in STEMS:
        (raw / stem).write_bytes(gzip.decompress((tmp_path / "root" / "fashion-mnist" / f"{stem}.gz").read_bytes()))
    ref = tvd.FashionMNIST(str(tmp_path / "tv"), train=True, download=False)
    assert torch.equal(ref.data, native.train.data[:, 0]) and torch.equal(ref.targets, native.train.labels)
    assert "fashion-mnist@30" in DATASETS and "fashion-mnist@31" not in DATASETS and "fashion-mnist@16" not in DATASETS


def test_look_up_order_data_root_then_debian(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    system = tmp_path / "debian"
    write_fashion(system, n_train=7, seed=1)
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", str(system))
    load.cache_clear()
    root = tmp_path / "root"
    root.mkdir()
    assert fashion_mnist.locate(root) == system  # nothing under the data root: Debian's directory
    assert main(["data", "check", "fashion-mnist@32", "--data-root", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"found in {system} (Debian package dataset-fashion-mnist)" in out and "7 train, 5 test" in out, out
    write_fashion(root / "FashionMNIST" / "raw", n_train=9, gz=False, seed=2)  # torchvision's layout, un-gzipped
    assert fashion_mnist.locate(root) == root / "FashionMNIST" / "raw"  # the data root comes first
    assert main(["data", "check", "fashion-mnist", "--data-root", str(root)]) == 0
    assert "9 train, 5 test" in capsys.readouterr().out
    load.cache_clear()


def test_missing_everywhere_is_one_line_exit_2_naming_apt_and_the_download(
        tmp_path: Path, no_system: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "empty"
    for argv in (["data", "check", "fashion-mnist", "--data-root", str(root)],
                 ["train", "--model", "vae", "--dataset", "fashion-mnist@32", "--data-root", str(root), "--steps", "1",
                  "--out", str(tmp_path / "run"), "--quiet", "--offline"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err, err
        assert "apt-get install dataset-fashion-mnist" in lines[0]
        assert f"python -m bench data download fashion-mnist --data-root {root}" in lines[0]
    assert not root.exists() and not (tmp_path / "run").exists()
    assert main(["data", "check", "fashion-mnist@33"]) == 2
    assert "28 plus an even number" in capsys.readouterr().err


def test_download_target_is_torchvisions_layout_and_checksums() -> None:
    """The download fetches torchvision's FashionMNIST files (its mirrors and MD5 sums) into FashionMNIST/raw,
    which the offline check and the loader read."""
    files = R.files("fashion-mnist")
    assert [(f.file, f.md5) for f in files] == list(tvd.FashionMNIST.resources)
    assert all(f.urls == tuple(m + f.file for m in tvd.FashionMNIST.mirrors) and f.unpack == "gunzip" for f in files)
    assert {f"{f.into}/{f.result}" for f in files} == set(layout.REQUIRED["fashion-mnist"])
    assert {f"{fashion_mnist.TORCHVISION_DIR}/{s}" for s in STEMS} == set(layout.REQUIRED["fashion-mnist"])


@pytest.mark.skipif(not SYSTEM.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_debian_package_is_found_with_the_upstream_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "check", "fashion-mnist@32", "--data-root", str(tmp_path / "none")]) == 0
    out = capsys.readouterr().out
    assert f"found in {SYSTEM}" in out and "60,000 train, 10,000 test" in out and "1x32x32, 10 classes" in out
    labels = fashion_mnist.read_idx(SYSTEM / "t10k-labels-idx1-ubyte.gz")
    assert np.bincount(labels).tolist() == [1000] * 10  # Fashion-MNIST's test split: 1,000 images per class
