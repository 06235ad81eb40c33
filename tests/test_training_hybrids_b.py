"""End-to-end: vae-began, began-lsm, vae-s, avae-ft and avae-s train on CPU (grid25 and digits) to a
``completed`` run with finite metrics and grids; their own state (k_t, calibration, phase switch)
survives a checkpoint/resume bit for bit."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from training_runs import read_log

from bench.data import load
from bench.registries import models as model_registry
from bench.run import RunSpec, execute
from bench.trainer import Trainer

MODELS = ("vae-began", "began-lsm", "vae-s", "avae-ft", "avae-s")
TINY = {"width": 8, "latent_dim": 8, "mlp_hidden": 32, "batch_size": 32}
METRICS = {"grid25": ["modes", "hq_share", "mode_kl"], "digits": ["mse", "cosine", "sharpness"]}
STEPS = {"grid25": 16, "digits": 6}


@pytest.mark.parametrize("dataset", ["grid25", "digits"])
@pytest.mark.parametrize("model", MODELS)
def test_trains_to_completed_with_finite_metrics(tmp_path: Path, model: str, dataset: str) -> None:
    spec = RunSpec(model, dataset, seed=0, steps=STEPS[dataset], overrides=dict(TINY), metrics=METRICS[dataset],
                   n_eval=64, log_every=1, checkpoint_every=1000)
    record = execute(spec, tmp_path, progress=False)
    assert record["status"] == "completed" and record["step"] == STEPS[dataset]
    values = {k: v for k, v in record.items() if k in METRICS[dataset]}
    assert values, record  # at least one metric computed …
    assert all(math.isfinite(v) for v in values.values()), values  # … and all of them finite
    assert (tmp_path / "samples.png").stat().st_size > 0
    if model != "began-lsm":  # BEGAN* + LSM has no encoder, hence no reconstructions
        assert (tmp_path / "reconstructions.png").stat().st_size > 0
        assert "mse" not in METRICS[dataset] or 0 <= record["mse"] <= 1
    log = read_log(tmp_path)
    assert [r["step"] for r in log] == list(range(1, STEPS[dataset] + 1))  # every step logged
    if "began" in model:  # k_t and the convergence measure M, every step, in range
        assert all(0.0 <= r["k_t"] <= 1.0 and r["M"] >= r["L_d"] for r in log)
    if model.startswith("avae"):  # pre-training, then fine-tuning at steps // 2 (100 epochs capped)
        assert [r["phase"] for r in log] == [0.0] * (STEPS[dataset] // 2) + [1.0] * (STEPS[dataset] - STEPS[dataset] // 2)


@pytest.mark.parametrize("model", ["vae-began", "avae-s"])
def test_resume_reproduces_uninterrupted_run(tmp_path: Path, model: str) -> None:
    """Kill after 4 of 8 steps, resume in a fresh process-like model: same k_t / calibration / phase
    and bitwise the same parameters as the uninterrupted run."""
    data = load("grid25")
    cls = model_registry().get(model)
    cfg_kw = {**TINY, "steps": 8}
    if model == "avae-s":
        cfg_kw["calibration_steps"] = 6  # calibration still probing at the kill, frozen by the end

    def fresh() -> torch.nn.Module:
        torch.manual_seed(0)
        return cls(cls.Config(**cfg_kw), data.spec)

    full = fresh()
    Trainer(full, data.train, tmp_path / "full", seed=0, steps=8, device=torch.device("cpu"), progress=False).fit()
    first = fresh()
    Trainer(first, data.train, tmp_path / "cut", seed=0, steps=4, device=torch.device("cpu"), progress=False).fit()
    resumed = fresh()
    result = Trainer(resumed, data.train, tmp_path / "cut", seed=0, steps=8, device=torch.device("cpu"),
                     progress=False).fit()
    assert result.resumed_from == 4 and result.status == "completed"
    full_state, resumed_state = full.state_dict(), resumed.state_dict()
    for key, value in full_state.items():
        assert torch.equal(value, resumed_state[key]), key
    if model == "vae-began":
        assert 0.0 < float(resumed.pid.k) <= 1.0  # k_t moved and was carried over
    else:
        assert int(resumed.switch_step) == 4 and bool(resumed.calib.frozen) and int(resumed.calib.count) == 6
