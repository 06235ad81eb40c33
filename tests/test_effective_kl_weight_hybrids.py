"""Effective KL weight of IDVAE, IDVAE(R) and VAE-S (issue 19; the VAE family's is in
test_effective_kl_weight_vae_family.py). The first update of the model's own ``train_step`` is
intercepted: the gradient of its loss w.r.t. the posterior mean μ is decomposed on two independent
references, ∇_μ KL(N(μ, σ²) ‖ N(0, I)) summed over latent dims and ∇_μ of −log N(x; x̃, I) summed over
pixels (both ``torch.distributions``, x̃ the decoder output of that step). The ratio of the two
coefficients is the effective β, compared with the value the README's model table states."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from bench import config as cfgmod
from bench.data.base import DataSpec
from bench.registries import models as model_registry

SMALL = {"width": 8, "latent_dim": 6, "mlp_hidden": 16, "batch_size": 8}
DIGITS = DataSpec("digits", "image", (1, 32, 32))


def effective_kl_weight(name: str, update: str, **values: object) -> tuple[float, float]:
    """(effective β, relative residual) of ``name``'s first ``update`` in ``train_step``."""
    cls = model_registry().get(name)
    cfg = cfgmod.override(cls.Config(), {**SMALL, **values})
    torch.manual_seed(0)
    model = cls(cfg, DIGITS)
    model.optimizers = model.configure_optimizers()
    seen: dict[str, torch.Tensor] = {}
    posterior, decode, original_update = model.posterior, model.decode, model.update

    def stash_posterior(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        seen["mu"], seen["logvar"] = posterior(x)
        seen["x"] = x
        return seen["mu"], seen["logvar"]

    def stash_decode(z: torch.Tensor) -> torch.Tensor:
        seen["x_rec"] = decode(z)
        return seen["x_rec"]

    found: list[tuple[float, float]] = []

    def measure(which: str, loss: torch.Tensor, *, retain_graph: bool = False) -> None:
        if which == update and not found:
            mu, logvar, x, x_rec = seen["mu"], seen["logvar"], seen["x"], seen["x_rec"]
            kl = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(1).mean()
            nll = -Normal(x_rec, 1.0).log_prob(x).flatten(1).sum(1).mean()
            g, g_kl, g_nll = (torch.autograd.grad(t, mu, retain_graph=True)[0].flatten().double()
                              for t in (loss, kl, nll))
            basis = torch.stack([g_kl, g_nll], 1)
            coef = torch.linalg.lstsq(basis, g[:, None]).solution[:, 0]
            found.append((float(coef[0] / coef[1]), float((basis @ coef - g).norm() / g.norm())))
        original_update(which, loss, retain_graph=retain_graph)

    model.posterior, model.decode, model.update = stash_posterior, stash_decode, measure  # type: ignore[method-assign]
    g = torch.Generator().manual_seed(3)
    model.train_step(lambda: torch.rand(8, *DIGITS.shape, generator=g) * 2 - 1, 0)
    assert found, f"{name}: no {update!r} update"
    return found[0]


@pytest.mark.parametrize(("name", "update", "values", "stated"), [
    # README: idvae L_enc = α·½‖x̃ − x‖² + β·KL, α = β = 1 → β/α = 1; idvae-r has the same L_enc
    ("idvae", "enc", {}, 1.0),
    ("idvae", "enc", {"alpha": 2.0, "beta": 0.5}, 0.25),
    ("idvae-r", "enc", {}, 1.0),
    # README: vae-s KL weight 1 against the MSE term ½Σ(x − x̃)² (λ_MSE = 1); other λ and TC set to 0 here
    ("vae-s", "vae", {"rec_weights": (0, 1, 0, 0, 0), "tc_weight": 0.0}, 1.0),
    ("vae-s", "vae", {"rec_weights": (0, 2, 0, 0, 0), "tc_weight": 0.0, "kl_weight": 3.0}, 1.5),
])
def test_effective_kl_weight_is_the_stated_one(name: str, update: str, values: dict, stated: float) -> None:
    beta, residual = effective_kl_weight(name, update, **values)
    assert residual < 1e-4, (name, residual)  # the loss's μ-gradient is exactly KL + NLL, nothing else
    assert beta == pytest.approx(stated, rel=1e-4)
