"""AVAE (paper 000, §IV-B): each loss against an explicit reference of its equation, the update
pattern of Fig. 4 (the generator step never moves E), σ_E independent of x, the three variants."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from bench.data.base import DataSpec
from bench.data.toys import grid25
from bench.registry import models as model_registry
from models.avae import AVAE, AVAEA, AVAEXiA, critic_loss, latent_loss_a, latent_loss_b, manifold_loss

POINTS = grid25().spec
IMAGES = DataSpec("tiny", "image", (3, 16, 16))


def _model(cls: type[AVAE] = AVAE, spec: DataSpec = POINTS, **kw: object) -> AVAE:
    torch.manual_seed(0)
    cfg = cls.Config(latent_dim=4, width=8, mlp_hidden=16, batch_size=16, **kw)  # type: ignore[arg-type]
    m = cls(cfg, spec)
    m.optimizers = m.configure_optimizers()
    return m


def _snapshot(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _same(module: torch.nn.Module, snap: list[torch.Tensor]) -> bool:
    return all(torch.equal(p, q) for p, q in zip(module.parameters(), snap, strict=True))


def test_latent_loss_a_is_gaussian_nll_of_eq_11() -> None:
    """Eq. 12 = −log N(z; μ_E(x), σ_E²) without its constants (eq. 11)."""
    g = torch.Generator().manual_seed(1)
    mu, z = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    sigma = torch.tensor([0.3, 0.7, 0.95])
    nll = -Normal(mu, sigma).log_prob(z).sum(1)
    const = sigma.log().sum() + 1.5 * math.log(2 * math.pi)
    assert latent_loss_a(mu, z, sigma).item() == pytest.approx((nll - const).mean().item(), rel=1e-5)


def test_latent_loss_b_by_hand() -> None:
    """Eq. 16 on a hand-computed case: μ = 0.5, z = 1, σ = 0.6 → √(1 − 0.36) = 0.8,
    ½ ((0.5 − 0.8) / 0.6)² = 0.125; and it is the NLL of √(1 − σ²) z under N(μ, σ²)."""
    mu, z, s = torch.tensor([[0.5]]), torch.tensor([[1.0]]), torch.tensor([0.6])
    assert latent_loss_b(mu, z, s).item() == pytest.approx(0.125, rel=1e-6)
    g = torch.Generator().manual_seed(2)
    mu, z = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    sigma = torch.tensor([0.2, 0.5, 0.8, 0.99])
    target = (1 - sigma**2).sqrt() * z
    nll = -Normal(mu, sigma).log_prob(target).sum(1) - sigma.log().sum() - 2 * math.log(2 * math.pi)
    assert latent_loss_b(mu, z, sigma).item() == pytest.approx(nll.mean().item(), rel=1e-5)
    # L_Z^b's optimum is μ_E(x̂) = √(1 − σ²) z, not z (the difference from L_Z^a).
    assert latent_loss_b(target, z, sigma).item() == pytest.approx(0.0, abs=1e-7)
    assert latent_loss_a(target, z, sigma).item() > 0.1


def test_critic_loss_treats_c_as_probability_of_fake() -> None:
    """Eq. 13: L_C = −mean log(1 − C(x_real)) − mean log C(x_fake), C = sigmoid(logit)."""
    c_real, c_fake = torch.tensor([-2.0, 0.5, 1.0]), torch.tensor([0.3, -1.0, 2.5, 0.0])
    ref = -torch.log(1 - torch.sigmoid(c_real)).mean() - torch.log(torch.sigmoid(c_fake)).mean()
    assert critic_loss(c_real, c_fake).item() == pytest.approx(ref.item(), rel=1e-6)
    # A critic saying "fake" (high logit) on fakes and "real" on real data has the lower loss.
    assert critic_loss(torch.full((4,), -3.0), torch.full((4,), 3.0)) < critic_loss(torch.full((4,), 3.0), torch.full((4,), -3.0))


def test_manifold_loss_is_logit_of_c() -> None:
    """Eq. 15: L_M = logit C(x_fake) = log(p / (1 − p)), batch mean."""
    p = torch.tensor([0.1, 0.5, 0.8])
    logits = torch.log(p / (1 - p))
    assert manifold_loss(logits).item() == pytest.approx(sum(math.log(q / (1 - q)) for q in (0.1, 0.5, 0.8)) / 3, rel=1e-6)


def test_vae_term_is_eq_9_with_beta() -> None:
    """L_VAE = ½‖D(z) − x‖² + β KL(N(μ, σ²) ‖ N(0, I)) with the learned σ; KL from torch.distributions."""
    m = _model(beta=3.0)
    x = torch.randn(16, 2)
    torch.manual_seed(5)
    out = m.losses(x)
    torch.manual_seed(5)
    mu = m.enc(x)
    sigma = m.sigma()
    z = mu + sigma * torch.randn_like(mu)
    rec = 0.5 * (m.decode(z) - x).pow(2).sum(1).mean()
    kl = kl_divergence(Normal(mu, sigma.expand_as(mu)), Normal(0.0, 1.0)).sum(1).mean()
    assert out["rec"].item() == pytest.approx(rec.item(), rel=1e-5)
    assert out["kl"].item() == pytest.approx(kl.item(), rel=1e-5)
    assert out["vae"].item() == pytest.approx((rec + 3.0 * kl).item(), rel=1e-5)
    assert out["gen"].item() == pytest.approx((out["l_z"] + out["l_m"]).item(), rel=1e-6)


def test_sigma_is_a_parameter_independent_of_x() -> None:
    m = _model(spec=IMAGES)
    assert m.enc.head.out_features == 4  # μ only: σ_E is not an encoder output (Fig. 5)
    assert isinstance(m.log_sigma, torch.nn.Parameter) and m.log_sigma.shape == (4,)
    assert any(p is m.log_sigma for p in m.optimizers["vae"].param_groups[0]["params"])


@pytest.mark.parametrize("spec", [POINTS, IMAGES], ids=["points", "images"])
def test_generator_step_moves_only_g(spec: DataSpec) -> None:
    """The generator loss flows through E (non-zero gradient) but updates θ_g only."""
    m = _model(spec=spec)
    x = torch.randn(16, *spec.shape).clamp(-1, 1)
    out = m.losses(x)
    through_e = torch.autograd.grad(out["gen"], list(m.enc.parameters()), retain_graph=True, allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in through_e)
    snaps = {k: _snapshot(getattr(m, k)) for k in ("enc", "dec", "gen", "critic")}
    sigma = m.log_sigma.detach().clone()
    m.update("gen", out["gen"], retain_graph=True)
    assert not _same(m.gen, snaps["gen"])
    for k in ("enc", "dec", "critic"):
        assert _same(getattr(m, k), snaps[k]), k
    assert torch.equal(m.log_sigma, sigma)


def test_encoder_statistics_come_from_real_data_only() -> None:
    """E(x_fake) inside L_Z does not move E's BatchNorm running statistics: after the forward pass of
    Fig. 4 they equal those of a copy of E that saw only the real batch."""
    m = _model(spec=IMAGES)
    reference = copy.deepcopy(m.enc)
    x = torch.rand(16, *IMAGES.shape) * 2 - 1
    m.losses(x)
    reference(x)
    for (name, a), (_, b) in zip(m.enc.named_buffers(), reference.named_buffers(), strict=True):
        if "running" in name:
            assert torch.allclose(a, b), name
    bn = next(mod for mod in m.enc.modules() if isinstance(mod, torch.nn.BatchNorm2d))
    assert bn.momentum == 0.1 and not torch.allclose(bn.running_mean, torch.zeros_like(bn.running_mean))


def test_train_step_updates_in_fig4_pattern() -> None:
    """One iteration: gen (L_G), vae (E, σ, D on L_VAE), critic (L_C); every network moves once."""
    m = _model()
    calls: list[str] = []
    original = m.update

    def record(name: str, loss: torch.Tensor, *, retain_graph: bool = False) -> None:
        calls.append(name)
        original(name, loss, retain_graph=retain_graph)

    m.update = record  # type: ignore[method-assign]
    snaps = {k: _snapshot(getattr(m, k)) for k in ("enc", "dec", "gen", "critic")}
    logs = m.train_step(lambda: torch.randn(16, 2), 0)
    assert calls == ["gen", "vae", "critic"]
    assert all(not _same(getattr(m, k), snaps[k]) for k in snaps)
    assert all(torch.isfinite(v) for v in logs.values())


def test_variants_and_xi() -> None:
    reg = model_registry()
    assert reg.get("avae") is AVAE and reg.get("avae-a") is AVAEA and reg.get("avae-xi-a") is AVAEXiA
    assert (AVAE.Config().xi, AVAE.Config().latent_loss) == (False, "b")
    assert (AVAEA.Config().xi, AVAEA.Config().latent_loss) == (False, "a")
    assert (AVAEXiA.Config().xi, AVAEXiA.Config().latent_loss) == (True, "a")
    assert AVAE.dataset_defaults(DataSpec("cifar10", "image", (3, 32, 32))) == {"beta": 10.0}
    xi = _model(AVAEXiA).eval()
    plain = _model(AVAE).eval()
    assert xi.gen.trunk[0].in_features == 8 and plain.gen.trunk[0].in_features == 4  # G(z, ξ), dim ξ = dim z
    x = torch.randn(10, 2)
    with torch.no_grad():
        assert not torch.allclose(xi.reconstruct(x), xi.reconstruct(x))  # ξ ~ N(0, I) per call
        assert torch.equal(plain.reconstruct(x), plain.reconstruct(x))
        assert torch.allclose(plain.extra_recon_paths()["dec"](x), plain.decode(plain.enc(x)))
