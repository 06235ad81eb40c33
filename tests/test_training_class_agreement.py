"""Acceptance of issue 19: every model with an encoder, trained briefly on ``digits`` through the real pipeline
(seed 0), keeps an informative posterior and reconstructions that keep the digit's class.

- at least 8 of its 16 latent units are active at the last log step (Var_x E[z|x] > 0.01 on the trainer's
  fixed probe batch, Burda et al. 2016 §5.2), so the posterior has not collapsed;
- its reconstructions of the 300 test digits keep the class of x at least 60 % of the time, judged by the
  nearest training image (1-NN, pixel L2; the judge itself scores 0.98 on the real test images; chance 0.1).

The literal reading of Khan eq. 3 (``kl_reduction=sum``) fails both (measured: 0 active units, class
agreement 0.12 at 300 steps), which is what the test guards against. Lengths and the values measured at them
(seed 0, width 8, latent 16, batch 32, lr 1e-3; docs/models-fidelity.md) are in ``RUNS``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_training_baselines_digits import nn_class_agreement
from training_runs import all_finite, read_log

from bench.data import load
from bench.data.base import to_uint8
from bench.run import RunSpec, execute
from bench.sources import load_run

SMALL = {"width": 8, "latent_dim": 16, "batch_size": 32, "lr": 1e-3}
# model → (steps, measured active units / class agreement at that length, seed 0)
RUNS: dict[str, tuple[int, str]] = {
    "vae": (150, "16 / 0.94"),
    "vae-gan": (300, "16 / 0.86"),
    "vae-began": (300, "16 / 0.85"),  # seeds 1, 2: 0.65 / 0.91; at 150 steps 0.79 / 0.25 / 0.70
    "avae": (300, "16 / 0.83"),  # lz_norm_stats=fake: 0.77
    "idvae": (150, "16 / 0.94"),
    "alpha-gan": (150, "16 / 0.94"),
    "avae-s": (300, "16 / 0.97"),  # 150 steps of VAE-S pre-training (half the run), then 150 of fine-tuning
}


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(RUNS))
def test_posterior_is_informative_and_reconstructions_keep_the_class(model: str, tmp_path: Path) -> None:
    steps, _measured = RUNS[model]
    spec = RunSpec(model=model, dataset="digits", seed=0, steps=steps, overrides=SMALL, metrics=["mse"],
                   log_every=max(steps // 5, 1), checkpoint_every=10**9)
    rec = execute(spec, tmp_path, progress=False)
    assert rec["status"] == "completed"
    log = read_log(tmp_path)
    assert all(all_finite(r) for r in log)
    assert log[-1]["active_units"] >= 8
    digits = load("digits")
    net, _, _ = load_run(tmp_path)
    net.eval()
    with torch.no_grad():
        recon = to_uint8(net.reconstruct(digits.test.batch(slice(None))))
    assert nn_class_agreement(digits, recon) >= 0.6
