"""Issue #26 §3–4 for ``vae-began``: the KL's scale (β_eff) that lets it learn under both initialisations, BEGAN's
k_t regime, and the discriminator's joint pass of the released code."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from training_runs import read_log

from bench.data.base import DataSpec
from bench.run import RunSpec, execute
from models.began import VAEBEGAN, BEGANLSMConfig, PIDController, equilibrium_error

IMAGES = DataSpec("digits", "image", (1, 32, 32))


def test_k_t_stays_at_zero_when_fakes_are_reconstructed_as_well_as_reals() -> None:
    """Closed form of Khan eq. 11 (with the erratum bracket): L_g = L_v = L_d gives e_t = (η − 1 − α) L_d = −0.8 L_d
    at the paper's η = 0.5, α = 0.3, so the PID (eq. 12, clipped as BEGAN's ``tf.clip_by_value(k_t + λ_k·balance,
    0, 1)``) keeps k_t at its start value 0; k_t rises only when the fakes' energy is below η/(1 + α) = 0.385 L_d."""
    l_d = torch.tensor(0.2)
    assert float(equilibrium_error(l_d, l_d, l_d, 0.3, 0.5)) == pytest.approx(-0.8 * 0.2)
    pid = PIDController()
    for _ in range(100):
        k = pid.step(equilibrium_error(l_d, l_d, l_d, 0.3, 0.5))
    assert float(k) == 0.0
    ratio = 0.5 / 1.3
    assert float(equilibrium_error(l_d, 0.99 * ratio * l_d, 0.99 * ratio * l_d, 0.3, 0.5)) > 0
    assert float(equilibrium_error(l_d, 1.01 * ratio * l_d, 1.01 * ratio * l_d, 0.3, 0.5)) < 0


def test_joint_pass_is_one_discriminator_call_on_the_concatenation() -> None:
    """``disc_pass="joint"``: codes and reconstructions of x, x_v, x_g are those of one call of e′ then d′ on
    [x; x_v; x_g] (BEGAN's released code: ``DiscriminatorCNN(tf.concat([G, x], 0))`` then ``tf.split``); with
    the fair blocks' BatchNorm this differs from one call per batch (``"separate"``, the default)."""
    torch.manual_seed(0)
    m = VAEBEGAN.build(BEGANLSMConfig(width=4, latent_dim=4, disc_pass="joint"), IMAGES)
    a, b, c = (torch.rand(8, *IMAGES.shape) * s - 1 for s in (2.0, 1.0, 0.5))
    (za, zb, zc), (ra, rb, rc) = m.discriminate(a, b, c)
    codes = m.d_enc(torch.cat([a, b, c]))
    rec = m.d_dec(codes).view(-1, *IMAGES.shape)
    torch.testing.assert_close(torch.cat([za, zb, zc]), codes)
    torch.testing.assert_close(torch.cat([ra, rb, rc]), rec)
    m.cfg.disc_pass = "separate"
    (_, zb_sep, _), _ = m.discriminate(a, b, c)
    torch.testing.assert_close(zb_sep, m.d_enc(b))
    assert not torch.allclose(zb_sep, zb)


FAIR = {"width": 16, "batch_size": 64, "lr": 2e-4}  # the fair protocol's optimiser settings, width 16 (issue #26)
MEAN_IMAGE_MSE = 0.047  # test MSE of the mean training image on digits (issue #26)


def fair_run(tmp_path: Path, steps: int = 300, **overrides: object) -> tuple[dict, list[dict]]:
    spec = RunSpec(model="vae-began", dataset="digits", seed=0, steps=steps, overrides={**FAIR, **overrides},
                   metrics=["mse"], n_eval=300, log_every=100, checkpoint_every=10**9)
    rec = execute(spec, tmp_path / "run", progress=False)
    assert rec["status"] == "completed"
    return rec, read_log(tmp_path / "run")


def test_joint_decoder_pass_is_one_call_on_the_concatenation() -> None:
    """``dec_pass="joint"`` (default): x_v and x_g come from one decoder call on [z_v; z_g] (as VAE/GAN's released code
    decodes [z; z_p]: andersbll/autoencoding_beyond_pixels ``model/aegan.py``), so the fair generator's BatchNorm
    normalises both with one batch's statistics; ``"separate"`` makes two calls, and with BatchNorm its x_v differs."""
    torch.manual_seed(0)
    m = VAEBEGAN.build(BEGANLSMConfig(width=4, latent_dim=4), IMAGES)
    assert m.cfg.dec_pass == "joint"
    x = torch.rand(8, *IMAGES.shape) * 2 - 1
    calls: list[int] = []
    m.dec.register_forward_hook(lambda mod, inp, out: calls.append(len(inp[0])))
    torch.manual_seed(1)
    joint = m.losses(x)
    assert calls == [16]
    mu, logvar = m.posterior(x)
    torch.manual_seed(1)
    z_v = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
    z_g = m.prior(8)
    x_v, x_g = m.decode(torch.cat([z_v, z_g])).chunk(2)
    torch.testing.assert_close(joint["L_e"], (x - x_v).abs().mean())
    m.cfg.dec_pass = "separate"
    calls.clear()
    torch.manual_seed(1)
    separate = m.losses(x)
    assert calls == [8, 8]
    torch.testing.assert_close(separate["L_e"], (x - m.decode(z_v)).abs().mean())
    assert not torch.allclose(separate["L_e"], joint["L_e"])


@pytest.mark.slow
@pytest.mark.parametrize("latent", [16, 32])
@pytest.mark.parametrize("init", ["dcgan", "pytorch"])
def test_vae_began_learns_under_both_initialisations_at_the_fair_settings(init: str, latent: int, tmp_path: Path
                                                                        ) -> None:
    """Issue #26 §3's acceptance with the default KL scale and the joint decoder pass: digits (32 px), lr 2e-4,
    batch 64, width 16, 600 iterations, at the issue's latent 32 (its PyTorch-initialised run had "32 of 32 active
    units") and at latent 16 (the suite's bench and study latent). Measured at 600 iterations: latent 16, test MSE
    0.0063 (DCGAN's initialisation) and 0.0151 (PyTorch's); latent 32, 0.0113 and 0.0125, every unit active. At
    1,500 iterations, latent 32: 0.0056 and 0.0072 (the issue measured 0.093 under DCGAN's initialisation with two
    decoder passes, 0.0076 under PyTorch's). The mean image scores 0.047; the bound 0.03 leaves room for platform
    differences (docs/models-fidelity.md §IV.3)."""
    rec, log = fair_run(tmp_path, steps=600, init=init, latent_dim=latent)
    assert rec["mse"] < 0.03 < MEAN_IMAGE_MSE
    assert log[-1]["active_units"] >= latent // 2 and "k_t" in log[-1]


@pytest.mark.slow
@pytest.mark.parametrize("init", ["dcgan", "pytorch"])
def test_vae_began_at_the_elbo_kl_scale_learns_under_both_initialisations(init: str, tmp_path: Path) -> None:
    """digits (32 px), lr 2e-4, batch 64, width 16, the config's latent 128, ``kl_reduction=elbo`` (β_eff = 1): test
    MSE well below the mean image's 0.047 and an informative posterior under DCGAN's and PyTorch's initialisations
    (measured at 300 iterations with two decoder passes: MSE 0.022 and 0.022, 128 of 128 active units;
    docs/models-fidelity.md §IV.3). The bound 0.03 leaves room for platform differences."""
    rec, log = fair_run(tmp_path, init=init, kl_reduction="elbo")
    assert rec["mse"] < 0.03 < MEAN_IMAGE_MSE
    assert log[-1]["active_units"] >= 8 and "k_t" in log[-1]


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="known limitation (issue #26 §3): at width 16 and latent 128, DCGAN's "
                   "initialisation and the per-pixel KL (β_eff = 10) close every unit (0 active units from step 100, "
                   "joint decoder pass included); latent 16, 32 and 64 learn")
def test_vae_began_default_learns_under_dcgan_init_at_latent_128(tmp_path: Path) -> None:
    """The config's default latent 128 with width 16 at the fair optimiser settings: measured 0 active units at every
    log step to 1,500 iterations, L_e 0.60 → 0.51. Latent 64 learns (600 iterations: test MSE 0.0134, 64 of 64
    active units), as does the standard budget's width 128 at latent 128 (docs/models-fidelity.md §IV.3)."""
    rec, log = fair_run(tmp_path, steps=200, init="dcgan")
    assert rec["mse"] < 0.03 and log[-1]["active_units"] >= 8
