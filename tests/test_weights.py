"""The weights directory: resolution order, the one-line missing-file error, the downloader (through
``file://`` URLs, no network), SHA-256 prefix checks, archives, and ``python -m bench weights``."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from bench.cli import main
from bench.errors import BenchError, MissingResourceError
from metrics import weights as W


def test_directory_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(W.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert W.resolve_dir() == tmp_path / "xdg" / "hybrid-bench" / "weights"
    monkeypatch.setenv(W.ENV_VAR, str(tmp_path / "env"))
    assert W.resolve_dir() == tmp_path / "env"
    assert W.resolve_dir(tmp_path / "arg") == tmp_path / "arg"
    assert W.path("resnet50") == tmp_path / "env" / "resnet50-0676ba61.pth"


def test_table_uses_upstream_file_names_and_hash_prefixes() -> None:
    for w in W.TABLE.values():
        assert w.file == w.url.rsplit("/", 1)[-1] or w.archive, w.name
        if w.sha256_prefix:  # torch.hub convention: "<stem>-<sha256 prefix>.<ext>"
            assert w.file.rsplit(".", 1)[0].endswith("-" + w.sha256_prefix)
    assert W.TABLE["inception-v3-compat"].file == "weights-inception-2015-12-05-6726825d.pth"
    assert W.TABLE["clean-fid-inception"].file == "inception-2015-12-05.pt"


def test_ensure_missing_is_one_line_naming_file_and_command(tmp_path: Path) -> None:
    with pytest.raises(MissingResourceError) as err:
        W.ensure("inception-v3-tv", tmp_path)
    msg = str(err.value)
    assert msg == (f"missing weights file inception_v3_google-0cc3c7bd.pth in {tmp_path}; "
                   f"fetch with: python -m bench weights --weights-dir {tmp_path}")
    assert isinstance(err.value, BenchError) and err.value.exit_code == 2
    (tmp_path / "inception_v3_google-0cc3c7bd.pth").write_bytes(b"x")
    assert W.ensure("inception-v3-tv", tmp_path) == tmp_path / "inception_v3_google-0cc3c7bd.pth"


@pytest.fixture
def fake_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Two files and one zip served from file:// URLs, with correct and wrong SHA-256 prefixes."""
    src = tmp_path / "upstream"
    src.mkdir()
    payload = {"good": b"good weights" * 100, "bad": b"tampered"}
    for k, v in payload.items():
        (src / f"{k}.pth").write_bytes(v)
    with zipfile.ZipFile(src / "repo.zip", "w") as zf:
        zf.writestr("owner-repo-abc123/hubconf.py", "dependencies = []\n")
    good_hash = hashlib.sha256(payload["good"]).hexdigest()[:8]
    table = {
        "good": W.WeightsFile("good", f"good-{good_hash}.pth", (src / "good.pth").as_uri(), "test", ("m",), good_hash),
        "bad": W.WeightsFile("bad", "bad-00000000.pth", (src / "bad.pth").as_uri(), "test", ("m",), "00000000"),
        "repo": W.WeightsFile("repo", "owner_repo_main", (src / "repo.zip").as_uri(), "test", ("m",), archive=True),
        "offline": W.WeightsFile("offline", "gone.pth", (src / "gone.pth").as_uri(), "test", ("m",)),
    }
    monkeypatch.setattr(W, "TABLE", table)
    monkeypatch.delenv("BENCH_OFFLINE", raising=False)  # file:// URLs: the downloader's own path, no network
    return payload


def test_download_checks_hash_and_extracts_archives(tmp_path: Path, fake_table: dict[str, bytes]) -> None:
    d = tmp_path / "w"
    got = W.download(["good", "repo"], d, progress=False)
    good = W.TABLE["good"].file
    assert got == [d / good, d / "owner_repo_main"]
    assert (d / good).read_bytes() == fake_table["good"]
    assert (d / "owner_repo_main" / "hubconf.py").read_text() == "dependencies = []\n"
    assert W.download(["good", "repo"], d, progress=False) == []  # present files are kept, not re-fetched
    with pytest.raises(BenchError, match=r"^could not download bad-00000000.pth from file://.*"):
        W.download(["bad"], d, progress=False)
    with pytest.raises(BenchError, match="could not download gone.pth"):
        W.download(["offline"], d, progress=False)
    assert sorted(p.name for p in d.iterdir()) == sorted([good, "owner_repo_main"])  # nothing half-written
    assert W.status(d) == {"good": True, "bad": False, "repo": True, "offline": False}


def test_cli_weights_list_fetch_and_errors(tmp_path: Path, fake_table: dict[str, bytes],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path / "w")
    assert main(["weights", "--list", "--weights-dir", d]) == 0
    out = capsys.readouterr().out
    assert out.count("missing") == 4 and f"weights directory: {d}" in out
    assert main(["weights", "--only", "good,repo", "--weights-dir", d, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "fetched owner_repo_main" in out and "0 already present, 2 fetched" in out
    assert main(["weights", "--list", "--weights-dir", d]) == 0
    assert capsys.readouterr().out.count("ok     ") == 2
    assert main(["weights", "--only", "nope", "--weights-dir", d]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown weights 'nope'") and err.count("\n") == 1
    assert main(["weights", "--only", "offline", "--weights-dir", d, "--quiet"]) == 2
    assert capsys.readouterr().err.startswith("error: could not download gone.pth")


def test_found_in_the_libraries_caches_after_the_weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A file torchvision / torch-fidelity / lpips already fetched (torch.hub's checkpoints/), DINOv2's code
    in torch.hub's repository folder and clean-fid's /tmp copy are used as they are; the suite's weights
    directory comes first; offline, nothing else is needed."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(W, "CLEAN_FID_CACHE", tmp_path / "cleanfid-tmp")
    monkeypatch.setenv("BENCH_OFFLINE", "1")
    hub = tmp_path / "torch" / "hub"
    (hub / "checkpoints").mkdir(parents=True)
    for name in ("resnet50", "inception-v3-compat", "alexnet"):  # torch.hub.load_state_dict_from_url's names
        (hub / "checkpoints" / W.TABLE[name].file).write_bytes(b"x")
    (hub / "facebookresearch_dinov2_main").mkdir()  # torch.hub.load("facebookresearch/dinov2", ...)
    (tmp_path / "cleanfid-tmp").mkdir()
    (tmp_path / "cleanfid-tmp" / "inception-2015-12-05.pt").write_bytes(b"x")
    d = tmp_path / "w"
    assert W.ensure("resnet50", d) == hub / "checkpoints" / "resnet50-0676ba61.pth"
    assert W.ensure("inception-v3-compat", d) == hub / "checkpoints" / "weights-inception-2015-12-05-6726825d.pth"
    assert W.ensure("dinov2-repo", d) == hub / "facebookresearch_dinov2_main"
    assert W.ensure("clean-fid-inception", d) == tmp_path / "cleanfid-tmp" / "inception-2015-12-05.pt"
    with pytest.raises(MissingResourceError, match="missing weights file inception_v3_google-0cc3c7bd.pth"):
        W.ensure("inception-v3-tv", d)  # in no cache
    d.mkdir()
    (d / "resnet50-0676ba61.pth").write_bytes(b"y")
    assert W.ensure("resnet50", d) == d / "resnet50-0676ba61.pth"  # the suite's directory first
    found = {"inception-v3-compat", "clean-fid-inception", "resnet50", "dinov2-repo", "alexnet"}
    assert W.status(d) == {name: name in found for name in W.TABLE}
    assert W.download(["resnet50", "alexnet"], d) == []  # nothing to fetch: no network needed
    assert main(["weights", "--list", "--weights-dir", str(d)]) == 0
    out = capsys.readouterr().out
    assert f"at {hub / 'checkpoints' / 'alexnet-owt-7be5be79.pth'}" in out
    assert all(f" {name} " in out for name in W.TABLE)  # --list shows the names --only takes
