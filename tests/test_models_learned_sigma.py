"""AVAE Fig. 5's encoder for the VAE-family baselines (issue 19, point 4): ``sigma_z="learned"`` gives
``vae`` and ``vae-gan`` one learned σ per latent dimension, independent of x; ``avae_table1`` uses it."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from bench.data.base import DataSpec
from bench.sweep import load
from models.vae import VAE
from models.vae_gan import VAEGAN

SPEC = DataSpec("tiny32", "image", (1, 32, 32))


@pytest.mark.parametrize("cls", [VAE, VAEGAN], ids=["vae", "vae-gan"])
def test_learned_sigma_is_one_parameter_per_dim_independent_of_x(cls: type) -> None:
    torch.manual_seed(0)
    model = cls(cls.Config(width=4, latent_dim=5, batch_size=8, sigma_z="learned"), SPEC)
    model.optimizers = model.configure_optimizers()
    assert model.enc.head.out_features == 5  # μ only
    assert isinstance(model.log_sigma, torch.nn.Parameter) and model.log_sigma.shape == (5,)
    with torch.no_grad():
        model.log_sigma.copy_(torch.linspace(-1.0, 0.5, 5))
    x1 = torch.rand(8, *SPEC.shape, generator=torch.Generator().manual_seed(1)) * 2 - 1
    mu, logvar = model.posterior(x1)
    _, logvar2 = model.posterior(-x1)
    assert torch.equal(logvar, logvar2) and torch.allclose(logvar[0], 2 * torch.linspace(-1.0, 0.5, 5))
    # The KL the model trains on is KL(N(μ, σ²) ‖ N(0, I)) with that σ (torch.distributions).
    out = model.losses(x1)
    kl = kl_divergence(Normal(mu, torch.linspace(-1.0, 0.5, 5).exp()), Normal(0.0, 1.0)).sum(1).mean()
    assert out["kl" if cls is VAE else "prior"].item() == pytest.approx(kl.item(), rel=1e-5)
    # σ is trained (it is in an optimiser and moves in a step); the default keeps the amortised head.
    before = model.log_sigma.detach().clone()
    model.train_step(lambda: x1, 0)
    assert not torch.equal(before, model.log_sigma.detach())
    amortised = cls(cls.Config(width=4, latent_dim=5), SPEC)
    assert amortised.enc.head.out_features == 10 and amortised.log_sigma is None
    assert cls.Config().sigma_z == "amortised"


def test_avae_table1_gives_the_vae_family_the_learned_sigma() -> None:
    cells = load("bench/sweeps/avae_table1.yaml").cells()
    by_model = {c.model: c.overrides.get("sigma_z") for c in cells}
    assert by_model["vae"] == by_model["vae-gan"] == "learned"
    assert all(v is None for k, v in by_model.items() if k not in ("vae", "vae-gan"))
