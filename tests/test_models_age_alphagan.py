"""AGE and α-GAN (paper 004, Alg. 1, App. D/H): losses against explicit references of their
equations, the unit-sphere latent, which network each step moves, and the update ratios read off
Adam's per-parameter step counters."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cosine as scipy_cosine
from torch.distributions import Normal, kl_divergence

from bench import config as cfgmod
from bench.data.base import DataSpec
from bench.registries import models as model_registry
from models import age as agemod
from models import alpha_gan as ag
from models.age import AGE
from models.alpha_gan import AlphaGAN, AlphaGANEKL

SPEC = DataSpec("tiny", "image", (3, 16, 16))


def _build(cls: type, **kw: object):  # noqa: ANN202
    torch.manual_seed(0)
    m = cls(cls.Config(latent_dim=6, width=8, batch_size=8, **kw), SPEC)
    m.optimizers = m.configure_optimizers()
    return m


def _batches():  # noqa: ANN202
    g = torch.Generator().manual_seed(9)
    return lambda: torch.rand(8, *SPEC.shape, generator=g) * 2 - 1


def _steps(opt: torch.optim.Optimizer) -> int:
    p = opt.param_groups[0]["params"][0]
    return int(opt.state[p]["step"])


def _snap(m: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in m.parameters()]


def _moved(m: torch.nn.Module, snap: list[torch.Tensor]) -> bool:
    return any(not torch.equal(p, q) for p, q in zip(m.parameters(), snap, strict=True))


# ---- shared pieces ---------------------------------------------------------------------
def test_empirical_kl_is_eq_18_per_dimension() -> None:
    """Eq. 18 / n: mean over dims of KL(N(m_i, s_i²) ‖ N(0, 1)) with the batch's mean and biased std."""
    g = torch.Generator().manual_seed(1)
    z = torch.randn(50, 4, generator=g) * torch.tensor([0.5, 1.0, 2.0, 0.1]) + torch.tensor([0.0, 1.0, -0.5, 0.2])
    zn = z.numpy().astype(np.float64)
    m, s = zn.mean(0), zn.std(0)  # numpy's std is the biased one
    ref = kl_divergence(Normal(torch.tensor(m), torch.tensor(s)), Normal(0.0, 1.0)).mean()
    assert agemod.empirical_kl(z).item() == pytest.approx(ref.item(), rel=1e-5)
    by_hand = np.mean((s**2 + m**2) / 2 - np.log(s) - 0.5)
    assert agemod.empirical_kl(z).item() == pytest.approx(by_hand, rel=1e-5)


def test_cosine_distance_and_l1() -> None:
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    ref = np.mean([scipy_cosine(a[i].numpy(), b[i].numpy()) for i in range(5)])
    assert agemod.cosine_distance(a, b).item() == pytest.approx(ref, rel=1e-5)
    assert agemod.l1_mean(a, b).item() == pytest.approx(np.abs(a.numpy() - b.numpy()).mean(), rel=1e-6)


# ---- AGE -------------------------------------------------------------------------------
def test_age_losses() -> None:
    g = torch.Generator().manual_seed(3)
    e_real, e_fake = torch.randn(10, 4, generator=g), torch.randn(10, 4, generator=g) * 0.3
    x, xr = torch.randn(10, 5, generator=g), torch.randn(10, 5, generator=g)
    z = torch.randn(10, 4, generator=g)

    def kl(t: torch.Tensor) -> float:
        t = t.double()
        return kl_divergence(Normal(t.mean(0), t.std(0, unbiased=False)), Normal(0.0, 1.0)).mean().item()

    enc_ref = kl(e_real) - kl(e_fake) + 7.0 * (x - xr).abs().mean().item()
    assert agemod.encoder_loss(e_real, e_fake, x, xr, 7.0).item() == pytest.approx(enc_ref, rel=1e-5)
    cos = np.mean([scipy_cosine(z[i].numpy(), e_fake[i].numpy()) for i in range(10)])
    assert agemod.generator_loss(z, e_fake, 100.0).item() == pytest.approx(kl(e_fake) + 100.0 * cos, rel=1e-5)


def test_age_sphere_latent_and_two_generator_updates() -> None:
    m = _build(AGE)
    assert torch.allclose(m.prior(20).norm(dim=1), torch.ones(20), atol=1e-6)
    x = torch.rand(8, *SPEC.shape) * 2 - 1
    assert torch.allclose(m.encode(x).norm(dim=1), torch.ones(8), atol=1e-5)
    enc0, gen0 = _snap(m.enc), _snap(m.gen)
    calls: list[str] = []
    original = m.update

    def record(name: str, loss: torch.Tensor, *, retain_graph: bool = False) -> None:
        calls.append(name)
        original(name, loss, retain_graph=retain_graph)

    m.update = record  # type: ignore[method-assign]
    real = _batches()
    for step in range(2):
        logs = m.train_step(real, step)
    assert calls == ["enc", "gen", "gen"] * 2  # encoder first, then g_steps = 2 generator updates
    assert (_steps(m.optimizers["enc"]), _steps(m.optimizers["gen"])) == (2, 4)
    assert _moved(m.enc, enc0) and _moved(m.gen, gen0)
    assert all(torch.isfinite(v) for v in logs.values())


def test_age_defaults_are_the_authors_weights() -> None:
    """AGE's released code (DmitryUlyanov/AGE, ``src/utils.py`` ``match``; the README's CIFAR-10 and
    CelebA commands: ``match_x:10`` for the encoder, ``match_z:1000`` for the generator, 2 generator
    updates on CIFAR-10). Their terms are typed here from that code: ``(gex - x).abs().mean()`` and
    ``2 - (normalize(egz) * normalize(z)).mean()``, a mean over batch *and* latent elements. With
    α-GAN's latent size 100 (App. H, Figs. 11–12) the code weight 1000 is λ_z = 10 on the true cosine
    distance (α-GAN App. H.1's value); the data weight 10 is λ_x on the per-pixel mean L1."""
    cfg = AGE.Config()
    g = torch.Generator().manual_seed(11)
    x, x_rec = torch.randn(6, 3, 4, 4, generator=g), torch.randn(6, 3, 4, 4, generator=g)
    e = torch.randn(6, 100, generator=g)
    # the encoder's data term (the KL terms cancel when E(x) and E(G(z)) are the same batch)
    theirs_x = 10.0 * np.abs(x.numpy() - x_rec.numpy()).mean()
    assert agemod.encoder_loss(e, e, x, x_rec, cfg.lambda_x).item() == pytest.approx(theirs_x, rel=1e-5)
    # the generator's code term: the same gradient w.r.t. E(G(z)) as AGE's match_z = 1000
    z = agemod.to_sphere(torch.randn(6, 100, generator=g))
    e_ours = e.clone().requires_grad_(True)
    (cfg.lambda_z * agemod.cosine_distance(z, e_ours)).backward()
    e_theirs = e.clone().requires_grad_(True)
    zn, en = z / z.norm(dim=1, keepdim=True), e_theirs / e_theirs.norm(dim=1, keepdim=True)
    (1000.0 * (2 - (en * zn).mean())).backward()
    # our term is a batch mean of 1 − cos, theirs a mean over the 6 × 100 elements: 1000 / 100 = 10
    torch.testing.assert_close(e_ours.grad, e_theirs.grad, rtol=1e-5, atol=1e-7)
    assert cfg.g_steps == 2  # AGE's CIFAR-10 plan '2;KL_fake:1,match_z:1000' and α-GAN §6


def test_age_encoder_step_does_not_move_generator() -> None:
    """The encoder's reconstruction term passes through G; only the encoder optimiser steps on it."""
    m = _build(AGE)
    x = torch.rand(8, *SPEC.shape) * 2 - 1
    gen0, enc0 = _snap(m.gen), _snap(m.enc)
    e_real = m.encode(x)
    with torch.no_grad():
        fake = m.generate(m.prior(8))
    m.update("enc", agemod.encoder_loss(e_real, m.encode(fake), x, m.generate(e_real), 10.0))
    assert _moved(m.enc, enc0) and not _moved(m.gen, gen0)


# ---- α-GAN -----------------------------------------------------------------------------
def test_synthetic_ratio_is_reverse_kl_form() -> None:
    """Alg. 1 lines 3–4: R(x) = −log D(x) + log(1 − D(x)), D = sigmoid(logit)."""
    logits = torch.tensor([-2.0, 0.0, 0.7, 3.0])
    d = torch.sigmoid(logits)
    ref = (-torch.log(d) + torch.log(1 - d)).mean()
    assert ag.synthetic_ratio(logits).item() == pytest.approx(ref.item(), rel=1e-5)
    assert ag.synthetic_ratio(logits).item() == pytest.approx(-0.425, rel=1e-6)  # = −mean logit


def test_alpha_gan_losses_eqs_11_13_15_17() -> None:
    g = torch.Generator().manual_seed(4)
    x, xh = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    dr, dh, ds = (torch.randn(4, 1, generator=g) for _ in range(3))
    cc, cp = torch.randn(4, 1, generator=g), torch.randn(4, 1, generator=g)
    l1 = np.abs(x.numpy() - xh.numpy()).mean()

    def r(t: torch.Tensor) -> float:
        p = torch.sigmoid(t.double())
        return (-torch.log(p) + torch.log(1 - p)).mean().item()

    def log_d(t: torch.Tensor) -> float:
        return torch.log(torch.sigmoid(t.double())).mean().item()

    def log_1md(t: torch.Tensor) -> float:
        return torch.log(1 - torch.sigmoid(t.double())).mean().item()

    assert ag.encoder_loss(x, xh, ag.synthetic_ratio(cc), 5.0).item() == pytest.approx(5 * l1 + r(cc), rel=1e-5)
    assert ag.generator_loss(x, xh, dh, ds, 5.0).item() == pytest.approx(5 * l1 + r(dh) + r(ds), rel=1e-5)
    assert ag.discriminator_loss(dr, dh, ds).item() == pytest.approx(-log_d(dr) - log_1md(dh) - log_1md(ds), rel=1e-5)
    assert ag.code_discriminator_loss(cc, cp).item() == pytest.approx(-log_1md(cc) - log_d(cp), rel=1e-5)


def test_alpha_gan_two_to_one_updates_and_code_discriminator_size() -> None:
    m = _build(AlphaGAN)
    real = _batches()
    logs = m.train_step(real, 0)
    counts = {k: _steps(o) for k, o in m.optimizers.items()}
    assert counts == {"enc": 2, "gen": 2, "disc": 1, "code": 1}
    assert all(torch.isfinite(v) for v in logs.values())
    linears = [mod for mod in m.code_disc.modules() if isinstance(mod, torch.nn.Linear)]
    assert [lin.out_features for lin in linears] == [750, 750, 750, 1]  # App. H.4: 3 × 750 MLP, one logit


def _optimiser_settings(m: torch.nn.Module) -> dict[str, tuple[float, tuple[float, float]]]:
    return {k: (o.param_groups[0]["lr"], tuple(o.param_groups[0]["betas"])) for k, o in m.optimizers.items()}


def test_alpha_gan_fair_optimisers_read_lr_and_betas() -> None:
    """Under ``fair`` the four optimisers follow ``--set lr=`` (issue: it used to be ignored) with
    App. H's Adam(0.5, 0.9); a network's own ``lr_*`` replaces ``lr`` for that network only."""
    m = _build(AlphaGAN, lr=3.7e-4)
    assert _optimiser_settings(m) == {k: (3.7e-4, (0.5, 0.9)) for k in ("enc", "gen", "disc", "code")}
    m = _build(AlphaGAN, lr=1e-4, lr_disc=5e-4, beta1=0.3, beta2=0.8)
    assert _optimiser_settings(m) == {"enc": (1e-4, (0.3, 0.8)), "gen": (1e-4, (0.3, 0.8)),
                                      "disc": (5e-4, (0.3, 0.8)), "code": (1e-4, (0.3, 0.8))}
    fair = cfgmod.override(AlphaGAN.Config(), {})
    assert (fair.lr, fair.beta1, fair.beta2) == (2e-4, 0.5, 0.9)  # every fair model's 2e-4; App. H's betas


@pytest.mark.parametrize(("dataset", "iterations"), [("colormnist", 100_000), ("celeba", 200_000), ("cifar10", 200_000)])
@pytest.mark.parametrize("name", ["alpha-gan", "alpha-gan-ekl", "age", "wgan-gp"])
def test_paper_preset_is_alpha_gan_appendix_h(name: str, dataset: str, iterations: int) -> None:
    """App. H, typed from the paper: "Adam with β1 = 0.5 and β2 = 0.9 and a batch size of 64 for all our
    experiments … ColorMNIST models for 100000 iterations, and CelebA and CIFAR-10 models for 200000";
    Table 2: α-GAN's discriminator and code discriminator 5e-4, generator/encoder {1e-4, 5e-4};
    AGE {1e-4, 2e-4, 5e-4}; WGAN-GP {1e-4, 2e-4, 3e-4}."""
    cls = model_registry().get(name)
    spec = DataSpec(dataset, "image", (3, 32, 32))
    cfg = cfgmod.override(cls.Config(), {"protocol": "paper", **cls.paper_preset(spec)})
    torch.manual_seed(0)
    m = cls(cfgmod.override(cfg, {"width": 8, "latent_dim": 6}), spec)
    m.optimizers = m.configure_optimizers()
    settings = _optimiser_settings(m)
    assert (cfg.steps, cfg.batch_size) == (iterations, 64)
    assert {betas for _, betas in settings.values()} == {(0.5, 0.9)}
    if name.startswith("alpha-gan"):
        assert {lr for lr, _ in settings.values()} == {5e-4}
    elif name == "age":
        assert {lr for lr, _ in settings.values()} <= {1e-4, 2e-4, 5e-4}
    else:
        assert {lr for lr, _ in settings.values()} <= {1e-4, 2e-4, 3e-4}


def test_alpha_gan_every_update_reads_a_fresh_real_batch() -> None:
    """Alg. 1: each of the 2 × (E, G) updates, the D update and the C update takes its own batch from
    ``real()`` (6 per iteration with a code discriminator, 5 with the empirical KL)."""
    for cls, expected in ((AlphaGAN, ["enc", "gen", "enc", "gen", "disc", "code"]),
                          (AlphaGANEKL, ["enc", "gen", "enc", "gen", "disc"])):
        m = _build(cls)
        drawn: list[torch.Tensor] = []
        source = _batches()

        def real(source=source, drawn=drawn) -> torch.Tensor:  # noqa: ANN001
            drawn.append(source())
            return drawn[-1]

        seen: list[tuple[str, torch.Tensor]] = []
        for name, attr in (("enc", "step_encoder"), ("gen", "step_generator"), ("disc", "step_discriminator"),
                           ("code", "step_code_discriminator")):
            original = getattr(m, attr)

            def wrapped(x: torch.Tensor, name=name, original=original, seen=seen):  # noqa: ANN001, ANN202
                seen.append((name, x))
                return original(x)

            setattr(m, attr, wrapped)
        m.train_step(real, 0)
        assert [name for name, _ in seen] == expected
        assert len(drawn) == len(expected)
        assert all(x is d for (_, x), d in zip(seen, drawn, strict=True))
        assert all(not torch.equal(drawn[i], drawn[j]) for i in range(len(drawn)) for j in range(i))


def test_alpha_gan_encoder_and_generator_lambdas_are_separate() -> None:
    """App. H.1 sweeps the encoder's λ (eq. 11) and the generator's λ (eq. 13) separately: with
    λ_enc = 0 the encoder step's loss is R_C(ẑ) alone, with λ_gen = 0 the generator's has no L1."""
    m = _build(AlphaGAN, lam_enc=0.0, lam_gen=4.0).eval()
    x = torch.rand(8, *SPEC.shape) * 2 - 1
    with torch.no_grad():
        zh = m.enc(x)
        ref_enc = -m.code_disc(zh).mean()
    assert m.step_encoder(x).item() == pytest.approx(ref_enc.item(), rel=1e-5)
    m = _build(AlphaGAN, lam_enc=4.0, lam_gen=0.0).eval()
    torch.manual_seed(5)
    with torch.no_grad():
        zh = m.enc(x)
        xh = m.gen(zh).view_as(x)
        z = m.prior(8)
        ref_gen = -m.disc(xh).mean() - m.disc(m.gen(z).view_as(x)).mean()
    torch.manual_seed(5)
    assert m.step_generator(x).item() == pytest.approx(ref_gen.item(), rel=1e-5)


def test_alpha_gan_each_step_moves_only_its_network() -> None:
    m = _build(AlphaGAN)
    x = torch.rand(8, *SPEC.shape) * 2 - 1
    nets = {"enc": m.enc, "gen": m.gen, "disc": m.disc, "code": m.code_disc}
    for step_fn, moved in ((m.step_encoder, {"enc"}), (m.step_generator, {"gen"}),
                           (m.step_discriminator, {"disc"}), (m.step_code_discriminator, {"code"})):
        snaps = {k: _snap(v) for k, v in nets.items()}
        step_fn(x)
        assert {k for k, v in nets.items() if _moved(v, snaps[k])} == moved


def test_alpha_gan_encoder_loss_in_model_matches_eq_11() -> None:
    """The encoder step's loss is λ · mean|x − G(E(x))| + R_C(E(x)) (eval mode: fixed BN statistics)."""
    m = _build(AlphaGAN, lam_enc=3.0, lam_gen=50.0).eval()
    x = torch.rand(8, *SPEC.shape) * 2 - 1
    with torch.no_grad():
        zh = m.enc(x)
        ref = 3.0 * (x - m.gen(zh).view_as(x)).abs().mean() - m.code_disc(zh).mean()
    assert m.step_encoder(x).item() == pytest.approx(ref.item(), rel=1e-5)


def test_alpha_gan_ekl_replaces_code_discriminator() -> None:
    assert model_registry().get("alpha-gan-ekl") is AlphaGANEKL and model_registry().get("alpha-gan") is AlphaGAN
    m = _build(AlphaGANEKL, lam_enc=2.0).eval()
    assert m.code_disc is None and set(m.optimizers) == {"enc", "gen", "disc"}
    x = torch.rand(8, *SPEC.shape) * 2 - 1
    with torch.no_grad():
        zh = m.enc(x).double()
        kl = kl_divergence(Normal(zh.mean(0), zh.std(0, unbiased=False)), Normal(0.0, 1.0)).mean()
        ref = 2.0 * (x - m.gen(zh.float()).view_as(x)).abs().mean().item() + kl.item()
    assert m.step_encoder(x).item() == pytest.approx(ref, rel=1e-4)
    fresh = _build(AlphaGANEKL)
    logs = fresh.train_step(_batches(), 0)
    assert {k: _steps(o) for k, o in fresh.optimizers.items()} == {"enc": 2, "gen": 2, "disc": 1}
    assert not math.isnan(logs["kl_emp"].item())
