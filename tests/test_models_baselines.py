"""Loss references and which-parameters-change checks for the baselines (docs/protocols.md §2).

Each model's losses are computed on a fixed tiny batch with fixed weights and compared with a
hand-written reference of its paper's equation (torch.distributions log-likelihoods and KLs,
explicit log-sigmoids, finite differences); each update is checked to move only its own network
(and, with plain SGD, to move it by exactly −lr × the reference gradient of its own loss).
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import Tensor, nn
from torch.distributions import Normal, kl_divergence

from bench.data.base import DataSpec
from models import MODELS
from models.bigan import BiGAN, BiGANConfig, generator_encoder_loss
from models.bigan import discriminator_loss as bigan_d_loss
from models.dcgan import DCGAN, DCGANConfig
from models.dcgan import discriminator_loss as dcgan_d_loss
from models.dcgan import generator_loss as dcgan_g_loss
from models.vae import VAE, VAEConfig
from models.vae_gan import VAEGAN, VAEGANConfig, feature_nll
from models.wgan_gp import WGANGP, WGANGPConfig, critic_loss, gradient_penalty

IMG = DataSpec("tiny16", "image", (1, 16, 16))
PTS = DataSpec("pts", "points", (2,))
SMALL = dict(width=4, latent_dim=3, mlp_hidden=8, batch_size=4)


def build(cls: type, cfg_cls: type, spec: DataSpec, **kw: object) -> nn.Module:
    torch.manual_seed(0)
    model = cls(cfg_cls(**{**SMALL, **kw}), spec)
    model.optimizers = model.configure_optimizers()
    return model


def batch(spec: DataSpec, n: int = 4) -> Tensor:
    g = torch.Generator().manual_seed(1)
    if spec.kind == "points":
        return torch.randn(n, 2, generator=g)
    return torch.rand(n, *spec.shape, generator=g) * 2 - 1


def snapshot(module: nn.Module) -> list[Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def changed(module: nn.Module, before: list[Tensor]) -> bool:
    return any(not torch.equal(p, b) for p, b in zip(module.parameters(), before, strict=True))


def use_sgd(model: nn.Module, lr: float) -> None:
    """Replace every optimiser by plain SGD on the same parameters (so a step is exactly −lr·grad)."""
    model.optimizers = {k: torch.optim.SGD([p for g in o.param_groups for p in g["params"]], lr=lr)
                        for k, o in model.optimizers.items()}


def ref_grads(loss: Tensor, params: list[nn.Parameter]) -> list[Tensor]:
    return [torch.zeros_like(p) if g is None else g
            for p, g in zip(params, torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True), strict=True)]


def log_sig(t: Tensor) -> Tensor:
    """log σ(t) written out: −log(1 + e^{−t})."""
    return -torch.log1p(torch.exp(-t.double()))


def log_one_minus_sig(t: Tensor) -> Tensor:
    """log(1 − σ(t)) written out: −log(1 + e^{t})."""
    return -torch.log1p(torch.exp(t.double()))


def test_registry_names() -> None:
    names = {e.name for e in MODELS}
    assert {"vae", "dcgan", "wgan-gp", "vae-gan", "bigan"} <= names
    assert MODELS.get("wgan-gp") is WGANGP and MODELS.get("vae-gan") is VAEGAN and MODELS.get("bigan") is BiGAN


# ---- VAE (AVAE eq. 9) -----------------------------------------------------------------------
@pytest.mark.parametrize("spec", [IMG, PTS], ids=["image", "points"])
def test_vae_loss_matches_gaussian_likelihood_and_kl(spec: DataSpec) -> None:
    model = build(VAE, VAEConfig, spec, beta=2.5)
    x = batch(spec)
    torch.manual_seed(5)
    out = model.losses(x)
    torch.manual_seed(5)
    mu, logvar = model.posterior(x)
    eps = torch.randn_like(mu)
    x_hat = model.decode(mu + (0.5 * logvar).exp() * eps)
    d = x[0].numel()
    # −log N(x; x̂, I) = ½‖x − x̂‖² + ½ d log 2π (AVAE eq. 9's first term plus its constant).
    rec_ref = -Normal(x_hat.double(), 1.0).log_prob(x.double()).flatten(1).sum(1).mean() - 0.5 * d * math.log(2 * math.pi)
    kl_ref = kl_divergence(Normal(mu.double(), (0.5 * logvar.double()).exp()), Normal(0.0, 1.0)).sum(1).mean()
    assert out["rec"].item() == pytest.approx(rec_ref.item(), rel=1e-5)
    assert out["kl"].item() == pytest.approx(kl_ref.item(), rel=1e-5)
    assert out["loss"].item() == pytest.approx(rec_ref.item() + 2.5 * kl_ref.item(), rel=1e-5)


def test_vae_update_moves_encoder_and_decoder_and_beta_default() -> None:
    model = build(VAE, VAEConfig, IMG)
    enc, dec = snapshot(model.enc), snapshot(model.dec)
    model.train_step(lambda: batch(IMG), 0)
    assert changed(model.enc, enc) and changed(model.dec, dec)
    cifar = DataSpec("cifar10", "image", (3, 32, 32))
    assert VAE.dataset_defaults(cifar) == {"beta": 10.0}  # AVAE §V
    assert VAE.dataset_defaults(DataSpec("svhn", "image", (3, 32, 32))) == {"beta": 20.0}


# ---- DCGAN (non-saturating) -----------------------------------------------------------------
def test_dcgan_losses_match_log_sigmoid_reference() -> None:
    d_real, d_fake = torch.tensor([[0.3], [-1.2], [2.0]]), torch.tensor([[-0.7], [0.4], [1.5]])
    ref_d = -(log_sig(d_real).mean() + log_one_minus_sig(d_fake).mean())
    ref_g = -log_sig(d_fake).mean()  # non-saturating −log D(G(z))
    assert dcgan_d_loss(d_real, d_fake).item() == pytest.approx(ref_d.item(), rel=1e-6)
    assert dcgan_g_loss(d_fake).item() == pytest.approx(ref_g.item(), rel=1e-6)


def test_dcgan_update_ratio_and_isolation() -> None:
    model = build(DCGAN, DCGANConfig, IMG, g_steps=2)
    x = batch(IMG)
    gen, disc = snapshot(model.gen), snapshot(model.disc)
    model.update("disc", dcgan_d_loss(model.disc(x), model.disc(model.sample(4))))
    assert changed(model.disc, disc) and not changed(model.gen, gen)  # D step leaves G unchanged
    gen, disc = snapshot(model.gen), snapshot(model.disc)
    model.update("gen", dcgan_g_loss(model.disc(model.sample(4))))
    assert changed(model.gen, gen) and not changed(model.disc, disc)
    model.train_step(lambda: x, 0)
    step = lambda name: next(iter(model.optimizers[name].state.values()))["step"].item()  # noqa: E731
    assert (step("disc"), step("gen")) == (2, 3)  # one more D step, g_steps = 2 more G steps


# ---- WGAN-GP (Gulrajani et al. eq. 3) ------------------------------------------------------
def finite_difference_penalty(critic: nn.Module, x_hat: Tensor, h: float = 1e-6) -> Tensor:
    """E[(‖∇C(x̂)‖₂ − 1)²] with ∇C by central differences in float64 (independent of autograd)."""
    flat = x_hat.double().flatten(1)
    grads = torch.zeros_like(flat)
    with torch.no_grad():
        for j in range(flat.shape[1]):
            e = torch.zeros_like(flat)
            e[:, j] = h
            up = critic((flat + e).view_as(x_hat)).squeeze(1)
            down = critic((flat - e).view_as(x_hat)).squeeze(1)
            grads[:, j] = (up - down) / (2 * h)  # examples are independent (no BatchNorm)
    return (grads.norm(dim=1) - 1).pow(2).mean()


@pytest.mark.parametrize("spec", [DataSpec("tiny8", "image", (1, 8, 8)), PTS], ids=["image", "points"])
def test_wgan_gp_penalty_matches_finite_differences(spec: DataSpec) -> None:
    model = build(WGANGP, WGANGPConfig, spec).double()
    real, fake = batch(spec, 3).double(), batch(spec, 6)[3:].double() * 0.5
    eps = torch.tensor([0.2, 0.5, 0.9], dtype=torch.float64)
    gp = gradient_penalty(model.critic, real, fake, eps)
    e = eps.view(-1, *([1] * (real.dim() - 1)))
    ref = finite_difference_penalty(model.critic, e * real + (1 - e) * fake)
    assert gp.item() == pytest.approx(ref.item(), rel=1e-6)
    assert gp.item() > 0.01  # a random critic is far from 1-Lipschitz: the check is not vacuous
    # Critic loss, Gulrajani et al. eq. 3: E[C(x̃)] − E[C(x)] + λ·GP with λ = 10.
    out = model.critic_losses(real, fake, eps)
    ref_loss = model.critic(fake).mean() - model.critic(real).mean() + 10.0 * ref
    assert out["c_loss"].item() == pytest.approx(ref_loss.item(), rel=1e-6)
    assert critic_loss(torch.tensor([1.0, 3.0]), torch.tensor([0.5]), torch.tensor(0.2), 10.0).item() == pytest.approx(0.5)


def test_wgan_gp_point_critic_activation() -> None:
    """On 2-D data the critic is the shared LeakyReLU(0.2) MLP (as every model's point discriminator),
    or Gulrajani et al.'s toy ReLU MLP with ``mlp_critic_act=relu``."""
    def acts(net: nn.Module) -> set[type]:
        return {type(m) for m in net.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU))}

    lrelu = build(WGANGP, WGANGPConfig, PTS).critic
    assert acts(lrelu) == {nn.LeakyReLU} and all(m.negative_slope == 0.2 for m in lrelu.modules()
                                                  if isinstance(m, nn.LeakyReLU))
    assert acts(build(DCGAN, DCGANConfig, PTS).disc) == {nn.LeakyReLU}
    c = build(WGANGP, WGANGPConfig, PTS, mlp_critic_act="relu").critic
    assert acts(c) == {nn.ReLU}
    x = batch(PTS)  # the ReLU critic is the hand-written max(0, ·) MLP
    lin = [m for m in c.modules() if isinstance(m, nn.Linear)]
    h = torch.clamp(lin[1](torch.clamp(lin[0](x), min=0)), min=0)
    torch.testing.assert_close(c(x), lin[2](h))


def test_wgan_gp_defaults_schedule_and_isolation() -> None:
    cfg = WGANGPConfig()
    assert (cfg.gp_lambda, cfg.n_critic, cfg.beta1, cfg.beta2) == (10.0, 5, 0.5, 0.9)
    model = build(WGANGP, WGANGPConfig, IMG)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.critic.modules())
    assert model.optimizers["critic"].param_groups[0]["betas"] == (0.5, 0.9)
    draws: list[Tensor] = []

    def real() -> Tensor:
        draws.append(batch(IMG) + len(draws))
        return draws[-1]

    gen, crit = snapshot(model.gen), snapshot(model.critic)
    model.update("critic", model.critic_losses(batch(IMG), model.sample(4).detach())["c_loss"])
    assert changed(model.critic, crit) and not changed(model.gen, gen)
    gen, crit = snapshot(model.gen), snapshot(model.critic)
    model.update("gen", -model.critic(model.sample(4)).mean())
    assert changed(model.gen, gen) and not changed(model.critic, crit)
    model.train_step(real, 0)
    assert len(draws) == 5  # five critic steps, each on a fresh real batch
    step = lambda name: next(iter(model.optimizers[name].state.values()))["step"].item()  # noqa: E731
    assert (step("critic"), step("gen")) == (1 + 5, 1 + 1)


# ---- VAE/GAN (Larsen et al. Alg. 1) ---------------------------------------------------------
IMG32 = DataSpec("tiny32", "image", (1, 32, 32))  # 32 px: a BatchNorm sits before Dis_l (16 px has none)


def larsen_dis(dis: nn.Module, x: Tensor, stop_at_layer_l: bool) -> Tensor:
    """The fair critic written out with torch.nn.functional, as Larsen's released code evaluates Dis
    (andersbll/autoencoding_beyond_pixels, model/aegan.py): the whole batch ``x`` through conv k5 s2 →
    LeakyReLU(0.2) → [conv k5 s2 → BatchNorm on the statistics of this batch → LeakyReLU]…; with
    ``stop_at_layer_l`` it returns the last conv's output before its BatchNorm (recon_depth), flattened,
    else the logit of the Dense head. Points (an MLP, no BatchNorm): Dense → LeakyReLU ×2 (→ Dense)."""
    f = nn.functional
    if x.dim() == 2:
        linears = [m for m in dis.modules() if isinstance(m, nn.Linear)]
        h = x
        for lin in linears[:-1]:
            h = f.leaky_relu(f.linear(h, lin.weight, lin.bias), 0.2)
        return h if stop_at_layer_l else f.linear(h, linears[-1].weight, linears[-1].bias)
    convs = [m for m in dis.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in dis.modules() if isinstance(m, nn.BatchNorm2d)]
    h = f.leaky_relu(f.conv2d(x, convs[0].weight, convs[0].bias, stride=2, padding=2), 0.2)
    for i, (conv, bn) in enumerate(zip(convs[1:], norms, strict=True)):
        h = f.conv2d(h, conv.weight, None, stride=2, padding=2)
        if stop_at_layer_l and i == len(norms) - 1:
            return h.flatten(1)
        mean, var = h.mean((0, 2, 3), keepdim=True), h.var((0, 2, 3), unbiased=False, keepdim=True)
        h = (h - mean) / (var + bn.eps).sqrt() * bn.weight.view(1, -1, 1, 1) + bn.bias.view(1, -1, 1, 1)
        h = f.leaky_relu(h, 0.2)
    head = dis.head
    return f.linear(h.flatten(1), head.weight, head.bias)


@pytest.mark.parametrize("spec", [IMG32, PTS], ids=["image", "points"])
def test_vae_gan_losses_match_reference(spec: DataSpec) -> None:
    """Every term against Larsen's released code's evaluation (one Dis pass on [x̃; x] read before the last
    BatchNorm for L_llike, one pass on [x; x̃; x_p] for L_GAN), with torch.distributions' likelihoods and KL."""
    model = build(VAEGAN, VAEGANConfig, spec, gamma=0.3, beta=2.0)
    x = batch(spec)
    eps, z_p = torch.randn(4, 3), torch.randn(4, 3)
    out = model.losses(x, eps, z_p)
    mu, logvar = model.enc(x).chunk(2, dim=1)
    x_rec = model.dec(mu + (0.5 * logvar).exp() * eps).view_as(x)
    x_p = model.dec(z_p).view_as(x)
    f_rec, f_real = larsen_dis(model.dis, torch.cat([x_rec, x]), True).double().chunk(2)
    # L_llike = −log N(Dis_l(x); Dis_l(x̃), I), the explicit Gaussian log-likelihood.
    llike = -Normal(f_rec, 1.0).log_prob(f_real).sum(1).mean()
    prior = kl_divergence(Normal(mu.double(), (0.5 * logvar.double()).exp()), Normal(0.0, 1.0)).sum(1).mean()
    dr, dx, dp = larsen_dis(model.dis, torch.cat([x, x_rec, x_p]), False).chunk(3)
    l_gan = log_sig(dr).mean() + log_one_minus_sig(dx).mean() + log_one_minus_sig(dp).mean()
    g_ns = -(log_sig(dx).mean() + log_sig(dp).mean())  # decoder: fool Dis on x̃ and x_p
    assert out["llike"].item() == pytest.approx(llike.item(), rel=1e-5)
    assert out["prior"].item() == pytest.approx(prior.item(), rel=1e-5)
    assert out["dis_loss"].item() == pytest.approx(-l_gan.item(), rel=1e-5)
    assert out["enc_loss"].item() == pytest.approx(2.0 * prior.item() + llike.item(), rel=1e-5)
    assert out["dec_loss"].item() == pytest.approx(0.3 * llike.item() + g_ns.item(), rel=1e-5)
    assert feature_nll(torch.zeros(1, 2), torch.tensor([[3.0, 4.0]])).item() == pytest.approx(12.5 + math.log(2 * math.pi))


def test_vae_gan_feature_loss_sees_a_change_of_contrast() -> None:
    """A reconstruction 0.5·x must cost more than a near-perfect one. With x̃ and x normalised by one
    BatchNorm batch (the released code's single pass) L_llike(0.5·x) is large; normalising each by its
    own batch statistics (three passes, the old reading) removes the contrast change before layer l."""
    torch.manual_seed(0)
    model = VAEGAN(VAEGANConfig(width=8, latent_dim=4, batch_size=16), IMG32)
    x = torch.rand(16, *IMG32.shape) * 2 - 1
    shared = larsen_dis(model.dis, torch.cat([0.5 * x, x]), True).chunk(2)
    separate = larsen_dis(model.dis, 0.5 * x, True), larsen_dis(model.dis, x, True)
    l_shared, l_separate = feature_nll(*shared).item(), feature_nll(*separate).item()
    assert model.dis.layer_l(torch.cat([0.5 * x, x])).shape == shared[0].repeat(2, 1).shape
    torch.testing.assert_close(model.dis.layer_l(torch.cat([0.5 * x, x])), torch.cat(shared))
    const = 0.5 * shared[0].shape[1] * math.log(2 * math.pi)  # the NLL's constant, the same in both
    assert l_shared - const > 5 * (l_separate - const)


@pytest.mark.parametrize("spec", [IMG, PTS], ids=["image", "points"])
def test_vae_gan_each_update_is_its_own_gradient(spec: DataSpec) -> None:
    """With SGD, θ_Enc moves by −lr∇(βL_prior + L_llike), θ_Dec by −lr∇(γL_llike − L_GAN), θ_Dis by
    +lr∇L_GAN, all taken at the same (pre-step) weights: no loss leaks into another net."""
    model = build(VAEGAN, VAEGANConfig, spec, gamma=0.5, beta=1.5)
    use_sgd(model, 0.1)
    ref = copy.deepcopy(model)
    x = batch(spec)
    torch.manual_seed(11)
    model.train_step(lambda: x, 0)
    torch.manual_seed(11)
    out = ref.losses(x)
    for net, loss in (("enc", "enc_loss"), ("dec", "dec_loss"), ("dis", "dis_loss")):
        params = list(getattr(ref, net).parameters())
        for p_new, p_old, g in zip(getattr(model, net).parameters(), params, ref_grads(out[loss], params), strict=True):
            torch.testing.assert_close(p_new, p_old - 0.1 * g, rtol=1e-4, atol=1e-6)
    # The checks above are not vacuous: L_llike has a non-zero gradient on Dis and the decoder's
    # GAN term on Enc, so a leak of either would have moved those nets differently.
    assert any(g.abs().sum() > 0 for g in ref_grads(out["llike"], list(ref.dis.parameters())))
    assert any(g.abs().sum() > 0 for g in ref_grads(out["gan_dec"], list(ref.enc.parameters())))


@pytest.mark.parametrize("real, fake, expected", [
    (0.69, 0.69, (True, True)),   # near equilibrium: both step
    (0.20, 0.69, (True, False)),  # Dis winning on the real batch (< 0.68 − 0.4): Dis skips
    (0.69, 0.10, (True, False)),  # Dis winning on the generated batch: Dis skips
    (1.20, 0.69, (False, True)),  # Dis losing (> 0.68 + 0.4): Dec skips
    (0.69, 1.50, (False, True)),
    (0.10, 1.50, (True, True)),   # both would skip: both step
])
def test_vae_gan_balancing_follows_the_released_code(real: float, fake: float, expected: tuple[bool, bool]) -> None:
    """andersbll/autoencoding_beyond_pixels, model/aegan.py GradientDescent.train_epoch: margin 0.35 around
    equilibrium 0.68; the cases are that code's branches, written out by hand."""
    model = build(VAEGAN, VAEGANConfig, IMG)
    assert model.balanced_updates(real, fake) == expected
    off = build(VAEGAN, VAEGANConfig, IMG, balance="none")
    assert off.balanced_updates(real, fake) == (True, True)


def test_vae_gan_skipped_update_leaves_its_net_unchanged() -> None:
    model = build(VAEGAN, VAEGANConfig, IMG)
    before = copy.deepcopy(model)
    model.balanced_updates = lambda real, fake: (True, False)  # type: ignore[method-assign]
    logs = model.train_step(lambda: batch(IMG), 0)
    assert logs["dis_updated"].item() == 0.0 and logs["dec_updated"].item() == 1.0
    for p_new, p_old in zip(model.dis.parameters(), before.dis.parameters(), strict=True):
        torch.testing.assert_close(p_new, p_old, rtol=0, atol=0)
    assert any(not torch.equal(a, b) for a, b in zip(model.dec.parameters(), before.dec.parameters(), strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(model.enc.parameters(), before.enc.parameters(), strict=True))
    # the costs the rule reads are Dis's per-image BCEs: −log Dis(x) and −log(1 − Dis) over x̃ and x_p
    torch.manual_seed(3)
    x = batch(IMG)
    torch.manual_seed(5)
    out = before.losses(x)
    torch.manual_seed(5)
    mu, logvar = before.posterior(x)
    eps, z_p = torch.randn_like(mu), before.prior(len(x))
    d_real, d_rec, d_prior = before.dis(torch.cat([x, before.decode(mu + (0.5 * logvar).exp() * eps),
                                                   before.decode(z_p)])).chunk(3)
    real = -torch.log(torch.sigmoid(d_real)).mean()
    fake = -torch.log(1 - torch.sigmoid(torch.cat([d_rec, d_prior]))).mean()
    assert out["dis_real_cost"].item() == pytest.approx(real.item(), rel=1e-4)
    assert out["dis_fake_cost"].item() == pytest.approx(fake.item(), rel=1e-4)


# ---- BiGAN (Donahue et al.; AVAE Fig. 5) -----------------------------------------------------
def test_bigan_losses_match_reference_and_architecture() -> None:
    model = build(BiGAN, BiGANConfig, IMG, joint_hidden=6)
    x, z = batch(IMG), torch.randn(4, 3)
    out = model.losses(x, z)
    d_enc = model.disc(x, model.enc(x))
    d_gen = model.disc(model.gen(z).view_as(x), z)
    v = log_sig(d_enc).mean() + log_one_minus_sig(d_gen).mean()  # V(D, E, G)
    assert out["d_loss"].item() == pytest.approx(-v.item(), rel=1e-5)
    ge_ref = -(log_one_minus_sig(d_enc).mean() + log_sig(d_gen).mean())  # inverted labels
    assert out["ge_loss"].item() == pytest.approx(ge_ref.item(), rel=1e-5)
    assert bigan_d_loss(torch.zeros(2, 1), torch.zeros(2, 1)).item() == pytest.approx(2 * math.log(2))
    assert generator_encoder_loss(torch.zeros(2, 1), torch.zeros(2, 1)).item() == pytest.approx(2 * math.log(2))
    # Joint D: two-hidden-layer MLP on z, critic trunk on x, concatenation, two-hidden-layer MLP.
    z_lin = [m for m in model.disc.z_net.modules() if isinstance(m, nn.Linear)]
    j_lin = [m for m in model.disc.joint.modules() if isinstance(m, nn.Linear)]
    assert [m.out_features for m in z_lin] == [6, 6]
    assert [m.out_features for m in j_lin] == [6, 6, 1]
    assert j_lin[0].in_features == model.disc.x_net.feature_dim + 6
    assert sum(isinstance(m, nn.Conv2d) for m in model.disc.x_net.modules()) == 2  # 16 px critic trunk
    torch.testing.assert_close(model.reconstruct(x), model.gen(model.enc(x)).view_as(x))  # G(E(x))


@pytest.mark.parametrize("spec", [IMG, PTS], ids=["image", "points"])
def test_bigan_updates_are_isolated(spec: DataSpec) -> None:
    model = build(BiGAN, BiGANConfig, spec, joint_hidden=6)
    use_sgd(model, 0.1)
    ref = copy.deepcopy(model)
    x = batch(spec)
    torch.manual_seed(3)
    model.train_step(lambda: x, 0)
    torch.manual_seed(3)
    out = ref.losses(x)
    ge = list(ref.gen.parameters()) + list(ref.enc.parameters())
    new_ge = list(model.gen.parameters()) + list(model.enc.parameters())
    for p_new, p_old, g in zip(new_ge, ge, ref_grads(out["ge_loss"], ge), strict=True):
        torch.testing.assert_close(p_new, p_old - 0.1 * g, rtol=1e-4, atol=1e-6)
    dp = list(ref.disc.parameters())
    for p_new, p_old, g in zip(model.disc.parameters(), dp, ref_grads(out["d_loss"], dp), strict=True):
        torch.testing.assert_close(p_new, p_old - 0.1 * g, rtol=1e-4, atol=1e-6)
    assert changed(model.enc, snapshot(ref.enc)) and changed(model.disc, snapshot(ref.disc))


def test_capabilities() -> None:
    assert "reconstruct" not in DCGAN.capabilities and "reconstruct" not in WGANGP.capabilities
    assert {"sample", "reconstruct", "encode"} <= VAEGAN.capabilities & BiGAN.capabilities & VAE.capabilities
    for cls, cfg in ((VAEGAN, VAEGANConfig), (BiGAN, BiGANConfig), (WGANGP, WGANGPConfig)):
        m = build(cls, cfg, IMG).eval()
        assert m.sample(3).shape == (3, 1, 16, 16)
    with pytest.raises(NotImplementedError):
        build(WGANGP, WGANGPConfig, IMG).reconstruct(batch(IMG))
