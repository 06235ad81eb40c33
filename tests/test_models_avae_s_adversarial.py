"""AVAE-S Alg. 1's adversarial VAE term (issue 19, point 7): both forms against numpy, their gradient ratio,
the default (the paper's literal log(1 − Dis(x̃))), and an SGD replay showing the VAE step uses the form
the config names."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from bench.data.base import DataSpec
from models.avae_s import AVAEFineTuned, adversarial_term, dis_loss

POINTS = DataSpec("pts", "points", (2,))


def _sig(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def test_both_forms_against_numpy_and_their_gradient_ratio() -> None:
    logits = np.array([2.0, -0.5, -2.0, 0.3])
    t = torch.tensor(logits, requires_grad=True)
    sat = adversarial_term(t, "saturating")
    ns = adversarial_term(t, "non_saturating")
    assert float(sat.detach()) == pytest.approx(np.mean(np.log(1 - _sig(logits))), rel=1e-6)  # log(1 − Dis(x̃))
    assert float(ns.detach()) == pytest.approx(-np.mean(np.log(_sig(logits))), rel=1e-6)  # −log Dis(x̃)
    g_sat = torch.autograd.grad(sat, t)[0].numpy()
    g_ns = torch.autograd.grad(ns, t)[0].numpy()
    # d/dℓ log(1 − σ(ℓ)) = −σ(ℓ); d/dℓ (−log σ(ℓ)) = −σ(−ℓ) (batch mean: / 4). At ℓ = −2 the ratio is 7.39.
    np.testing.assert_allclose(g_sat, -_sig(logits) / 4, rtol=1e-6)
    np.testing.assert_allclose(g_ns, -_sig(-logits) / 4, rtol=1e-6)
    assert g_ns[2] / g_sat[2] == pytest.approx(np.exp(2.0), rel=1e-6)
    # Both fall as Dis calls x̃ more real: minimising either fools Dis.
    for form in ("saturating", "non_saturating"):
        assert float(adversarial_term(t.detach() + 1, form)) < float(adversarial_term(t.detach(), form))


def test_default_is_the_papers_literal_form() -> None:
    assert AVAEFineTuned.Config().adv_form == "saturating"


@pytest.mark.parametrize("form", ["saturating", "non_saturating"])
def test_fine_tuning_step_replayed_with_sgd(form: str) -> None:
    """Alg. 1 adversarial loop with both gates open: Dis steps on L_Dis, then the VAE steps by −lr ×
    ∇(L_VAE + adversarial term of ``form``) on the *updated* Dis, replayed on a copy."""
    torch.manual_seed(0)
    cfg = AVAEFineTuned.Config(latent_dim=2, mlp_hidden=16, batch_size=32, pretrain_steps=0, d_acc_max=1.01,
                               vae_acc_min=-0.01, adv_form=form)
    m = AVAEFineTuned(cfg, POINTS)
    lr = 0.05
    vae_params = list(m.enc.parameters()) + list(m.dec.parameters())
    m.optimizers = {"vae": torch.optim.SGD(vae_params, lr=lr), "disc": torch.optim.SGD(m.disc.parameters(), lr=lr)}
    ref = copy.deepcopy(m)
    x = torch.randn(32, 2, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(5)
    m.train_step(lambda: x, 0)
    torch.manual_seed(5)
    out = ref.vae_objective(x, lambda: x)
    d_loss = dis_loss(ref.disc(x), ref.disc(out["x_rec"].detach()))
    for p, g in zip(ref.disc.parameters(), torch.autograd.grad(d_loss, list(ref.disc.parameters())), strict=True):
        p.data -= lr * g
    ref_vae = list(ref.enc.parameters()) + list(ref.dec.parameters())
    d_fake = ref.disc(out["x_rec"])
    grads = torch.autograd.grad(out["loss"] + adversarial_term(d_fake, form), ref_vae, retain_graph=True)
    other = "non_saturating" if form == "saturating" else "saturating"
    grads_other = torch.autograd.grad(out["loss"] + adversarial_term(d_fake, other), ref_vae)
    for p_new, p_old, g in zip(vae_params, ref_vae, grads, strict=True):
        torch.testing.assert_close(p_new, p_old - lr * g, rtol=1e-4, atol=1e-6)
    # Not vacuous: the two forms move the VAE differently.
    assert max((a - b).abs().max().item() for a, b in zip(grads, grads_other, strict=True)) > 1e-4
