"""VAE-S, AVAE and AVAE-S (Naderi et al., paper 003): each loss term against an explicit reference,
the §III calibration, the Alg. 1 accuracy gates and which parameters each step changes."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from scipy import ndimage
from scipy.special import logsumexp
from scipy.stats import norm
from torch import nn

from bench.data.base import DataSpec
from models import avae_s, vae_s
from models.avae_s import AVAES, AVAEFineTuned, AVAEFTConfig
from models.blocks_avaes import TableIDecoder, TableIEncoder
from models.vae import vae_loss
from models.vae_s import VAES, LossCalibration, VAESConfig

POINTS = DataSpec("grid25", "points", (2,))
IMAGES = DataSpec("digits", "image", (1, 32, 32))
SMALL = dict(width=4, latent_dim=4, mlp_hidden=16, batch_size=8)


def fixed_images(seed: int = 0, n: int = 2, c: int = 2, s: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, size=(n, c, s, s)), rng.uniform(-1, 1, size=(n, c, s, s))


# ---- reconstruction terms (eqs. 5–8) -----------------------------------------------------------
def test_pixel_terms_against_numpy() -> None:
    a, b = fixed_images()
    ta, tb = torch.tensor(a), torch.tensor(b)
    assert float(vae_s.mae_term(ta, tb)) == pytest.approx(np.abs(a - b).reshape(2, -1).sum(1).mean())
    assert float(vae_s.mse_term(ta, tb)) == pytest.approx(0.5 * ((a - b) ** 2).reshape(2, -1).sum(1).mean())


def test_sobel_matches_scipy() -> None:
    a, b = fixed_images()
    ours = vae_s.sobel(torch.tensor(a)).numpy().reshape(2, 2, 2, 16, 16)  # (N, C, [gx, gy], H, W)
    for n in range(2):
        for c in range(2):
            np.testing.assert_allclose(ours[n, c, 0], ndimage.sobel(a[n, c], axis=1), atol=1e-10)
            np.testing.assert_allclose(ours[n, c, 1], ndimage.sobel(a[n, c], axis=0), atol=1e-10)
    ref = np.mean([np.sqrt(sum(((ndimage.sobel(a[n, c], axis=ax) - ndimage.sobel(b[n, c], axis=ax)) ** 2).sum()
                               for c in range(2) for ax in (0, 1))) for n in range(2)])
    assert float(vae_s.sobel_term(torch.tensor(a), torch.tensor(b))) == pytest.approx(ref)


def test_gabor_kernel_closed_form_and_bank_response_matches_scipy() -> None:
    theta, lam = math.pi / 4, 4.0
    k = vae_s.gabor_kernel(theta, lam, sigma=2.5, gamma=0.5, size=11).double().numpy()
    # closed form at every grid point (x = column − 5, y = row − 5), zero-mean, unit norm
    y, x = np.mgrid[-5:6, -5:6].astype(float)
    xp, yp = x * np.cos(theta) + y * np.sin(theta), -x * np.sin(theta) + y * np.cos(theta)
    g = np.exp(-(xp**2 + 0.25 * yp**2) / (2 * 2.5**2)) * np.cos(2 * np.pi * xp / lam)
    g = (g - g.mean()) / np.linalg.norm(g - g.mean())
    np.testing.assert_allclose(k, g, atol=1e-6)
    assert abs(k.sum()) < 1e-5 and np.linalg.norm(k) == pytest.approx(1.0, abs=1e-6)
    # hand value at the centre before normalisation: exp(0)·cos(0) = 1
    assert np.exp(0) * np.cos(0) == 1.0
    a, b = fixed_images(s=16)
    bank = vae_s.gabor_bank().double().numpy()
    ours = vae_s.gabor(torch.tensor(a)).numpy().reshape(2, 2, len(bank), 16, 16)
    for j in (0, 5):
        np.testing.assert_allclose(ours[1, 1, j], ndimage.correlate(a[1, 1], bank[j], mode="mirror"), atol=1e-5)
    ref = np.mean([np.sqrt(sum(((ndimage.correlate(a[n, c], bank[j], mode="mirror")
                                  - ndimage.correlate(b[n, c], bank[j], mode="mirror")) ** 2).sum()
                               for c in range(2) for j in range(len(bank)))) for n in range(2)])
    assert float(vae_s.gabor_term(torch.tensor(a), torch.tensor(b))) == pytest.approx(ref, rel=1e-5)


def test_dssim_closed_form_on_constant_images() -> None:
    # constant images: σ = 0, so SSIM = (2 μ_a μ_b + C1) / (μ_a² + μ_b² + C1), C1 = (0.01)², data range 1
    a = torch.full((2, 1, 16, 16), 0.2, dtype=torch.float64)  # model range → 0.6 in [0, 1]
    b = torch.full((2, 1, 16, 16), -0.4, dtype=torch.float64)  # → 0.3
    c1 = 1e-4
    ssim = (2 * 0.6 * 0.3 + c1) / (0.36 + 0.09 + c1)
    # tolerance: pytorch_msssim normalises its Gaussian window in float32, which leaves a ~1e-7 error
    # in the (zero) variances, i.e. ~1e-5 in the contrast-structure factor
    assert float(vae_s.dssim_term(a, b)) == pytest.approx(1 - ssim, abs=5e-5)
    assert float(vae_s.dssim_term(a, b)) != pytest.approx(1 - (2 * 0.2 * -0.4 + c1) / (0.04 + 0.16 + c1), abs=1e-2)
    assert float(vae_s.dssim_term(a, a)) == pytest.approx(0.0, abs=1e-6)


# ---- KL and TC (eq. 10) --------------------------------------------------------------------------
def test_total_correlation_mws_against_scipy_loop() -> None:
    rng = np.random.default_rng(3)
    m, d, n_data = 5, 3, 100
    mu, logvar, z = rng.normal(size=(m, d)), rng.normal(scale=0.3, size=(m, d)), rng.normal(size=(m, d))
    sd = np.exp(0.5 * logvar)
    ref = 0.0
    for i in range(m):  # β-TCVAE MWS, written as explicit sums over the batch
        log_q = logsumexp([norm.logpdf(z[i], mu[j], sd[j]).sum() for j in range(m)]) - np.log(n_data * m)
        log_prod = sum(logsumexp([norm.logpdf(z[i, k], mu[j, k], sd[j, k]) for j in range(m)]) - np.log(n_data * m)
                       for k in range(d))
        ref += (log_q - log_prod) / m
    ours = vae_s.total_correlation_mws(torch.tensor(z), torch.tensor(mu), torch.tensor(logvar), n_data)
    assert float(ours) == pytest.approx(ref, rel=1e-10)


def test_vaes_with_mse_only_is_the_vanilla_vae() -> None:
    """λ = (0, 1, 0, 0, 0) and no TC: L_VAE is AVAE eq. 9 with β = 1 (the models.vae reference)."""
    torch.manual_seed(0)
    m = VAES(VAESConfig(**SMALL, rec_weights=(0, 1, 0, 0, 0), tc_weight=0.0), IMAGES)
    x = torch.rand(8, 1, 32, 32) * 2 - 1
    torch.manual_seed(1)
    out = m.vae_losses(x, lambda: x)
    torch.manual_seed(1)
    mu, logvar = m.posterior(x)
    x_hat = m.decode(mu + (0.5 * logvar).exp() * torch.randn_like(mu))
    ref, _, _ = vae_loss(x, x_hat, mu, logvar, 1.0)
    assert float(out["loss"].detach()) == pytest.approx(float(ref.detach()), rel=1e-6)


# ---- calibration (§III) --------------------------------------------------------------------------
def test_calibration_ratios_then_frozen() -> None:
    cal = LossCalibration((True, True, True, True, False))
    cal.resolve(3)
    raws = [torch.tensor([30.0, 900.0, 0.5, 10.0, 7.0]), torch.tensor([10.0, 300.0, 1.5, 30.0, 7.0]),
            torch.tensor([20.0, 600.0, 1.0, 20.0, 7.0])]
    for r in raws:
        w = cal.observe(r)
    # means over the probe: MAE 20, MSE 600, DSSIM 1, Sobel 20 → λ = 30, 1, 600, 30; Gabor inactive → 0
    np.testing.assert_allclose(w.numpy(), [30.0, 1.0, 600.0, 30.0, 0.0], rtol=1e-6)
    assert bool(cal.frozen)
    w_after = cal.observe(torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0]))
    np.testing.assert_allclose(w_after.numpy(), [30.0, 1.0, 600.0, 30.0, 0.0], rtol=1e-6)
    fixed = LossCalibration((True,) * 5, fixed=(1.0, 2.0, 3.0, 4.0, 5.0))
    fixed.resolve(10)
    np.testing.assert_allclose(fixed.observe(torch.ones(5)).numpy(), [1, 2, 3, 4, 5])
    restored = LossCalibration((True, True, True, True, False))
    restored.load_state_dict(cal.state_dict())
    assert bool(restored.frozen) and int(restored.count) == 3


def test_vaes_step_weights_sum_and_points_fallback() -> None:
    """``calibration=running`` (the old reading): step 0 trains with the ratios of its own batch."""
    torch.manual_seed(0)
    m = VAES(VAESConfig(**SMALL, calibration_steps=2, calibration="running"), IMAGES)
    m.optimizers = m.configure_optimizers()
    x = torch.rand(8, 1, 32, 32) * 2 - 1
    out = m.train_step(lambda: x, 0)
    raw = torch.stack([out[f"L_{t}"] for t in vae_s.TERMS])
    w = torch.stack([out[f"w_{t}"] for t in vae_s.TERMS])
    np.testing.assert_allclose(w.numpy(), (raw[1] / raw).numpy(), rtol=1e-5)  # first probe step: ratios
    assert float(out["rec"]) == pytest.approx(float((w * raw).sum()), rel=1e-5)
    assert float(out["loss"]) == pytest.approx(float(out["rec"] + out["kl"] + out["tc"]), rel=1e-5)
    p = VAES(VAESConfig(**SMALL, calibration="running"), POINTS)
    p.optimizers = p.configure_optimizers()
    po: dict = {}
    changed = _params_changed(p, lambda: po.update(p.train_step(lambda: torch.randn(8, 2), 0)))
    assert any(n.startswith("enc.") for n in changed) and any(n.startswith("dec.") for n in changed)
    assert all(n.startswith(("enc.", "dec.")) for n in changed)
    assert [float(po[f"w_{t}"]) for t in ("dssim", "sobel", "gabor")] == [0.0, 0.0, 0.0]
    assert float(po["w_mae"]) == pytest.approx(float(po["L_mse"] / po["L_mae"]), rel=1e-5)


def first_step_with_probe(**cfg: object) -> tuple[VAES, VAES, list[torch.Tensor], Callable[[], torch.Tensor], dict]:
    """A small VAE-S's first training step, which runs the calibration probe on three fresh batches:
    (model, a copy of it before the step, the batches drawn, the batch source, the step's outputs). Checks
    that the probe left the model as one training step does: one optimiser step, one BatchNorm batch counted."""
    torch.manual_seed(0)
    m = VAES(VAESConfig(**SMALL, calibration_steps=3, **cfg), IMAGES)
    m.optimizers = m.configure_optimizers()
    initial = copy.deepcopy(m)
    g = torch.Generator().manual_seed(4)
    drawn: list[torch.Tensor] = []

    def real() -> torch.Tensor:
        drawn.append(torch.rand(8, 1, 32, 32, generator=g) * 2 - 1)
        return drawn[-1]

    torch.manual_seed(7)
    out = m.train_step(real, 0)
    assert len(drawn) == 4  # the training batch, then three probe batches
    assert int(m.optimizers["vae"].state[m.optimizers["vae"].param_groups[0]["params"][0]]["step"]) == 1
    tracked = [int(mod.num_batches_tracked) for mod in m.modules() if isinstance(mod, nn.BatchNorm2d)]
    assert tracked and set(tracked) == {1}  # only the training forward counted: the probe's were undone
    return m, initial, drawn, real, out


def test_dry_probe_makes_no_update_then_fixes_the_weights() -> None:
    """``calibration=dry``. AVAE-S §III, "we probed the loss components for 1 epoch and determined the weights and used
    those weights in all the experiments thereafter": the default probe reads ``calibration_steps``
    fresh batches with the untrained networks (no optimiser step, BatchNorm statistics untouched),
    sets λ_i = mean L_MSE / mean L_i over them, and the first training step already uses those λ."""
    m, initial, drawn, real, out = first_step_with_probe(calibration="dry")
    # the reference: the initial networks on the three probe batches, the same noise draws
    torch.manual_seed(7)
    rng = torch.get_rng_state()
    sums = np.zeros(5)
    with torch.no_grad():
        initial.train()
        torch.set_rng_state(rng)
        for x in drawn[1:]:
            mu, logvar = initial.posterior(x)
            x_rec = initial.decode(mu + (0.5 * logvar).exp() * torch.randn_like(mu))
            d = (x - x_rec).flatten(1)
            sums += [float(d.abs().sum(1).mean()), float(0.5 * d.pow(2).sum(1).mean()),
                     float(vae_s.dssim_term(x, x_rec)), float(vae_s.sobel_term(x, x_rec)),
                     float(vae_s.gabor_term(x, x_rec))]
    w = np.array([float(out[f"w_{t}"]) for t in vae_s.TERMS])
    np.testing.assert_allclose(w, sums[1] / sums, rtol=1e-4)
    raw = torch.stack([out[f"L_{t}"] for t in vae_s.TERMS])
    assert float(out["rec"]) == pytest.approx(float((torch.tensor(w, dtype=raw.dtype) * raw).sum()), rel=1e-4)
    later = m.train_step(real, 1)
    assert len(drawn) == 5 and np.allclose([float(later[f"w_{t}"]) for t in vae_s.TERMS], w)


def test_trained_probe_trains_a_throwaway_copy_then_freezes_the_weights() -> None:
    """``calibration=trained`` (default, issue #26 §4): AVAE-S §III probes "for 1 epoch", which implies training.
    A copy of the untrained model is trained on the probe's batches (running ratios as weights, its own Adam);
    λ = the MSE term's mean over the terms it saw ÷ each term's mean; the model itself is untouched by the probe
    (one optimiser step, one BatchNorm batch counted: its own first step) and trains with λ frozen. Reference: a
    deep copy of the initial model trained by hand on the same batches with the same noise; its λ differ from the
    untrained networks' (dry probe), since the losses change while it trains."""
    m, initial, drawn, real, out = first_step_with_probe(lr=1e-2)
    assert m.cfg.calibration == "trained"
    # reference: the initial networks trained by hand on the three probe batches, weights = running ratios
    torch.manual_seed(7)
    ref = copy.deepcopy(initial)
    opt = torch.optim.Adam(list(ref.enc.parameters()) + list(ref.dec.parameters()), lr=1e-2, betas=(0.5, 0.999))
    sums = np.zeros(5)
    for x in drawn[1:]:
        mu, logvar = ref.posterior(x)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        x_rec = ref.decode(z)
        raw = vae_s.reconstruction_terms(x, x_rec)
        sums += raw.detach().double().numpy()
        w_now = torch.tensor(sums[1] / sums, dtype=raw.dtype)
        loss = (w_now * raw).sum() + vae_s.kl_normal(mu, logvar).mean() + vae_s.total_correlation_mws(z, mu, logvar, 8)
        opt.zero_grad()
        loss.backward()
        opt.step()
    w = np.array([float(out[f"w_{t}"]) for t in vae_s.TERMS])
    np.testing.assert_allclose(w, sums[1] / sums, rtol=1e-4)
    dry = VAES(VAESConfig(**SMALL, calibration_steps=3, calibration="dry"), IMAGES)
    dry.load_state_dict(initial.state_dict())
    dry.optimizers = dry.configure_optimizers()
    batches = iter(drawn)
    torch.manual_seed(7)
    dry.train_step(lambda: next(batches), 0)  # the same four batches: training batch, then the dry probe
    w_dry = dry.calib.weights.double().numpy()
    assert np.abs(w / w_dry - 1).max() > 0.01


def test_kl_and_tc_weights_are_eq_10s_ones_and_not_calibrated() -> None:
    """Eq. 10 / Alg. 1: L_VAE = L_REC + L_KL + L_KL-TC with unit weights; the probe sets only the λ_i of
    eq. 5 (the paper's example compares L1 with L2). ``kl_weight`` and ``tc_weight`` multiply their terms."""
    torch.manual_seed(0)
    m = VAES(VAESConfig(**SMALL, calibration_steps=1, kl_weight=2.5, tc_weight=0.5), IMAGES)
    m.optimizers = m.configure_optimizers()
    x = torch.rand(8, 1, 32, 32) * 2 - 1
    out = m.train_step(lambda: x, 0)
    assert float(out["loss"]) == pytest.approx(float(out["rec"] + 2.5 * out["kl"] + 0.5 * out["tc"]), rel=1e-5)
    assert (VAESConfig().kl_weight, VAESConfig().tc_weight) == (1.0, 1.0)


# ---- AVAE / AVAE-S (Alg. 1) ----------------------------------------------------------------------
def test_gates_and_accuracy() -> None:
    assert avae_s.gates(0.49) == (True, False)
    assert avae_s.gates(0.5) == (True, False)
    assert avae_s.gates(0.6) == (True, True)
    assert avae_s.gates(0.7) == (False, True)
    assert avae_s.gates(0.9) == (False, True)
    acc = avae_s.discriminator_accuracy(torch.tensor([1.0, -1.0, 2.0, 3.0]), torch.tensor([-1.0, 1.0, -2.0, 0.5]))
    assert acc == pytest.approx(5 / 8)


def test_dis_and_adversarial_terms_against_explicit_logs() -> None:
    lr, lf = torch.tensor([0.3, -1.2]), torch.tensor([2.0, -0.5])
    s = lambda v: 1 / (1 + np.exp(-v.numpy()))  # noqa: E731
    ref_d = -np.mean(np.log(s(lr))) - np.mean(np.log(1 - s(lf)))
    assert float(avae_s.dis_loss(lr, lf)) == pytest.approx(ref_d, rel=1e-6)
    # default: Alg. 1's literal log(1 − Dis(x̃)) (saturating); the non-saturating −log Dis(x̃) as a setting
    assert float(avae_s.adversarial_term(lf)) == pytest.approx(np.mean(np.log(1 - s(lf))), rel=1e-6)
    assert float(avae_s.adversarial_term(lf, "non_saturating")) == pytest.approx(-np.mean(np.log(s(lf))), rel=1e-6)
    # either VAE term falls as Dis calls x̃ more real (the reading of the paper's sign)
    for form in ("saturating", "non_saturating"):
        assert float(avae_s.adversarial_term(lf + 1, form)) < float(avae_s.adversarial_term(lf, form))


def _params_changed(model: nn.Module, fn) -> set[str]:  # noqa: ANN001
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    fn()
    return {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}


@pytest.mark.parametrize("cls", [AVAEFineTuned, AVAES])
@pytest.mark.parametrize(("acc", "d_changes", "vae_changes"), [(0.4, True, False), (0.6, True, True), (0.8, False, True)])
def test_fine_tune_gates_decide_which_networks_change(monkeypatch: pytest.MonkeyPatch, cls: type, acc: float,
                                                      d_changes: bool, vae_changes: bool) -> None:
    torch.manual_seed(0)
    m = cls(cls.Config(**SMALL, pretrain_steps=1), POINTS)
    m.optimizers = m.configure_optimizers()
    monkeypatch.setattr(avae_s, "discriminator_accuracy", lambda *_: acc)
    x = torch.randn(8, 2)
    pre = _params_changed(m, lambda: m.train_step(lambda: x, 0))  # step 0 < 1: pre-training
    assert pre and all(n.startswith(("enc.", "dec.")) for n in pre)
    out: dict = {}
    changed = _params_changed(m, lambda: out.update(m.train_step(lambda: x, 1)))
    assert any(n.startswith("disc.") for n in changed) == d_changes
    assert any(n.startswith(("enc.", "dec.")) for n in changed) == vae_changes
    assert float(out["phase"]) == 1.0 and float(out["d_step"]) == float(d_changes)


def test_avae_ft_pretrain_is_vanilla_vae_and_switch_is_a_buffer() -> None:
    torch.manual_seed(0)
    m = AVAEFineTuned(AVAEFTConfig(**SMALL, steps=40, pretrain_epochs=3), POINTS)
    m.optimizers = m.configure_optimizers()

    class Stream:  # what the trainer passes: callable with the training split
        split = torch.zeros(20, 2)  # 20 // 8 = 2 batches per epoch → 3 epochs = 6 steps (< 40 // 2)

        def __call__(self) -> torch.Tensor:
            return torch.randn(8, 2)

    out = m.train_step(Stream(), 0)
    assert int(m.switch_step) == 6 and "switch_step" in m.state_dict()
    assert float(out["loss"]) == pytest.approx(float(out["rec"] + out["kl"]), rel=1e-6)
    assert "tc" not in out and not hasattr(m, "calib")
    capped = AVAEFineTuned(AVAEFTConfig(**SMALL, steps=10), POINTS)  # 100 epochs capped at steps // 2
    capped.optimizers = capped.configure_optimizers()
    capped.train_step(Stream(), 0)
    assert int(capped.switch_step) == 5


def test_table_i_architecture() -> None:
    enc = TableIEncoder(3, 96, 24, 64)
    convs = [mod for mod in enc.modules() if isinstance(mod, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [24, 24, 48, 48, 96, 96, 192, 192]
    assert [c.kernel_size[0] for c in convs] == [3, 4] * 4 and [c.stride[0] for c in convs] == [1, 2] * 4
    assert TableIDecoder(32, 3, 96, 24).start == (192, 6)
    # forward shapes at width 4 (the layout does not depend on the width; keeps the test cheap)
    assert TableIEncoder(3, 96, 4, 64)(torch.randn(2, 3, 96, 96)).shape == (2, 64)
    y = TableIDecoder(32, 3, 96, 4)(torch.randn(2, 32)).detach()
    assert y.shape == (2, 3, 96, 96) and float(y.min()) >= -1 and float(y.max()) <= 1
    disc = TableIEncoder(3, 96, 24, 1, pool=True)
    assert sum(isinstance(mod, nn.MaxPool2d) for mod in disc.modules()) == 4
    assert all(c.stride[0] == 1 for c in disc.modules() if isinstance(c, nn.Conv2d))
    assert VAES.paper_preset(IMAGES) == {"arch": "avaes", "width": 24, "latent_dim": 32}
