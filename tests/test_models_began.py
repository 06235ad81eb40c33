"""VAE + BEGAN* + LSM and BEGAN* + LSM (Khan et al., paper 001): losses against explicit references,
the PID controller against a hand-computed sequence, and which parameters each update changes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from bench.data.base import DataSpec
from models import began
from models.began import BEGANLSM, VAEBEGAN, BEGANLSMConfig, PIDController
from models.blocks_began import BEGANDecoder, BEGANEncoder, began_scales

POINTS = DataSpec("grid25", "points", (2,))
IMAGES = DataSpec("digits", "image", (1, 32, 32))


def small(**kw: object) -> BEGANLSMConfig:
    base = dict(width=4, latent_dim=4, mlp_hidden=16, batch_size=16)
    base.update(kw)
    return BEGANLSMConfig(**base)  # type: ignore[arg-type]


def record_updates(model: nn.Module) -> list[tuple[str, set[str]]]:
    """Wrap ``model.update`` to record, per call, the names of the parameters whose values changed."""
    calls: list[tuple[str, set[str]]] = []
    orig = model.update

    def wrapped(name: str, loss: torch.Tensor, **kw: object) -> None:
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        orig(name, loss, **kw)
        calls.append((name, {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}))

    model.update = wrapped  # type: ignore[method-assign]
    return calls


# ---- PID controller (eq. 12) ------------------------------------------------------------------
def test_pid_matches_hand_computed_sequence_with_clipping() -> None:
    # gains (0.1, 0.05, 0.02), k0 = 0.5, e_0 = e_{-1} = 0. By hand, Δ = λ1 e + λ2 (e − e1) + λ3 (e + e2 − 2 e1):
    # t1 e=2:   0.2 + 0.05·2 + 0.02·2 = 0.34                    → k = 0.84
    # t2 e=1:   0.1 + 0.05·(−1) + 0.02·(1 + 0 − 4) = −0.01      → k = 0.83
    # t3 e=10:  1.0 + 0.05·9 + 0.02·(10 + 2 − 2) = 1.65         → 2.48, clipped to 1
    # t4 e=−20: −2 + 0.05·(−30) + 0.02·(−20 + 1 − 20) = −4.28   → clipped to 0
    # t5 e=−30: −3 + 0.05·(−10) + 0.02·(−30 + 10 + 40) = −3.1   → clipped to 0
    # t6 e=−10: −1 + 0.05·20 + 0.02·(−10 − 20 + 60) = 0.6       → k = 0.6 (from the clipped 0)
    pid = PIDController((0.1, 0.05, 0.02), k0=0.5)
    ks = [float(pid.step(e)) for e in (2.0, 1.0, 10.0, -20.0, -30.0, -10.0)]
    np.testing.assert_allclose(ks, [0.84, 0.83, 1.0, 0.0, 0.0, 0.6], atol=1e-12)


def test_pid_paper_gains_two_steps() -> None:
    # λ = 1e-3, 1e-5, 1e-5, e = 0.2 twice: Δ1 = 2e-4 + 2e-6 + 2e-6 = 2.04e-4; Δ2 = 2e-4 + 0 + 1e-5·(0.2 − 0.4) = 1.98e-4
    pid = PIDController()
    assert float(pid.step(0.2)) == pytest.approx(2.04e-4, abs=1e-15)
    assert float(pid.step(0.2)) == pytest.approx(4.02e-4, abs=1e-15)


def test_pid_state_is_in_state_dict() -> None:
    pid = PIDController((0.1, 0.05, 0.02), k0=0.5)
    pid.step(2.0)
    fresh = PIDController((0.1, 0.05, 0.02), k0=0.5)
    fresh.load_state_dict(pid.state_dict())
    assert float(fresh.step(1.0)) == pytest.approx(0.83, abs=1e-12)  # continues the sequence above


# ---- losses on fixed tensors (eqs. 2, 3, 7, 9, 11, 13–15) ------------------------------------------
def test_loss_equations_against_numpy() -> None:
    rng = np.random.default_rng(0)
    x, xr = rng.normal(size=(3, 1, 4, 4)), rng.normal(size=(3, 1, 4, 4))
    za, zb = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    t = lambda a: torch.tensor(a)  # noqa: E731
    assert float(began.l1_energy(t(x), t(xr))) == pytest.approx(np.abs(x - xr).sum() / x.size)
    assert float(began.latent_similarity(t(za), t(zb))) == pytest.approx(np.abs(za - zb).sum() / za.size)
    assert float(began.latent_similarity_unpaired(t(za), t(zb))) == pytest.approx(
        np.abs(za.mean(0) - zb.mean(0)).mean())
    l_d, l_g, l_v, k, a, b, g, eta = 0.7, 0.4, 0.9, 0.25, 0.3, 0.1, 0.1, 0.5
    l_s, l_e, l_n = 0.2, 0.6, 3.0
    assert float(began.discriminator_loss(t(l_d), t(l_g), t(l_v), k, a)) == pytest.approx(0.7 - 0.25 * (0.4 + 0.27))
    assert float(began.generator_loss(t(l_g), t(l_v), t(l_s), t(l_e), a, b, g)) == pytest.approx(
        0.4 + 0.27 + 0.02 + 0.06)
    assert float(began.encoder_loss(t(l_n), t(l_s), t(l_e), b, g)) == pytest.approx(3.0 + 0.02 + 0.06)
    # erratum (docs/protocols.md §5): e_t = η L_d − (L_g + α L_v) = 0.35 − 0.67 = −0.32, not 0.35 − 0.4 + 0.27
    assert float(began.equilibrium_error(t(l_d), t(l_g), t(l_v), a, eta)) == pytest.approx(-0.32)
    assert float(began.convergence_measure(t(l_d), t(l_g), t(l_v), a, eta)) == pytest.approx(0.7 + 0.32)


def test_vae_began_losses_match_explicit_forward() -> None:
    """Recompute every term of a VAEBEGAN forward pass from its networks with the same noise."""
    torch.manual_seed(0)
    m = VAEBEGAN(small(), POINTS).eval()  # eval: deterministic nets (no BatchNorm in MLPs anyway)
    x = torch.randn(16, 2)
    torch.manual_seed(1)
    t = m.losses(x)
    torch.manual_seed(1)
    with torch.no_grad():
        mu, logvar = m.enc(x).chunk(2, 1)
        eps, z_g = torch.randn_like(mu), torch.randn(16, 4)
        x_v = m.dec(mu + (0.5 * logvar).exp() * eps).numpy()
        x_g = m.dec(z_g).numpy()
        z_d, z_v = m.d_enc(x).numpy(), m.d_enc(torch.tensor(x_v)).numpy()
        xd_ = m.d_dec(torch.tensor(z_d)).numpy()
        xg_ = m.d_dec(m.d_enc(torch.tensor(x_g))).numpy()
        xv_ = m.d_dec(torch.tensor(z_v)).numpy()
    mu, lv, xn = mu.numpy(), logvar.numpy(), x.numpy()
    kl = 0.5 * (np.exp(lv) + mu**2 - 1 - lv).sum(1).mean() / 2  # default kl_reduction=pixel: ÷ |x| = 2
    ref = {"L_e": np.abs(xn - x_v).mean(), "L_n": kl, "L_s": np.abs(z_d - z_v).mean(),
           "L_d": np.abs(xn - xd_).mean(), "L_g": np.abs(x_g - xg_).mean(), "L_v": np.abs(x_v - xv_).mean()}
    for key, val in ref.items():
        assert float(t[key].detach()) == pytest.approx(float(val), rel=1e-5), key


# ---- a full step: update order, parameters touched, k_t and M logged ---------------------------
def test_vae_began_step_updates_each_network_once_in_order() -> None:
    torch.manual_seed(0)
    m = VAEBEGAN(small(lambda1=0.1), POINTS)
    m.optimizers = m.configure_optimizers()
    calls = record_updates(m)
    k_prev = float(m.pid.k)
    out = m.train_step(lambda: torch.randn(16, 2), 0)
    assert [c[0] for c in calls] == ["enc", "dec", "disc"]  # Alg. 1 lines 8, 11, 13
    prefixes = {"enc": ("enc.",), "dec": ("dec.",), "disc": ("d_enc.", "d_dec.")}
    for name, changed in calls:
        assert changed, name
        assert all(n.startswith(prefixes[name]) for n in changed), (name, changed)
    assert {n for n, _ in m.named_parameters() if n.startswith("enc.")} <= calls[0][1]
    cfg = m.cfg
    # logged values obey eqs. 11–15 with k_{t−1} in L_dis
    assert float(out["L_dis"]) == pytest.approx(float(out["L_d"] - k_prev * (out["L_g"] + cfg.alpha * out["L_v"])))
    assert float(out["L_enc"]) == pytest.approx(float(out["L_n"] + 0.1 * out["L_s"] + 0.1 * out["L_e"]))
    assert float(out["L_gen"]) == pytest.approx(
        float(out["L_g"] + 0.3 * out["L_v"] + 0.1 * out["L_s"] + 0.1 * out["L_e"]))
    e = float(0.5 * out["L_d"] - out["L_g"] - 0.3 * out["L_v"])
    assert float(out["e_t"]) == pytest.approx(e, rel=1e-5)
    assert float(out["M"]) == pytest.approx(float(out["L_d"]) + abs(e), rel=1e-5)
    # first step from k0 = 0 with zero history: k_1 = clip((λ1 + λ2 + λ3) e_1)
    assert float(out["k_t"]) == pytest.approx(min(max((0.1 + 1e-5 + 1e-5) * e, 0.0), 1.0), rel=1e-5)


def test_began_lsm_step_and_error_without_vae_terms() -> None:
    torch.manual_seed(0)
    m = BEGANLSM(small(lambda1=0.1, k0=0.3), POINTS)
    m.optimizers = m.configure_optimizers()
    calls = record_updates(m)
    out = m.train_step(lambda: torch.randn(16, 2), 0)
    assert [c[0] for c in calls] == ["dec", "disc"]
    assert all(n.startswith("dec.") for n in calls[0][1]) and calls[0][1]
    assert all(n.startswith(("d_enc.", "d_dec.")) for n in calls[1][1]) and calls[1][1]
    assert not hasattr(m, "enc")
    assert float(out["L_gen"]) == pytest.approx(float(out["L_g"] + 0.1 * out["L_s"]))
    assert float(out["L_dis"]) == pytest.approx(float(out["L_d"] - 0.3 * out["L_g"]))
    e = float(0.5 * out["L_d"] - out["L_g"])  # e_t = η L_d − L_g
    assert float(out["e_t"]) == pytest.approx(e, rel=1e-5)
    assert float(out["M"]) == pytest.approx(float(out["L_d"]) + abs(e), rel=1e-5)
    assert float(out["k_t"]) == pytest.approx(min(max(0.3 + (0.1 + 2e-5) * e, 0.0), 1.0), rel=1e-5)


def test_discriminator_update_raises_fake_energy_when_k_positive() -> None:
    """With k = 1 the discriminator descends L_d − (L_g + α L_v): fake energies go up (signs check)."""
    torch.manual_seed(0)
    m = VAEBEGAN(small(k0=1.0, lr=1e-2), POINTS)
    m.optimizers = m.configure_optimizers()
    x = torch.randn(16, 2)
    fake = m.decode(torch.randn(16, 4)).detach()
    energy = lambda: float(began.l1_energy(fake, m.disc_reconstruct(m.disc_code(fake))).detach())  # noqa: E731
    before = energy()
    for _ in range(5):
        loss = began.discriminator_loss(began.l1_energy(x, m.disc_reconstruct(m.disc_code(x))),
                                        began.l1_energy(fake, m.disc_reconstruct(m.disc_code(fake))), 0.0, 1.0, 0.3)
        m.update("disc", loss)
    assert energy() > before


# ---- the paper-protocol architecture ------------------------------------------------------------
def test_began_blocks_shapes_and_layer_types() -> None:
    assert began_scales(32) == (2, 8) and began_scales(64) == (3, 8)
    dec, enc = BEGANDecoder(8, 3, 32, 4), BEGANEncoder(3, 32, 4, 8)
    assert dec(torch.randn(2, 8)).shape == (2, 3, 32, 32)
    assert enc(torch.randn(2, 3, 32, 32)).shape == (2, 8)
    kinds = {type(mod) for mod in list(dec.modules()) + list(enc.modules())}
    assert nn.ELU in kinds and nn.Upsample in kinds
    assert not kinds & {nn.BatchNorm2d, nn.ConvTranspose2d, nn.Dropout}  # Khan §4
    convs = [mod for mod in dec.modules() if isinstance(mod, nn.Conv2d)]
    assert len(convs) == 3 * 2 + 1  # three conv pairs at 32 px + the output conv
    m = VAEBEGAN(BEGANLSMConfig(**{**BEGANLSM.paper_preset(IMAGES), "width": 4, "latent_dim": 4}), IMAGES)
    assert isinstance(m.dec, BEGANDecoder) and isinstance(m.d_enc, BEGANEncoder) and isinstance(m.enc, BEGANEncoder)
    assert BEGANLSM.paper_preset(IMAGES)["lr"] == 5e-5


@pytest.mark.parametrize(("reduction", "divisor"), [("mean", 4), ("sum", 1), ("pixel", 2), ("elbo", 2 / 0.1)])
def test_kl_reduction_divides_the_summed_kl(reduction: str, divisor: float) -> None:
    """L_n = KL summed over dims (numpy) ÷ dim z = 4 (mean), ÷ 1 (sum, the literal eq. 3), ÷ |x| = 2 (pixel),
    × γ/|x| = 0.1/2 (elbo)."""
    torch.manual_seed(0)
    m = VAEBEGAN(small(kl_reduction=reduction), POINTS).eval()
    x = torch.randn(16, 2)
    torch.manual_seed(1)
    l_n = m.losses(x)["L_n"].detach()
    mu, logvar = (t.detach().numpy() for t in m.posterior(x))
    ref = 0.5 * (np.exp(logvar) + mu**2 - 1 - logvar).sum(1).mean() / divisor
    assert float(l_n) == pytest.approx(float(ref), rel=1e-5)


def test_points_default_to_a_one_dimensional_discriminator_code() -> None:
    from bench.data import load
    from bench.run import RunSpec, resolve

    _, cfg = resolve(RunSpec("vae-began", "grid25"), load("grid25"))
    assert cfg.code_dim == 1
    m = VAEBEGAN(cfg, POINTS)
    assert m.disc_code(torch.randn(3, 2)).shape == (3, 1)
    _, img_cfg = resolve(RunSpec("began-lsm", "digits"), load("digits"))
    assert img_cfg.code_dim == 0  # images: code = dim z (BEGAN: h = N_z)
