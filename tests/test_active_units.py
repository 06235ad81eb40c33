"""Active latent units (Burda et al. 2016, §5.2: A_u = Var_x E[z_u|x] > 0.01), logged at every log step
for every model that encodes (issue 19, point 1)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from bench.run import RunSpec
from models.base import active_units


def test_active_units_against_numpy() -> None:
    g = np.random.default_rng(0)
    codes = g.normal(size=(500, 6)) * np.array([1.0, 0.5, 0.2, 0.09, 0.05, 0.0])  # variances 1, .25, .04, .0081, …
    assert active_units(torch.tensor(codes, dtype=torch.float32)) == int((codes.var(0) > 0.01).sum()) == 3
    assert active_units(torch.zeros(10, 4) + torch.randn(1, 4)) == 0  # one code for every input: collapsed


def _log(tmp_path: Path, model: str, log_every: int, name: str) -> list[dict[str, float]]:
    """Train ``model`` 4 steps on digits through the real Trainer; the records of its log."""
    spec = RunSpec(model=model, dataset="digits", seed=0, steps=4, log_every=log_every, checkpoint_every=10**9,
                   overrides={"width": 4, "latent_dim": 4, "batch_size": 8})
    run = tmp_path / name
    _train_only(spec, run)
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()]


def _train_only(spec: RunSpec, run: Path) -> None:
    from bench.run import prepare
    from bench.trainer import Trainer

    dataset, cls, cfg, device = prepare(spec)
    torch.manual_seed(spec.seed)
    model = cls.build(cfg, dataset.spec)
    Trainer(model, dataset.train, run, seed=spec.seed, steps=cfg.steps, device=device, log_every=spec.log_every,
            checkpoint_every=spec.checkpoint_every, progress=False).fit()


def test_every_log_record_of_an_encoding_model_has_active_units_and_logging_changes_nothing(tmp_path: Path) -> None:
    every = _log(tmp_path, "vae", 1, "every")
    assert len(every) == 4 and all(0 <= r["active_units"] <= 4 for r in every)
    once = _log(tmp_path, "vae", 4, "once")
    # computing the diagnostics (eval mode, no RNG draw) leaves training bit-identical
    assert once[-1]["loss"] == every[-1]["loss"] and once[-1]["active_units"] == every[-1]["active_units"]
    assert "active_units" not in _log(tmp_path, "dcgan", 2, "gan")[-1]  # no encoder, nothing to count
