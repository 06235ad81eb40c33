"""IDVAE / IDVAE(R) (paper 002, §3.3–3.4, Alg. 1): each loss against an explicit reference of its
equation, and which parameters each of the three steps changes, in Alg. 1's order."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from bench.data.base import DataSpec
from bench.registries import models as model_registry
from models.idvae import (
    IDVAE,
    IDVAER,
    decoder_loss,
    discriminator_loss,
    encoder_loss,
    feature_recons,
    gan_loss,
    pixel_recons,
)

SPEC = DataSpec("tiny", "image", (3, 16, 16))


def _model(cls: type[IDVAE] = IDVAE) -> IDVAE:
    torch.manual_seed(0)
    m = cls(cls.Config(latent_dim=6, width=8, batch_size=8), SPEC)
    m.optimizers = m.configure_optimizers()
    return m


def _log_sig(t: torch.Tensor) -> torch.Tensor:
    return torch.log(torch.sigmoid(t))


def test_discriminator_loss_eq_9() -> None:
    a, b, c = torch.tensor([1.0, -0.5]), torch.tensor([0.2, -2.0, 1.5]), torch.tensor([-1.0, 3.0])
    ref = -(_log_sig(a).mean() + torch.log(1 - torch.sigmoid(b)).mean() + torch.log(1 - torch.sigmoid(c)).mean())
    assert discriminator_loss(a, b, c).item() == pytest.approx(ref.item(), rel=1e-6)


def test_gan_loss_eq_12() -> None:
    b, c = torch.tensor([0.2, -2.0, 1.5]), torch.tensor([-1.0, 3.0])
    ref = -_log_sig(b).mean() - _log_sig(c).mean()
    assert gan_loss(b, c).item() == pytest.approx(ref.item(), rel=1e-6)


def test_feature_recons_is_unit_gaussian_nll_eq_10_11() -> None:
    g = torch.Generator().manual_seed(3)
    f_tilde, f_real = torch.randn(4, 7, generator=g), torch.randn(4, 7, generator=g)
    nll = -Normal(f_real, 1.0).log_prob(f_tilde).sum(1) - 3.5 * math.log(2 * math.pi)
    assert feature_recons(f_tilde, f_real).item() == pytest.approx(nll.mean().item(), rel=1e-5)


def test_encoder_loss_eq_8() -> None:
    """α · (−log N(x; x̃, I) − const) + β · KL(N(μ, σ²) ‖ N(0, I)) (KL from torch.distributions)."""
    g = torch.Generator().manual_seed(4)
    x, x_t = torch.randn(3, 5, generator=g), torch.randn(3, 5, generator=g)
    mu, logvar = torch.randn(3, 2, generator=g), torch.randn(3, 2, generator=g)
    rec = (-Normal(x_t, 1.0).log_prob(x).sum(1) - 2.5 * math.log(2 * math.pi)).mean()
    kl = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(1).mean()
    assert encoder_loss(x, x_t, mu, logvar, 2.0, 0.5).item() == pytest.approx((2.0 * rec + 0.5 * kl).item(), rel=1e-5)


def test_decoder_loss_eq_13_and_idvae_r() -> None:
    g = torch.Generator().manual_seed(5)
    dp, dr = torch.randn(4, 1, generator=g), torch.randn(4, 1, generator=g)
    ft, fr = torch.randn(4, 9, generator=g), torch.randn(4, 9, generator=g)
    x, xt = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    base = 0.7 * (-_log_sig(dp).mean() - _log_sig(dr).mean()) + 2.0 * 0.5 * (ft - fr).pow(2).sum(1).mean()
    assert decoder_loss(dp, dr, ft, fr, 0.7, 2.0).item() == pytest.approx(base.item(), rel=1e-5)
    with_r = base + 3.0 * 0.5 * (x - xt).pow(2).sum(1).mean()
    assert decoder_loss(dp, dr, ft, fr, 0.7, 2.0, 3.0, x, xt).item() == pytest.approx(with_r.item(), rel=1e-5)
    assert pixel_recons(x, xt).item() == pytest.approx(0.5 * (x - xt).pow(2).sum().item() / 4, rel=1e-5)


def test_architecture_shared_trunk_two_heads() -> None:
    m = _model()
    assert isinstance(m.shared.head, torch.nn.Identity)  # Dis_l = last shared layer, no extra head
    fd = m.shared.feature_dim
    assert fd == 16 * 4 * 4  # 16 px: two stride-2 stages, 2w channels at 4 × 4
    assert (m.enc_mu.in_features, m.enc_logvar.in_features, m.dis_head.in_features) == (fd, fd, fd)
    assert m.dis_head.out_features == 1 and m.enc_mu.out_features == 6
    x = torch.randn(2, *SPEC.shape)
    assert m.shared(x).shape == (2, fd)


def _changed(m: IDVAE, before: dict[str, list[torch.Tensor]]) -> set[str]:
    now = m.param_groups()
    return {k for k in now if any(not torch.equal(p, q) for p, q in zip(now[k], before[k], strict=True))}


def test_each_step_changes_only_its_parameters() -> None:
    """Alg. 1: step 1 → θ_dis, θ_shared; step 2 → θ_enc, θ_shared; step 3 → θ_dec only."""
    m = _model(IDVAER)
    x = torch.rand(8, *SPEC.shape) * 2 - 1
    z, eps = torch.randn(8, 6), torch.randn(8, 6)

    def snap() -> dict[str, list[torch.Tensor]]:
        return {k: [p.detach().clone() for p in v] for k, v in m.param_groups().items()}

    before = snap()
    m.step_dis(x, z, eps)
    assert _changed(m, before) == {"dis", "shared"}
    before = snap()
    m.step_enc(x, eps)
    assert _changed(m, before) == {"enc", "shared"}
    before = snap()
    m.step_dec(x, z, eps)
    assert _changed(m, before) == {"dec"}


def test_train_step_runs_alg1_in_order() -> None:
    m = _model()
    calls: list[str] = []
    original = m.update

    def record(name: str, loss: torch.Tensor, *, retain_graph: bool = False) -> None:
        calls.append(name)
        original(name, loss, retain_graph=retain_graph)

    m.update = record  # type: ignore[method-assign]
    logs = m.train_step(lambda: torch.rand(8, *SPEC.shape) * 2 - 1, 0)
    assert calls == ["dis", "enc", "dec"]
    assert all(torch.isfinite(v) for v in logs.values())
    # θ_shared is stepped by both the discriminator and the encoder optimisers (two updates).
    p = next(m.shared.parameters())
    assert m.optimizers["dis"].state[p]["step"] == 1 and m.optimizers["enc"].state[p]["step"] == 1
    assert p not in m.optimizers["dec"].state


def test_step_dec_uses_last_shared_layer_features() -> None:
    """L_recons^dis is computed on the trunk output: with ω = 0, λ = 1, γ = 0 the decoder loss equals
    ½‖shared(x̃) − shared(x)‖² recomputed by hand (same BN batch statistics)."""
    m = _model()
    m.cfg.omega, m.cfg.lam, m.cfg.gamma = 0.0, 1.0, 0.0
    x = torch.rand(8, *SPEC.shape) * 2 - 1
    z, eps = torch.randn(8, 6), torch.randn(8, 6)
    m.eval()  # fixed BN statistics so the hand computation sees the same network
    with torch.no_grad():
        mu, logvar = m.posterior(x)
        x_t = m.decode(mu + (0.5 * logvar).exp() * eps)
        ref = 0.5 * (m.shared(x_t) - m.shared(x)).pow(2).sum(1).mean()
    out = m.step_dec(x, z, eps)
    assert out["dec_loss"].item() == pytest.approx(ref.item(), rel=1e-5)


def test_registered_variants() -> None:
    assert model_registry().get("idvae") is IDVAE and model_registry().get("idvae-r") is IDVAER
    assert IDVAE.Config().gamma == 0.0 and IDVAER.Config().gamma == 0.087  # issue #26 §2
