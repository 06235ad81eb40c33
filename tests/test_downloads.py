"""Downloads on first use, against a local HTTP server on 127.0.0.1 (``BENCH_DOWNLOAD_BASE_URL``).

The server serves files this test writes in the upstream formats (CIFAR-10's pickled batches in a .tar.gz,
MNIST's gzipped IDX files, CelebA's zip and text lists, a weights file), under the upstream paths. The code
that downloads, verifies (MD5 / SHA-256 from torchvision's classes and the weights table) and unpacks is the
suite's real one; only the expected checksums are set to those of the test's files. Cases: a good download,
a checksum mismatch, a truncated transfer, a refused connection and ``--offline``; each failure is one line,
exit code 2, and leaves nothing in the data root. The offline ``make bench DATASET=cifar10`` is timed.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import socket
import struct
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets as tvd
from PIL import Image

from bench.cli import main
from bench.data import layout, load
from bench.data import remote as R
from bench.data.download import _FAILED, ENV_BASE_URL, ENV_OFFLINE, ENV_TIMEOUT
from bench.errors import MissingResourceError
from metrics import weights as W

ROOT = Path(__file__).resolve().parents[1]


class Server:
    """Serves ``files`` (URL path → bytes); ``truncate`` paths announce their full length and send half."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.truncate: set[str] = set()
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.hits.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if self.path in server.truncate else body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def put(self, url: str, body: bytes) -> None:
        """Serve ``body`` where the upstream ``url`` is rewritten to (``BASE/<host>/<path>``)."""
        self.files["/" + url.split("://", 1)[1]] = body


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    s = Server()
    monkeypatch.delenv(ENV_OFFLINE, raising=False)
    monkeypatch.setenv(ENV_BASE_URL, s.base)
    monkeypatch.setenv(ENV_TIMEOUT, "5")
    _FAILED.clear()
    load.cache_clear()
    yield s
    s.httpd.shutdown()
    _FAILED.clear()
    load.cache_clear()


def md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def cifar10_archive(n: int = 6, seed: int = 0) -> tuple[bytes, np.ndarray, list[int]]:
    """``cifar-10-python.tar.gz`` as upstream lays it out: five train batches, a test batch, batches.meta
    (pickled dicts with ``data`` (N, 3072) uint8 rows in R, G, B planes and ``labels``)."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    all_train, all_labels = [], []
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        def add(name: str, obj: object) -> None:
            data = pickle.dumps(obj)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for b in range(1, 6):
            x = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
            y = [int(v) for v in rng.integers(0, 10, n)]
            all_train.append(x)
            all_labels += y
            add(f"data_batch_{b}", {"data": x, "labels": y, "batch_label": f"training batch {b} of 5"})
        add("test_batch", {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "labels": [0] * n})
        add("batches.meta", {"label_names": [f"class{i}" for i in range(10)], "num_vis": 3072})
    return buf.getvalue(), np.concatenate(all_train), all_labels


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def serve_cifar10(server: Server, monkeypatch: pytest.MonkeyPatch, tamper: bool = False) -> tuple[np.ndarray, list[int]]:
    """Serve a CIFAR-10 archive at its upstream URL with torchvision's MD5 set to the archive's; ``tamper``
    serves other bytes of the same size instead."""
    archive, train, labels = cifar10_archive()
    server.put(tvd.CIFAR10.url, archive[:-10] + b"0123456789" if tamper else archive)
    monkeypatch.setattr(tvd.CIFAR10, "tgz_md5", md5(archive))
    return train, labels


# ---- the five cases ----------------------------------------------------------------------------
def test_good_download_on_first_use_unpacks_into_torchvision_layout(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    train, labels = serve_cifar10(server, monkeypatch)
    root = tmp_path / "data"
    ds = load("cifar10", str(root))  # first use: not on disk → downloaded, verified, unpacked, loaded
    expected = torch.from_numpy(train.reshape(-1, 3, 32, 32))
    assert torch.equal(ds.train.data, expected) and ds.train.labels.tolist() == labels
    assert len(ds.test) == 6 and ds.spec.shape == (3, 32, 32)
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-batches-py"]  # no archive, no temporary folder
    assert "cifar-10-python.tar.gz" in capsys.readouterr().err  # the progress bar
    assert server.hits == ["/www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
    load.cache_clear()
    assert main(["data", "download", "cifar10", "--data-root", str(root)]) == 0  # present: no second fetch
    assert "already in" in capsys.readouterr().out and len(server.hits) == 1


def test_checksum_mismatch_is_one_line_and_leaves_nothing(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    serve_cifar10(server, monkeypatch, tamper=True)
    root = tmp_path / "data"
    assert main(["data", "download", "cifar10", "--data-root", str(root)]) == 2
    line = one_line_error(capsys)
    assert f"from {tvd.CIFAR10.url}: MD5 " in line and f"does not match the expected {tvd.CIFAR10.tgz_md5}" in line
    assert f"python -m bench data download cifar10 --data-root {root}" in line
    assert not root.exists()


def test_truncated_transfer_is_one_line_and_leaves_nothing(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    archive, _, _ = cifar10_archive()
    server.put(tvd.CIFAR10.url, archive)
    server.truncate.add("/www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz")
    monkeypatch.setattr(tvd.CIFAR10, "tgz_md5", None)  # even without a checksum the short file is refused
    root = tmp_path / "data"
    root.mkdir()
    assert main(["data", "download", "cifar10", "--data-root", str(root)]) == 2
    line = one_line_error(capsys)
    assert "truncated transfer" in line and tvd.CIFAR10.url in line
    assert list(root.iterdir()) == []  # the data root existed before: kept, and empty


def test_refused_connection_is_one_line_within_seconds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.delenv(ENV_OFFLINE, raising=False)
    monkeypatch.setenv(ENV_BASE_URL, f"http://127.0.0.1:{port}")
    _FAILED.clear()
    load.cache_clear()
    root = tmp_path / "data"
    start = time.perf_counter()
    assert main(["train", "--model", "vae", "--dataset", "cifar10", "--data-root", str(root), "--steps", "1",
                 "--out", str(tmp_path / "run"), "--quiet"]) == 2
    assert time.perf_counter() - start < 5
    line = one_line_error(capsys)
    assert line.startswith(f"error: could not download cifar-10-python.tar.gz from {tvd.CIFAR10.url}: ")
    assert "refused" in line.lower() and "--offline" in line
    assert not root.exists() and not (tmp_path / "run").exists()
    _FAILED.clear()


def test_offline_never_touches_the_network(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    serve_cifar10(server, monkeypatch)
    root = tmp_path / "data"
    assert main(["data", "download", "cifar10", "--data-root", str(root), "--offline"]) == 2
    assert "the network is off" in one_line_error(capsys)
    with pytest.raises(MissingResourceError, match=r"^dataset 'cifar10' not found in .*; fetch it with: "
                                                   r"python -m bench data download cifar10 --data-root "):
        load("cifar10", str(root))  # --offline set BENCH_OFFLINE for the process: today's line
    monkeypatch.setenv(ENV_OFFLINE, "1")
    assert main(["weights", "--only", "alexnet", "--weights-dir", str(tmp_path / "w")]) == 2
    assert "network is off" in one_line_error(capsys)
    assert server.hits == [] and not root.exists() and not (tmp_path / "w").exists()


def test_make_bench_offline_cifar10_one_line_under_5_s(tmp_path: Path) -> None:
    root = tmp_path / "nothing-here"
    out_dir = ROOT / "results" / "sweeps" / "bench-cifar10"
    existed = out_dir.exists()
    start = time.perf_counter()
    proc = subprocess.run(["make", "-s", "--no-print-directory", "bench", "DATASET=cifar10", f"DATA_ROOT={root}",
                           "OFFLINE=1", f"PY={sys.executable}"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - start
    print(f"make bench DATASET=cifar10 OFFLINE=1: {elapsed:.2f} s")
    assert proc.returncode == 2, proc.stderr
    ours = [ln for ln in proc.stderr.splitlines() if not ln.startswith("make")]
    assert ours == [f"error: dataset 'cifar10' not found in {root} and the network is off (--offline / "
                    f"BENCH_OFFLINE=1); fetch it with: python -m bench data download cifar10 --data-root {root}"] \
        or (len(ours) == 1 and ours[0].startswith("error: dataset 'cifar10' not found in")), proc.stderr
    assert proc.stdout == ""
    assert elapsed < 5
    assert not root.exists() and out_dir.exists() == existed


# ---- other upstream formats --------------------------------------------------------------------
def idx(data: np.ndarray, magic: int) -> bytes:
    return struct.pack(">" + "I" * (1 + data.ndim), magic, *data.shape) + data.tobytes()


def test_mnist_gzipped_idx_files_and_colormnist(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    arrays = {"train-images-idx3-ubyte": idx(rng.integers(0, 256, (8, 28, 28), dtype=np.uint8), 2051),
              "train-labels-idx1-ubyte": idx(np.arange(8, dtype=np.uint8), 2049),
              "t10k-images-idx3-ubyte": idx(rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), 2051),
              "t10k-labels-idx1-ubyte": idx(np.arange(4, dtype=np.uint8), 2049)}
    resources = []
    for name, raw in arrays.items():
        gz = gzip.compress(raw)
        resources.append((f"{name}.gz", md5(gz)))
        server.put(tvd.MNIST.mirrors[0] + f"{name}.gz", gz)
    monkeypatch.setattr(tvd.MNIST, "resources", resources)
    root = tmp_path / "data"
    ds = load("colormnist", str(root))
    assert ds.spec.shape == (3, 32, 32) and len(ds.train) == 8
    raw = root / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(arrays)
    assert all((raw / n).read_bytes() == b for n, b in arrays.items())
    assert sorted(p.name for p in root.iterdir()) == ["MNIST"]


def celeba_files(n: int = 8) -> dict[str, bytes]:
    """CelebA's aligned-image zip and its five text lists, in torchvision's expected formats."""
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i, name in enumerate(names):
            img = io.BytesIO()
            Image.new("RGB", (178, 218), (40 * i, 100, 200 - 30 * i)).save(img, "JPEG")
            zf.writestr(f"img_align_celeba/{name}", img.getvalue())
    rows = lambda f: "".join(f"{nm} {f(i)}\n" for i, nm in enumerate(names))  # noqa: E731
    head = f"{n}\n"
    return {
        "img_align_celeba.zip": buf.getvalue(),
        "list_eval_partition.txt": rows(lambda i: [0, 0, 0, 0, 1, 1, 2, 2][i]).encode(),
        "identity_CelebA.txt": rows(lambda i: i).encode(),
        "list_bbox_celeba.txt": (head + "image_id x_1 y_1 width height\n" + rows(lambda i: "1 2 3 4")).encode(),
        "list_landmarks_align_celeba.txt": (head + "lx ly\n" + rows(lambda i: "5 6")).encode(),
        "list_attr_celeba.txt": (head + "Smiling\n" + rows(lambda i: 1 if i % 2 else -1)).encode(),
    }


def test_celeba_from_google_drive_through_gdown(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = celeba_files()
    table = []
    for fid, _, name in tvd.CelebA.file_list:
        server.put(R.GDRIVE_URL.format(fid), files[name])
        table.append((fid, md5(files[name]), name))
    monkeypatch.setattr(tvd.CelebA, "file_list", table)
    root = tmp_path / "data"
    assert main(["data", "download", "celeba", "--data-root", str(root)]) == 0
    assert sorted(p.name for p in (root / "celeba").iterdir()) == sorted(n.removesuffix(".zip") for n in files)
    ds = load("celeba", str(root))
    assert (len(ds.train), len(ds.split("val")), len(ds.test)) == (4, 2, 2) and ds.spec.shape == (3, 64, 64)


def test_weights_downloaded_on_first_use_with_hash_check(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = b"weights" * 1000
    prefix = hashlib.sha256(payload).hexdigest()[:8]
    url = f"https://download.pytorch.org/models/tiny-{prefix}.pth"
    server.put(url, payload)
    monkeypatch.setattr(W, "TABLE", {"tiny": W.WeightsFile("tiny", f"tiny-{prefix}.pth", url, "test", ("m",), prefix)})
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no library cache to find it in
    d = tmp_path / "w"
    assert W.ensure("tiny", d, progress=False) == d / f"tiny-{prefix}.pth"
    assert (d / f"tiny-{prefix}.pth").read_bytes() == payload
    server.truncate.add("/" + url.split("://", 1)[1])
    (d / f"tiny-{prefix}.pth").unlink()
    with pytest.raises(MissingResourceError, match=r"truncated transfer.*python -m bench weights --weights-dir"):
        W.ensure("tiny", d, progress=False)
    assert list(d.iterdir()) == []


def test_built_in_and_hand_copied_datasets_say_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["data", "download", "digits", "--data-root", str(tmp_path)]) == 0
    assert "built into the suite" in capsys.readouterr().out and "needs no download" in R.no_download_reason("shapes", "x")
    assert main(["data", "download", "lsun-bedroom", "--data-root", str(tmp_path)]) == 2
    assert "LSUN has no automatic download" in one_line_error(capsys)
    assert main(["data", "download", "ffhq", "--data-root", str(tmp_path)]) == 2
    line = one_line_error(capsys)
    assert "FFHQ" in line and "LSUN" not in line
    assert list(tmp_path.iterdir()) == []


def test_offline_layout_check_matches_what_the_downloads_put_in_place() -> None:
    """The torch-free presence check (offline fast path) names exactly the files the downloads unpack,
    and the CIFAR files torchvision's class reads."""
    for name, required in layout.REQUIRED.items():
        targets = {str(Path(f.into) / f.result) for f in R.files(name)}
        covered = {t for t in targets for r in required if r == t or r.startswith(t + "/")}
        assert covered == targets, name
        assert all(any(r == t or r.startswith(t + "/") for t in targets) for r in required), name
    cifar = {f"cifar-10-batches-py/{f}" for f, _ in tvd.CIFAR10.train_list + tvd.CIFAR10.test_list}
    assert set(layout.REQUIRED["cifar10"]) == cifar | {"cifar-10-batches-py/batches.meta"}


def test_fashion_mnist_downloaded_when_neither_data_root_nor_debian_has_it(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Third in the look-up order (after the data root and Debian's directory): torchvision's FashionMNIST files,
    MD5-checked and gunzipped into ``FashionMNIST/raw``; a bad checksum leaves nothing."""
    from bench.data import fashion_mnist

    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", str(tmp_path / "no-debian"))
    rng = np.random.default_rng(3)
    arrays = {"train-images-idx3-ubyte": idx(rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), 2051),
              "train-labels-idx1-ubyte": idx(np.arange(6, dtype=np.uint8), 2049),
              "t10k-images-idx3-ubyte": idx(rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), 2051),
              "t10k-labels-idx1-ubyte": idx(np.arange(3, dtype=np.uint8), 2049)}
    resources = []
    for name, raw in arrays.items():
        gz = gzip.compress(raw)
        resources.append((f"{name}.gz", md5(gz)))
        server.put(tvd.FashionMNIST.mirrors[0] + f"{name}.gz", gz)
    monkeypatch.setattr(tvd.FashionMNIST, "resources", [(f, "0" * 32) for f, _ in resources])
    bad = tmp_path / "bad"
    with pytest.raises(MissingResourceError, match="MD5 .* does not match.*apt-get install dataset-fashion-mnist"):
        load("fashion-mnist@32", str(bad))
    assert not bad.exists()
    monkeypatch.setattr(tvd.FashionMNIST, "resources", resources)
    root = tmp_path / "data"
    ds = load("fashion-mnist@32", str(root))
    assert ds.spec.shape == (1, 32, 32) and (len(ds.train), len(ds.test)) == (6, 3)
    raw = root / "FashionMNIST" / "raw"
    assert all((raw / n).read_bytes() == b for n, b in arrays.items())
    assert fashion_mnist.locate(root) == raw
