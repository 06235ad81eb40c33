"""AVAE (paper 000, §IV-B): each loss against an explicit reference of its equation, the update
pattern of Fig. 4 (the generator step never moves E), σ_E independent of x, the three variants."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch
from torch.distributions import Normal, kl_divergence
from training_runs import read_log

from bench.data import load
from bench.data.base import DataSpec
from bench.data.toys import grid25
from bench.registries import models as model_registry
from bench.trainer import Trainer
from models.avae import (
    AVAE,
    AVAEA,
    AVAEXiA,
    batch_stats_recorded,
    critic_loss,
    frozen_running_stats,
    latent_loss_a,
    latent_loss_b,
    manifold_loss,
)

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


def test_one_manifold_loss_step_lowers_the_critics_p_fake() -> None:
    """Eq. 15's sign: L_M must push samples towards "real". One SGD step of G on L_M alone, critic fixed,
    lowers the critic's P(fake) = σ(logit C) on G(z) for the same z (a generator that maximised P(fake),
    or a critic convention read backwards, would raise it)."""
    def p_fake_after_step(sign: float) -> tuple[float, float]:
        m = _model()
        m.optimizers = {"gen": torch.optim.SGD(m.gen.parameters(), lr=0.5)}
        z = torch.randn(256, 4, generator=torch.Generator().manual_seed(3))
        with torch.no_grad():
            before = torch.sigmoid(m.critic(m.generate(z))).mean().item()
        m.update("gen", sign * manifold_loss(m.critic(m.generate(z))))
        with torch.no_grad():
            return before, torch.sigmoid(m.critic(m.generate(z))).mean().item()

    before, after = p_fake_after_step(1.0)
    assert after < before - 1e-5  # measured: 0.52107 → 0.52085; float32 noise is ~1e-7
    before, after = p_fake_after_step(-1.0)  # the opposite sign raises it: the check can fail
    assert after > before + 1e-5


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


@pytest.mark.parametrize(("spec", "stats"), [(POINTS, "fake"), (IMAGES, "fake"), (IMAGES, "real")],
                         ids=["points", "images", "images-real-stats"])
def test_fig4_step_replayed_with_sgd(spec: DataSpec, stats: str) -> None:
    """Fig. 4: every network moves once, by −lr × the gradient of its own loss at the *pre-step* weights:
    θ_g on L_G = L_Z + L_M, (θ_e, σ_E, θ_d) on L_VAE, θ_c on L_C. Replayed with plain SGD against
    gradients taken on an untouched copy from the same forward pass (same seed)."""
    m = _model(spec=spec, lz_norm_stats=stats)
    lr = 0.05
    nets = {"gen": ["gen"], "vae": ["enc", "log_sigma", "dec"], "critic": ["critic"]}

    def params(model: AVAE, names: list[str]) -> list[torch.nn.Parameter]:
        out: list[torch.nn.Parameter] = []
        for n in names:
            a = getattr(model, n)
            out += [a] if isinstance(a, torch.nn.Parameter) else list(a.parameters())
        return out

    m.optimizers = {k: torch.optim.SGD(params(m, v), lr=lr) for k, v in nets.items()}
    ref = copy.deepcopy(m)
    x = torch.rand(16, *spec.shape, generator=torch.Generator().manual_seed(4)) * 2 - 1
    torch.manual_seed(9)
    m.train_step(lambda: x, 0)
    torch.manual_seed(9)
    out = ref.losses(x)
    for opt, loss in (("gen", "gen"), ("vae", "vae"), ("critic", "critic")):
        old = params(ref, nets[opt])
        grads = torch.autograd.grad(out[loss], old, retain_graph=True, allow_unused=True)
        moved = False
        for p_new, p_old, g in zip(params(m, nets[opt]), old, grads, strict=True):
            g = torch.zeros_like(p_old) if g is None else g
            torch.testing.assert_close(p_new, p_old - lr * g, rtol=1e-4, atol=1e-6)
            moved |= bool(g.abs().sum() > 0)
        assert moved, opt
    # Not vacuous: L_G has a gradient on E (it flows through E) and L_VAE none on G, so an update of E
    # by L_G, or of G by anything but L_G, would have failed the replay above.
    assert any(g is not None and g.abs().sum() > 0
               for g in torch.autograd.grad(out["gen"], list(ref.enc.parameters()), retain_graph=True, allow_unused=True))


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


def _real_batch_stats_encoding(enc: torch.nn.Module, x_real: torch.Tensor, x_fake: torch.Tensor) -> torch.Tensor:
    """Reference for ``lz_norm_stats="real"``: walk E's trunk layer by layer on both batches; every
    BatchNorm normalises the fake activations with the mean and biased variance the *real* activations
    have at that layer (then E's affine scale and shift), as E normalises the data it encodes."""
    h_r, h_f = x_real, x_fake
    for mod in enc.trunk:
        if isinstance(mod, torch.nn.BatchNorm2d):
            mean = h_r.mean((0, 2, 3), keepdim=True)
            var = h_r.var((0, 2, 3), unbiased=False, keepdim=True)
            scale, shift = mod.weight.view(1, -1, 1, 1), mod.bias.view(1, -1, 1, 1)
            h_f = (h_f - mean) / (var + mod.eps).sqrt() * scale + shift
            h_r = (h_r - mean) / (var + mod.eps).sqrt() * scale + shift
        else:
            h_r, h_f = mod(h_r), mod(h_f)
    return enc.head(h_f.flatten(1))


def test_lz_encoder_uses_the_real_batch_statistics_when_asked() -> None:
    """``lz_norm_stats="real"`` (issue 19, point 9): μ_E(x_fake) in L_Z is E with the real batch's
    BatchNorm statistics (hand-walked reference), so one fake's code no longer depends on the other fakes
    of its batch; ``"fake"`` normalises the fakes by their own batch."""
    spec = DataSpec("tiny32", "image", (1, 32, 32))  # 32 px: two BatchNorms in E
    x = torch.rand(16, *spec.shape, generator=torch.Generator().manual_seed(1)) * 2 - 1
    x_fake = torch.rand(16, *spec.shape, generator=torch.Generator().manual_seed(2)) * 0.5
    for mode in ("real", "fake"):
        m = _model(spec=spec, lz_norm_stats=mode)
        assert AVAE.Config().lz_norm_stats == "fake"  # Fig. 4 literal (issue #26 §4)
        running = [b.clone() for name, b in m.enc.named_buffers() if "running" in name]
        with torch.no_grad():
            from models.avae import batch_stats_recorded

            with batch_stats_recorded(m.enc) as stats:
                m.enc(x)
            running_after_real = [b.clone() for name, b in m.enc.named_buffers() if "running" in name]
            full = m.encode_fakes(x_fake, stats)
            first = m.encode_fakes(x_fake[:4], stats)
            ref = _real_batch_stats_encoding(m.enc, x, x_fake)
        # the fake pass never moves E's running statistics (only the real pass did)
        after = [b for name, b in m.enc.named_buffers() if "running" in name]
        assert all(torch.equal(a, b) for a, b in zip(after, running_after_real, strict=True))
        assert not all(torch.equal(a, b) for a, b in zip(after, running, strict=True))
        if mode == "real":
            torch.testing.assert_close(full, ref, rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(first, full[:4], rtol=1e-4, atol=1e-5)
        else:
            assert not torch.allclose(full, ref, atol=1e-3)
            assert not torch.allclose(first, full[:4], atol=1e-3)


@pytest.mark.parametrize("name", ["avae", "avae-a", "avae-xi-a"])
def test_bf16_training_on_digits_keeps_batchnorm_buffers_fp32(tmp_path: Path, name: str) -> None:
    """``--precision bf16`` on the CPU (channels-last too, as benchmarks/gpu_check runs it): a few steps on
    digits at width 8 train with finite losses and every BatchNorm running statistic stays fp32 (E's L_Z pass
    with the real batch's statistics used to hand bf16 statistics to an eval-mode F.batch_norm: "mixed dtype")."""
    data = load("digits")
    cls = model_registry().get(name)
    torch.manual_seed(0)
    model = cls(cls.Config(width=8, latent_dim=8, batch_size=16), data.spec)
    before = {k: v.clone() for k, v in model.state_dict().items() if k.endswith("running_mean")}
    result = Trainer(model, data.train, tmp_path / name, seed=0, steps=3, device=torch.device("cpu"), log_every=1,
                     progress=False, precision="bf16", channels_last=True).fit()
    assert result.status == "completed" and result.step == 3
    rows = read_log(tmp_path / name)
    assert [r["step"] for r in rows] == [1, 2, 3]
    for r in rows:
        assert all(math.isfinite(r[k]) for k in ("vae", "gen", "critic", "l_z", "l_m")), r
    buffers = {k: v for k, v in model.state_dict().items() if k.endswith(("running_mean", "running_var"))}
    assert buffers and all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in buffers.values())
    assert any(not torch.equal(before[k], buffers[k]) for k in before)  # the statistics did move


def test_bf16_fake_encoding_with_real_statistics_matches_fp32() -> None:
    """μ_E(x_fake) normalised by the real batch's statistics (``lz_norm_stats=real``) under bf16 autocast:
    fp32 statistics, and the code within bf16 rounding (~1 %) of the same computation in fp32."""
    model = _model(spec=IMAGES)
    g = torch.Generator().manual_seed(3)
    x, x_fake = torch.randn(16, 3, 16, 16, generator=g), torch.randn(16, 3, 16, 16, generator=g).tanh()

    def fake_code() -> tuple[torch.Tensor, list[torch.Tensor]]:
        with batch_stats_recorded(model.enc) as stats:
            model.enc(x)
        return model.encode_fakes(x_fake, stats), [t for pair in stats.values() for t in pair]

    with frozen_running_stats(model.enc):
        ref, ref_stats = fake_code()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got, got_stats = fake_code()
    assert got.dtype == torch.bfloat16 and all(t.dtype == torch.float32 for t in got_stats)
    assert len(got_stats) == len(ref_stats) > 0
    err = (got.float() - ref).norm() / ref.norm()
    assert err < 0.03, float(err)
