"""The effective KL weight of every model of this task whose encoder loss mixes a KL with a reconstruction
term, measured from gradients and compared with the value the README's model table states.

On a fixed batch, with a leaf μ and σ ≈ 0 (so z = μ), the encoder loss's gradient w.r.t. μ is decomposed
on two reference gradients written from the textbook likelihoods (torch.distributions): the KL
KL(N(μ, σ²) ‖ N(0, I)) summed over latent dims and the reconstruction negative log-likelihood summed over
the data's dimensions (both batch means). The least-squares coefficients (a, b) of
∇_μ L_enc = a ∇_μ NLL + b ∇_μ KL give the effective weight β_eff = b / a: the β of an equivalent
"NLL + β KL" loss, whatever scale conventions (means, per-pixel normalisations) the code uses.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import Tensor
from torch.distributions import Laplace, Normal, kl_divergence

from bench.data.base import DataSpec
from models.began import VAEBEGAN
from models.vae import VAE
from models.vae_gan import VAEGAN

SPEC = DataSpec("tiny32", "image", (1, 32, 32))
PIXELS = 32 * 32


def _fixed_posterior(model: torch.nn.Module, n: int, d: int) -> Tensor:
    """Make ``model.posterior`` return a leaf μ (returned) and log σ² = −40 for every input."""
    mu = torch.randn(n, d, generator=torch.Generator().manual_seed(7)).requires_grad_(True)
    model.posterior = lambda x: (mu, torch.full_like(mu, -40.0))  # type: ignore[method-assign]
    return mu


def _kl_ref(mu: Tensor) -> Tensor:
    sigma = torch.full_like(mu, (-20.0)).exp()
    return kl_divergence(Normal(mu, sigma), Normal(0.0, 1.0)).sum(1).mean()


def _effective_beta(enc_loss: Tensor, nll_ref: Tensor, kl_ref: Tensor, mu: Tensor) -> float:
    g_total, g_nll, g_kl = (torch.autograd.grad(t, mu, retain_graph=True)[0].flatten().double()
                            for t in (enc_loss, nll_ref, kl_ref))
    basis = torch.stack([g_nll, g_kl], 1)
    coef = torch.linalg.lstsq(basis, g_total.unsqueeze(1)).solution.squeeze(1)
    residual = (basis @ coef - g_total).norm() / g_total.norm()
    assert residual < 1e-4  # the encoder loss's gradient is exactly a mix of the two terms
    a, b = coef.tolist()
    assert a > 0 and b > 0
    return b / a


def _batch() -> Tensor:
    return torch.rand(8, *SPEC.shape, generator=torch.Generator().manual_seed(2)) * 2 - 1


def _vae(beta: float) -> float:
    torch.manual_seed(0)
    model = VAE(VAE.Config(width=4, latent_dim=6, beta=beta), SPEC)
    x = _batch()
    mu = _fixed_posterior(model, len(x), 6)
    out = model.losses(x)
    nll = -Normal(model.decode(mu), 1.0).log_prob(x).flatten(1).sum(1).mean()
    return _effective_beta(out["loss"], nll, _kl_ref(mu), mu)


def _vae_gan(beta: float) -> float:
    torch.manual_seed(0)
    model = VAEGAN(VAEGAN.Config(width=4, latent_dim=6, beta=beta), SPEC)
    x = _batch()
    mu = _fixed_posterior(model, len(x), 6)
    eps = torch.zeros(len(x), 6)
    out = model.losses(x, eps=eps)
    f_rec, f_real = model.dis.layer_l(torch.cat([model.decode(mu), x])).chunk(2)
    nll = -Normal(f_rec, 1.0).log_prob(f_real).sum(1).mean()  # Larsen: N(Dis_l(x); Dis_l(x̃), I)
    return _effective_beta(out["enc_loss"], nll, _kl_ref(mu), mu)


def _vae_began(kl_reduction: str, gamma: float = 0.1, kl_weight: float = 1.0) -> float:
    torch.manual_seed(0)
    # beta (Khan's weight of L_s, the latent-similarity term) = 0: the encoder loss is then L_n + γ L_e only
    model = VAEBEGAN(VAEBEGAN.Config(width=4, latent_dim=6, beta=0.0, gamma=gamma, kl_reduction=kl_reduction,
                                     kl_weight=kl_weight), SPEC)
    x = _batch()
    mu = _fixed_posterior(model, len(x), 6)
    z_g = torch.randn(len(x), 6, generator=torch.Generator().manual_seed(11))
    model.prior = lambda n: z_g  # type: ignore[method-assign]
    t = model.losses(x)
    l_enc = model.cfg.kl_weight * t["L_n"] + model.cfg.beta * t["L_s"] + model.cfg.gamma * t["L_e"]  # Khan eq. 15
    # the decoder runs once on [z_v; z_g] (dec_pass="joint", shared BatchNorm statistics): decode μ the same way
    x_v = model.decode(torch.cat([mu, z_g]))[: len(x)]
    nll = -Laplace(x_v, 1.0).log_prob(x).flatten(1).sum(1).mean()  # summed L1 = Laplace NLL
    return _effective_beta(l_enc, nll, _kl_ref(mu), mu)


# (case, measured effective β, the value stated in the README's model table)
CASES: list[tuple[str, Callable[[], float], float]] = [
    ("vae beta=1", lambda: _vae(1.0), 1.0),  # README: "β-weighted KL … effective β = β"
    ("vae beta=10", lambda: _vae(10.0), 10.0),
    ("vae-gan beta=1", lambda: _vae_gan(1.0), 1.0),  # README: effective β = β against the summed feature NLL
    ("vae-gan beta=5", lambda: _vae_gan(5.0), 5.0),
    ("vae-began elbo", lambda: _vae_began("elbo"), 1.0),  # the Laplace ELBO's weight, any γ
    ("vae-began elbo gamma=0.5", lambda: _vae_began("elbo", 0.5), 1.0),
    ("vae-began elbo kl_weight=10", lambda: _vae_began("elbo", 0.1, 10.0), 10.0),  # issue #26 sensitivity
    ("vae-began elbo kl_weight=100", lambda: _vae_began("elbo", 0.1, 100.0), 100.0),
    ("vae-began pixel", lambda: _vae_began("pixel"), 1 / 0.1),  # README: default 1/γ = 10
    ("vae-began pixel gamma=0.5", lambda: _vae_began("pixel", 0.5), 1 / 0.5),
    ("vae-began sum", lambda: _vae_began("sum"), PIXELS / 0.1),  # README: literal reading |x|/γ ≈ 10⁴
    ("vae-began mean", lambda: _vae_began("mean"), PIXELS / (0.1 * 6)),  # |x|/(γ dim z)
]


@pytest.mark.parametrize(("case", "measure", "stated"), CASES, ids=[c[0] for c in CASES])
def test_effective_kl_weight_matches_readme(case: str, measure: Callable[[], float], stated: float) -> None:
    assert measure() == pytest.approx(stated, rel=1e-3)


def test_vae_began_default_is_the_per_pixel_kl() -> None:
    """The fair default must not be the literal (collapsing) reading; the ``paper`` preset is the literal print
    (issue #26)."""
    assert VAEBEGAN.Config().kl_reduction == "pixel"
    assert VAEBEGAN.paper_preset(SPEC)["kl_reduction"] == "sum"
