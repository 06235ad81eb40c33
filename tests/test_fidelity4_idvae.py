"""Issue #26 §2: IDVAE's L_recons^dis in one BatchNorm pass, the per-term gradient diagnostics on x̃, and the
λ / ω / γ balance (the adversarial term's share of the decoder's gradient at initialisation)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from bench.data.base import DataSpec
from bench.run import RunSpec, prepare
from models.grad_diagnostics import decoder_grad_shares, preserving_state, term_grad_norms
from models.idvae import IDVAE, IDVAER, feature_recons, pixel_recons

SPEC = DataSpec("tiny", "image", (1, 16, 16))


def _model(cls: type[IDVAE] = IDVAE, **kw: float) -> IDVAE:
    torch.manual_seed(0)
    m = cls.build(cls.Config(latent_dim=6, width=8, batch_size=8, **kw), SPEC)
    m.optimizers = m.configure_optimizers()
    return m


def trunk_reference(m: IDVAE, x: Tensor) -> Tensor:
    """The shared trunk written out with torch.nn.functional on the whole batch ``x`` (16 px: conv k5 s2 →
    LReLU(0.2) → conv k5 s2 → BatchNorm on this batch's statistics → LReLU(0.2)), flattened."""
    convs = [mod for mod in m.shared.trunk if isinstance(mod, torch.nn.Conv2d)]
    (bn,) = [mod for mod in m.shared.trunk if isinstance(mod, torch.nn.BatchNorm2d)]
    h = F.leaky_relu(F.conv2d(x, convs[0].weight, convs[0].bias, stride=2, padding=2), 0.2)
    h = F.conv2d(h, convs[1].weight, None, stride=2, padding=2)
    mean, var = h.mean((0, 2, 3), keepdim=True), h.var((0, 2, 3), unbiased=False, keepdim=True)
    h = (h - mean) / (var + bn.eps).sqrt() * bn.weight.view(1, -1, 1, 1) + bn.bias.view(1, -1, 1, 1)
    return F.leaky_relu(h, 0.2).flatten(1)


def test_feature_term_is_one_batchnorm_pass_and_sees_a_change_of_contrast() -> None:
    """Dis_l(x̃), Dis_l(x) come from one pass on [x̃; x] (reference: the trunk by hand on the joint batch); a
    reconstruction 0.5·x then costs > 5× what it costs with each batch normalised on its own (the old two passes)."""
    m = _model()
    torch.manual_seed(1)
    x = torch.rand(16, *SPEC.shape) * 2 - 1
    f_t, f_r = m.dis_l_pair(0.5 * x, x)
    ref_t, ref_r = trunk_reference(m, torch.cat([0.5 * x, x])).chunk(2)
    torch.testing.assert_close(f_t, ref_t)
    torch.testing.assert_close(f_r, ref_r)
    separate = feature_recons(trunk_reference(m, 0.5 * x), trunk_reference(m, x))
    assert feature_recons(f_t, f_r) > 5 * separate


def test_step_dec_loss_uses_the_joint_pass() -> None:
    """With ω = 0, λ = 1, γ = 0 (training mode) L_dec = ½‖Dis_l(x̃) − Dis_l(x)‖² with Dis_l from the joint
    [x̃; x] batch (the hand-written trunk); two separate passes give a different number."""
    m = _model(omega=0.0, lam=1.0, gamma=0.0)
    x = torch.rand(8, *SPEC.shape) * 2 - 1
    z, eps = torch.randn(8, 6), torch.randn(8, 6)
    with torch.no_grad():
        mu, logvar = m.posterior(x)
        x_t = m.decode(mu + (0.5 * logvar).exp() * eps)
        joint = feature_recons(*trunk_reference(m, torch.cat([x_t, x])).chunk(2))
        separate = feature_recons(trunk_reference(m, x_t), trunk_reference(m, x))
    out = m.step_dec(x, z, eps)
    assert out["dec_loss"].item() == pytest.approx(joint.item(), rel=1e-4)
    assert abs(separate.item() - joint.item()) > 1e-3 * joint.item()


def test_term_grad_norm_closed_form() -> None:
    """For γ·L_recons = γ·mean_i ½‖x̃_i − x_i‖², B ∂/∂x̃_i = γ (x̃_i − x_i): the diagnostic is γ·mean_i ‖x̃_i − x_i‖.
    For the batch mean of Σ|x̃ − x| it is mean_i √(#pixels) (every entry ±1)."""
    g = torch.Generator().manual_seed(0)
    x, x_t = torch.randn(5, 1, 4, 4, generator=g), torch.randn(5, 1, 4, 4, generator=g).requires_grad_()
    out = term_grad_norms(x_t, {"pixel": 0.3 * pixel_recons(x, x_t), "l1": (x_t - x).abs().flatten(1).sum(1).mean()})
    assert out["grad_pixel"] == pytest.approx(0.3 * float((x_t.detach() - x).flatten(1).norm(dim=1).mean()), rel=1e-5)
    assert out["grad_l1"] == pytest.approx(4.0, rel=1e-6)
    assert decoder_grad_shares({"grad_a": 1.0, "grad_b": 3.0}) == {"share_a": 0.25, "share_b": 0.75}


def test_diagnostics_log_each_term_and_leave_training_untouched() -> None:
    """idvae-r logs grad_feature, grad_gan, grad_pixel; BatchNorm buffers and the RNG are as before."""
    m = _model(IDVAER)
    probe = torch.rand(64, *SPEC.shape) * 2 - 1
    buffers = {k: v.clone() for k, v in m.state_dict().items()}
    rng = torch.get_rng_state()
    d = m.diagnostics(probe)
    assert {"active_units", "grad_feature", "grad_gan", "grad_pixel"} <= d.keys()
    assert all(d[k] > 0 for k in ("grad_feature", "grad_gan", "grad_pixel"))
    assert torch.equal(torch.get_rng_state(), rng)
    for k, v in m.state_dict().items():
        torch.testing.assert_close(v, buffers[k])
    with preserving_state(m):
        assert torch.is_grad_enabled() and m.training


def init_shares(model: str, seeds: int = 3) -> dict[str, float]:
    """Mean over seeds of each decoder term's share at initialisation, digits@16 at the study's setting."""
    acc: dict[str, list[float]] = {}
    for seed in range(seeds):
        torch.manual_seed(seed)
        ds, cls, cfg, _ = prepare(RunSpec(model, "digits@16", seed=seed,
                                          overrides={"width": 32, "latent_dim": 16, "batch_size": 32, "lr": 1e-3}))
        m = cls.build(cfg, ds.spec)
        d = m.diagnostics(ds.train.batch(slice(0, 64)))
        for k, v in decoder_grad_shares({k: v for k, v in d.items() if k.startswith("grad_")}).items():
            acc.setdefault(k, []).append(v)
    return {k: sum(v) / len(v) for k, v in acc.items()}


def test_adversarial_term_carries_half_the_decoder_gradient_at_start() -> None:
    """The chosen λ (ω = 1): at initialisation on digits@16 (study setting, 3 seeds) ω L_GAN and λ L^dis send
    gradients of equal size into x̃ (share 0.5 each; with λ = 1 the feature term had ≈ 99 %); IDVAE(R)'s
    γ L_recons is on the scale of λ L^dis (equal norms: ⅓ each)."""
    idvae = init_shares("idvae")
    assert 0.35 < idvae["share_gan"] < 0.65
    r = init_shares("idvae-r")
    assert 0.2 < r["share_gan"] < 0.45 and 0.2 < r["share_pixel"] < 0.45 and 0.2 < r["share_feature"] < 0.45
