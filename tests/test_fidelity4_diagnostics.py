"""Issue #26 §2: the per-term gradient norms on x̃ logged for vae-gan and avae-s (idvae, idvae-r: in
tests/test_fidelity4_idvae.py), against closed forms where one exists."""

from __future__ import annotations

import pytest
import torch

from bench.data.base import DataSpec
from models.avae_s import AVAES, AVAEFineTuned
from models.vae_gan import VAEGAN, VAEGANConfig

SPEC = DataSpec("digits@16", "image", (1, 16, 16))


def test_avae_pixel_term_gradient_norm_is_the_residual_norm() -> None:
    """For ½‖x̃ − x‖² (AVAE eq. 9's term, batch mean) B ∂/∂x̃_i = x̃_i − x_i, so ``grad_rec`` = mean_i ‖x̃_i − x_i‖,
    x̃ = Dec(μ + σ ε) recomputed by hand with the same noise (the diagnostic restores the RNG state)."""
    torch.manual_seed(0)
    m = AVAEFineTuned.build(AVAEFineTuned.Config(width=8, latent_dim=4), SPEC)
    probe = torch.rand(80, *SPEC.shape) * 2 - 1
    torch.manual_seed(5)
    d = m.diagnostics(probe)
    torch.manual_seed(5)
    m.train()
    with torch.no_grad():
        x = probe[:64]
        mu, logvar = m.posterior(x)
        x_rec = m.decode(mu + (0.5 * logvar).exp() * torch.randn_like(mu))
    assert d["grad_rec"] == pytest.approx(float((x_rec - x).flatten(1).norm(dim=1).mean()), rel=1e-4)
    assert d["grad_adv"] > 0


def test_avae_s_and_vae_gan_log_their_decoder_terms_without_changing_state() -> None:
    """avae-s: ``grad_rec`` (calibrated L_REC) and ``grad_adv``; vae-gan: ``grad_feature`` and ``grad_gan``. The
    model's parameters and buffers are unchanged by the diagnostics."""
    for m in (AVAES.build(AVAES.Config(width=8, latent_dim=4), SPEC),
              VAEGAN.build(VAEGANConfig(width=8, latent_dim=4), SPEC)):
        before = {k: v.clone() for k, v in m.state_dict().items()}
        d = m.diagnostics(torch.rand(64, *SPEC.shape) * 2 - 1)
        keys = {"grad_rec", "grad_adv"} if isinstance(m, AVAES) else {"grad_feature", "grad_gan"}
        assert keys <= d.keys() and all(d[k] > 0 for k in keys)
        for k, v in m.state_dict().items():
            torch.testing.assert_close(v, before[k])
