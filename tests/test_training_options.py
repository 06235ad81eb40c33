"""Training execution options of issue #7 (bf16 autocast, channels_last, torch.compile, data on the device).

What is asserted, on tiny CPU runs (digits, width 8, batch 16):

- the trainer's fp32 path equals a minimal hand-written loop bit for bit (the options' code changes nothing
  when they are off) and ``data_on_device`` is bit-identical to the plain run, in parameters and in metrics;
- ``channels_last`` changes only the convolution kernels' summation order: parameters within 10 Adam steps (2e-3) of the
  plain run's after 10 steps, metrics within 1e-3 relative;
- ``compile`` (torch.compile, the cheap ``aot_eager`` backend here) keeps the state-dict keys, so checkpoints
  load into an uncompiled model, and equals the plain run within float tolerance;
- ``bf16`` autocast runs to completion with finite logged losses that differ from the fp32 ones (autocast is
  really on), and is part of the run identity while the execution details are not; fp32 run ids equal the
  hash of the identity fields that existed before the options (existing run directories keep their ids).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest
import torch

import bench.trainer as T
from bench.data import load
from bench.errors import ConfigError
from bench.registries import models
from bench.run import RunSpec, execute
from benchmarks.minimal_loop import minimal_loop

CPU = torch.device("cpu")
STEPS = 10


@pytest.fixture(scope="module")
def digits():  # noqa: ANN201
    return load("digits")


def _model(name: str, spec):  # noqa: ANN001, ANN202
    cls = models().get(name)
    torch.manual_seed(0)
    return cls(cls.Config(width=8, latent_dim=8, batch_size=16, steps=STEPS), spec)


def _train(name: str, ds, run_dir: Path, **options):  # noqa: ANN001, ANN003, ANN202
    model = _model(name, ds.spec)
    result = T.Trainer(model, ds.train, run_dir, seed=3, steps=STEPS, device=CPU, progress=False, **options).fit()
    assert result.status == "completed"
    return model


def _max_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a if a[k].numel())


@pytest.mark.parametrize("name", ["vae", "dcgan"])
def test_trainer_equals_minimal_loop_and_data_on_device_is_bit_identical(name: str, digits, tmp_path: Path) -> None:  # noqa: ANN001
    plain = _train(name, digits, tmp_path / "plain").state_dict()
    hand = _model(name, digits.spec)
    minimal_loop(hand, digits.train, STEPS, seed=3, device=CPU)
    assert _max_diff(plain, hand.state_dict()) == 0.0
    on_device = _train(name, digits, tmp_path / "dev", data_on_device=True).state_dict()
    assert _max_diff(plain, on_device) == 0.0
    channels_last = _train(name, digits, tmp_path / "cl", channels_last=True)
    # Adam moves a parameter by up to lr = 2e-4 per step whatever the gradient's size, so last-bit differences in
    # near-zero gradients can move a weight by a few lr over 10 steps: bound by 10 lr
    assert 0.0 <= _max_diff(plain, channels_last.state_dict()) < 10 * 2e-4
    conv = next(m for m in channels_last.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)


def test_compile_keeps_checkpoints_and_results(digits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(T, "COMPILE_BACKEND", "aot_eager")  # dynamo + AOTAutograd without C++ code generation
    plain = _train("vae", digits, tmp_path / "plain").state_dict()
    compiled = _train("vae", digits, tmp_path / "compiled", compile=True)
    assert all(getattr(net, "_compiled_call_impl", None) is not None for net in compiled.children())
    assert _max_diff(plain, compiled.state_dict()) < 1e-5
    fresh = _model("vae", digits.spec)  # uncompiled: the checkpoint's keys are the plain ones
    fresh.load_state_dict(torch.load(tmp_path / "compiled" / T.CHECKPOINT, weights_only=False)["model"])
    assert _max_diff(fresh.state_dict(), compiled.state_dict()) == 0.0


def _spec(**kw) -> RunSpec:  # noqa: ANN003
    return RunSpec(model="vae", dataset="digits", seed=1, steps=12, overrides={"width": 8, "latent_dim": 8, "batch_size": 16},
                   metrics=["mse", "cosine", "sharpness"], n_eval=64, log_every=1, **kw)


def _log(run_dir: Path) -> list[dict]:
    return [json.loads(ln) for ln in (run_dir / T.LOG).read_text().splitlines() if ln.strip()]


def test_run_options_metrics_and_identity(tmp_path: Path) -> None:
    plain = execute(_spec(), tmp_path / "plain", progress=False)
    fast = execute(_spec(data_on_device=True), tmp_path / "dev", progress=False)
    assert {k: v for k, v in plain.items()} == {k: v for k, v in fast.items()}
    cl = execute(_spec(channels_last=True), tmp_path / "cl", progress=False)
    for k in ("mse", "cosine", "sharpness"):
        assert cl[k] == pytest.approx(plain[k], rel=1e-3), k
    bf = execute(_spec(precision="bf16"), tmp_path / "bf16", progress=False)
    assert bf["status"] == "completed" and bf["step"] == 12
    log32, log16 = _log(tmp_path / "plain"), _log(tmp_path / "bf16")
    assert len(log16) == 12 and all(math.isfinite(r[k]) for r in log16 for k in ("loss", "rec", "kl"))
    assert log16[0]["loss"] != log32[0]["loss"]  # autocast is really on: bf16 matmuls change the first loss
    assert log16[0]["loss"] == pytest.approx(log32[0]["loss"], rel=0.05)  # …by bf16 rounding only
    assert all(math.isfinite(bf[k]) for k in ("mse", "cosine", "sharpness"))

    # identity: precision is in it, execution details are not; fp32 ids are the pre-options ids
    base = _spec()
    assert _spec(channels_last=True, compile=True, data_on_device=True).run_id() == base.run_id()
    assert _spec(precision="bf16").run_id() != base.run_id()
    old_fields = {"model": "vae", "dataset": "digits", "seed": 1, "steps": 12, "protocol": "fair",
                  "overrides": {"width": 8, "latent_dim": 8, "batch_size": 16}, "metrics": ["mse", "cosine", "sharpness"],
                  "eval_samples": "quick", "n_eval": 64}
    digest = hashlib.sha1(json.dumps(old_fields, sort_keys=True, default=str).encode()).hexdigest()[:8]
    assert base.run_id() == f"vae-digits-s1-{digest}"
    with pytest.raises(ConfigError, match="precision"):
        execute(_spec(precision="fp16"), tmp_path / "bad", progress=False)  # type: ignore[arg-type]
    assert not (tmp_path / "bad").exists()
