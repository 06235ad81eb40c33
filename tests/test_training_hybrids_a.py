"""Short, seeded CPU training of the AVAE / IDVAE / AGE / α-GAN family through the real run
pipeline (grid25 and digits), and the AVAE toy check of AVAE §V-A."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import gaussian_kde

from bench.data import load
from bench.data.toys import avae_toy_sample
from bench.run import RunSpec, execute
from bench.trainer import BatchStream
from models.avae import AVAE

MODELS = ["avae", "avae-a", "avae-xi-a", "idvae", "idvae-r", "age", "alpha-gan", "alpha-gan-ekl"]
TINY = {"width": 8, "latent_dim": 8, "batch_size": 32, "mlp_hidden": 32}
METRICS = {"grid25": ["modes", "hq_share", "mode_kl", "mse"], "digits": ["mse", "cosine", "sharpness"]}


@pytest.mark.parametrize("dataset", ["grid25", "digits"])
@pytest.mark.parametrize("model", MODELS)
def test_trains_to_completed_with_finite_metrics(model: str, dataset: str, tmp_path: Path) -> None:
    steps = 6
    spec = RunSpec(model, dataset, seed=0, steps=steps, overrides=dict(TINY), metrics=METRICS[dataset], n_eval=128,
                   log_every=3, checkpoint_every=1000)
    out = execute(spec, tmp_path, progress=False)
    assert out["status"] == "completed" and out["step"] == steps
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [3, 6]
    assert all(math.isfinite(v) for r in log for k, v in r.items() if k != "step")
    numbers = {k: v for k, v in out.items() if isinstance(v, float) and not k.endswith(".n")}
    assert all(math.isfinite(v) for v in numbers.values()), numbers
    if dataset == "digits":
        assert 0 < out["mse"] < 1 and 0 < out["cosine"] <= 1 and out["sharpness"] > 0
        assert out["mse.n"] == 128
        if model.startswith("avae"):  # the VAE decoder's reconstructions are reported alongside
            assert 0 < out["mse_dec"] < 1
    else:
        assert 0 <= out["hq_share"] <= 1 and 0 <= out["modes"] <= 25
    assert (tmp_path / "samples.png").stat().st_size > 0
    assert (tmp_path / "reconstructions.png").stat().st_size > 0


def test_avae_toy_generator_reconstructions_are_more_likely_than_vae_decoder() -> None:
    """AVAE §V-A / Fig. 6: with a 1-D latent the VAE decoder reconstructs the *mean* of the two
    branches cos(3z₁ ± tanh(3z₂)) (a lower-density region between them), while the AVAE generator's
    reconstructions G(μ_E(x)) pick a branch. Likelihood = Gaussian KDE (scipy) of fresh samples of
    the true distribution, evaluated at the reconstructions of 1,000 test points.

    Settings: two-hidden-layer MLPs of 128 units (§V-A), β = 1, batch 64, lr 1e-3 (the paper gives
    no toy lr; 1e-3 keeps the test short), 3,000 iterations, `avae` (no ξ, L_Z^b). GAN training on the
    toy fluctuates from one checkpoint to the next, so the statistic pools the checkpoints at 2,000,
    2,500 and 3,000 iterations, and it is the *median* log-density: G only sees z ~ N(0, I) and
    extrapolates for the few test points whose codes fall in the prior's tails (which dominate a mean).

    Three seeds are pooled: one seed is not enough. Measured per seed (median log-density of G's minus D's
    reconstructions, 2026-12-07): seeds 0-3 gave +0.002, +0.057, +0.154, +0.112 with the fused Adam of
    issue #29 and +0.14, +0.34, +0.16, -0.11 with the for-loop Adam (the same update up to float rounding),
    so a float-path change alone moved seed 0 from a clear margin to a tie.
    """
    data = load("avae-toy")
    kde = gaussian_kde(avae_toy_sample(20_000, torch.Generator().manual_seed(7)).numpy().T)
    x = data.test.data[:1000]
    logp_g: list[np.ndarray] = []
    logp_d: list[np.ndarray] = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny MLPs: faster, and the same float path on every machine
    try:
        for seed in (0, 1, 2):
            torch.manual_seed(seed)
            model = AVAE(AVAE.Config(latent_dim=1, mlp_hidden=128, lr=1e-3), data.spec)
            model.optimizers = model.configure_optimizers()
            stream = BatchStream(data.train, 64, seed, torch.device("cpu"))
            for step in range(3000):
                model.train_step(stream, step)
                if step + 1 in (2000, 2500, 3000):
                    model.eval()
                    with torch.no_grad():
                        logp_g.append(np.log(kde(model.reconstruct(x).numpy().T)))
                        logp_d.append(np.log(kde(model.reconstruct_dec(x).numpy().T)))
                    model.train()
    finally:
        torch.set_num_threads(threads)
    med_g, med_d = float(np.median(np.concatenate(logp_g))), float(np.median(np.concatenate(logp_d)))
    assert med_g > med_d + 0.05, (med_g, med_d)
