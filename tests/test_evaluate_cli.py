"""``python -m bench evaluate``: user errors are one line + exit 2; values equal direct computations
on the same images; a run directory is re-sampled from its checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bench.cli import main
from bench.data import load
from bench.sources import read_folder, read_npz
from metrics.diversity import diversity
from metrics.sharpness import sharpness_per_image

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny nets (tests/conftest.py)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(["evaluate", *argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _save_pngs(folder: Path, images: torch.Tensor) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k, img in enumerate(images):
        arr = img.permute(1, 2, 0).numpy()
        Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr).save(folder / f"{k:03d}.png")


def test_user_errors_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(mixed / "a.png")
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(mixed / "b.png")
    nan = np.full((4, 32, 32, 3), np.nan, np.float32)
    np.savez(tmp_path / "nan.npz", images=nan)
    np.savez(tmp_path / "ok.npz", images=np.zeros((4, 32, 32, 1), np.uint8))
    np.savez(tmp_path / "float.npz", images=np.zeros((4, 32, 32, 3), np.float32))
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    np.savez(tmp_path / "big.npz", images=np.zeros((4, 64, 64, 3), np.uint8))
    cases = {
        "no such file, folder": ["--fake", str(tmp_path / "missing"), "--real", "digits"],
        "no images": ["--fake", str(tmp_path / "empty"), "--real", "digits"],
        "different sizes": ["--fake", str(mixed), "--real", "digits"],
        "NaN": ["--fake", str(tmp_path / "nan.npz"), "--real", "digits"],
        "unknown metric 'nope'": ["--fake", str(tmp_path / "ok.npz"), "--real", "digits", "--metrics", "sharpness,nope"],
        "has no split": ["--fake", "digits:nosuch", "--real", "digits"],
        "must be uint8": ["--fake", str(tmp_path / "float.npz"), "--real", "digits"],
        "no 'images' array": ["--fake", str(tmp_path / "other.npz"), "--real", "digits"],
        "64x64 px but real images are 32x32": ["--fake", str(tmp_path / "big.npz"), "--real", "digits"],
        "--real PATH is required": ["--fake", str(tmp_path / "ok.npz")],
        "bad value for eval-precision": ["--fake", str(tmp_path / "ok.npz"), "--real", "digits", "--eval-precision", "fp16"],
    }
    for expected, argv in cases.items():
        rc, out, err = _run(argv, capsys)
        assert rc == 2, (expected, err)
        assert out == "" and err.count("\n") == 1 and expected in err, (expected, err)


def test_readers_keep_pixels_and_convert_gray(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    rgb = torch.randint(0, 256, (3, 3, 8, 8), generator=g, dtype=torch.uint8)
    gray = torch.randint(0, 256, (2, 1, 8, 8), generator=g, dtype=torch.uint8)
    _save_pngs(tmp_path / "g", gray)
    assert torch.equal(read_folder(tmp_path / "g"), gray)  # all grayscale: stays one channel
    _save_pngs(tmp_path / "m" / "a", rgb)
    _save_pngs(tmp_path / "m" / "b", gray)  # colour present: gray repeated to RGB
    both = read_folder(tmp_path / "m")
    assert both.shape == (5, 3, 8, 8) and torch.equal(both[:3], rgb) and torch.equal(both[3:], gray.repeat(1, 3, 1, 1))
    np.savez(tmp_path / "h.npz", images=gray[:, 0].numpy())  # (N, H, W) is grayscale
    assert torch.equal(read_npz(tmp_path / "h.npz"), gray)


def test_folder_and_npz_values_equal_direct_computation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = load("digits").test.uint8()[:40]
    _save_pngs(tmp_path / "fakes", images)
    out_json = tmp_path / "out" / "m.json"
    rc, out, _ = _run(["--fake", str(tmp_path / "fakes"), "--real", "digits", "--metrics", "sharpness,ms_ssim_diversity,mse",
                       "--json", str(out_json)], capsys)
    assert rc == 0
    result = json.loads(out_json.read_text())
    assert json.loads(out) == result
    assert result["sharpness"] == pytest.approx(sharpness_per_image(images).mean().item(), rel=1e-6)
    assert result["ms_ssim_diversity"] == pytest.approx(diversity(images, max_pairs=2000, seed=0)[0], abs=1e-9)
    assert result["sharpness.n"] == 40 and result["ms_ssim_diversity.pairs"] == 40 * 39 // 2
    assert "reconstructions" in result["mse.unavailable"]  # asked for, but images have no reconstructions
    # The same images as an RGB .npz against the grayscale dataset: the dataset is repeated to RGB.
    np.savez(tmp_path / "rgb.npz", images=images.repeat(1, 3, 1, 1).permute(0, 2, 3, 1).numpy())
    rc, out, _ = _run(["--fake", str(tmp_path / "rgb.npz"), "--real", "digits", "--metrics", "sharpness"], capsys)
    assert rc == 0 and json.loads(out)["sharpness"] == pytest.approx(result["sharpness"], rel=1e-5)


def test_run_directory_is_sampled_from_its_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench.run import RunSpec, execute

    run_dir = tmp_path / "run"
    spec = RunSpec(model="vae", dataset="digits", seed=3, steps=4, overrides={"width": 8, "latent_dim": 8, "batch_size": 32},
                   metrics=["mse", "sharpness"], n_eval=50, checkpoint_every=1000)
    record = execute(spec, run_dir, progress=False)
    rc, out, _ = _run(["--fake", str(run_dir), "--metrics", "mse,sharpness", "--n-eval", "50", "--seed", "3"], capsys)
    assert rc == 0
    result = json.loads(out)
    # Reconstructions are deterministic (decoder of the posterior mean), samples use the same seeded noise.
    assert result["mse"] == pytest.approx(record["mse"], rel=1e-6)
    assert result["sharpness"] == pytest.approx(record["sharpness"], rel=1e-6)
    assert result["mse.n"] == 50
