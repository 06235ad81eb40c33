"""Every reconstruction metric says which images it is on: ``name.split`` (the held-out split that was
reconstructed) and ``name.path`` (the model's reconstruction path, read from its code), and the split can be
the validation split where the paper says so (AVAE-S Table III: "on the reconstructions of the validation
set"). Before issue 16 neither key existed and reconstructions were always of ``test``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bench.data import load
from bench.data.base import to_model_range
from metrics.base import EvalContext, evaluate, recon_path

pytestmark = pytest.mark.usefixtures("one_thread")


class Halver:
    """A stand-in model: encode halves the image, decode is the identity (reconstruction = x / 2)."""

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return x / 2

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return z

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def test_recon_path_is_read_from_the_models_code() -> None:
    from models.avae import AVAE
    from models.base import GaussianEncoderDecoder
    from models.bigan import BiGAN

    assert recon_path(GaussianEncoderDecoder.reconstruct) == "decode(encode(x))"  # VAE family: D(μ_E(x))
    assert recon_path(AVAE.reconstruct) == "generate(encode(x))"  # AVAE: G(E(x))
    assert recon_path(AVAE.reconstruct_dec) == "decode(encode(x))"  # its VAE decoder (mse_dec, ...)
    assert recon_path(BiGAN.reconstruct) == "decode(encode(x))"
    assert recon_path(None) == ""


@pytest.mark.parametrize("split", ["test", "val"])
def test_reconstruction_metrics_record_split_and_path(split: str) -> None:
    ds = load("digits")
    ctx = EvalContext(ds, recon_fn=Halver().reconstruct, n_override=40, recon_split=split)
    out = evaluate(ctx, ["mse", "cosine", "sharpness_recon", "sharpness"])
    for name in ("mse", "cosine", "sharpness_recon"):
        assert out[f"{name}.split"] == split and out[f"{name}.path"] == "decode(encode(x))", name
    assert "sharpness.split" not in out  # a sample metric (and no samples here)
    # by hand on the split's images: x in [-1, 1] → x / 2 → uint8, MSE on [0, 1] pixels
    x = ds.split(split).subset(40, seed=0).uint8()
    r = (to_model_range(x) / 2).add(1).mul(127.5).round().to(torch.uint8)
    want = ((x.float() - r.float()) / 255).pow(2).flatten(1).mean(1).mean().item()
    assert out["mse"] == pytest.approx(want, rel=1e-6)
    if split == "val":  # digits has no official val: half A of test, never a training image
        train = {bytes(t.numpy().tobytes()) for t in ds.train.uint8()}
        assert not any(bytes(t.numpy().tobytes()) in train for t in x)


def test_run_records_the_recon_split_and_keeps_default_run_ids(tmp_path: Path) -> None:
    from bench import sweep as sweepmod
    from bench.run import RunSpec, execute

    base = RunSpec(model="vae", dataset="digits", steps=2, metrics=["mse"], log_every=1, checkpoint_every=10**9)
    val = RunSpec(**{**base.__dict__, "recon_split": "val"})
    assert "recon_split" not in base.identity() and val.identity()["recon_split"] == "val"
    assert base.run_id() != val.run_id()
    out = execute(val, tmp_path / "run", progress=False)
    assert (out["mse.split"], out["mse.path"]) == ("val", "decode(encode(x))")
    table3 = sweepmod.load(sweepmod.SWEEPS_DIR / "avaes_table3.yaml")
    assert table3.recon_split == "val" and "fid_recon" in table3.metrics and "fid_64_recon" in table3.metrics
