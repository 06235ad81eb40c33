"""The CPU speed-ups of issue #29 leave the math unchanged, and the switch that turns them off restores the code
paths before them.

- For each of the study's 19 configurations (its models with their per-model settings, at a tiny width), 20
  training iterations from the same seed with the speed-ups off (the suite before issue #29) and on (fused Adam,
  the native-kernel image layers, the per-model channels_last table), and on with channels_last forced for every
  model, give every logged loss equal within 1e-4 relative (the issue's bound) of the loss's size over the run.
  They run in float64, where rounding cannot hide a change of the math: in float32 these adversarial updates
  amplify last-bit differences of any kernel (the order of a convolution's sums) past 1e-4 within 7-18 iterations
  (measured: α-GAN at iteration 7, AGE, WGAN-GP, AVAE-FT, BEGAN*-LSM by 15-18; the same happens between the
  plain run and the long-standing ``channels_last`` option). The float32 runs, where the kernel choices are
  really taken (oneDNN has no float64), are compared (off vs on) over their first 5 iterations at the same bound: a wrong
  update shows at once there, as the fused-Adam layout bug this test found did (models/base.py ``Model.update``).
  AVAE-S and AVAE-FT are given a 10-step pre-training so both their phases are covered, VAE-S a 2-batch probe.
- The switch: off, the optimisers are PyTorch's default for-loop Adam and no layer is swapped (the code path
  before the speed-ups); on, they are fused and the image-output ``ConvTranspose2d`` takes the native kernel;
  ``BENCH_SPEEDUPS=0`` in the environment is "off".
- The native-kernel transposed convolution against ``torch.nn.functional.conv_transpose2d`` (oneDNN, the
  library's default) on the same inputs: outputs and gradients equal within float rounding.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

import models.base as mb
from bench.trainer import CHANNELS_LAST_FASTER
from benchmarks.step_ab import build_arm, study_configs

ITERATIONS = 20
RTOL = 1e-4
TINY = {"width": 8, "latent_dim": 8, "batch_size": 16}
PHASES = {"avae-s": {"pretrain_steps": 10}, "avae-ft": {"pretrain_steps": 10}, "vae-s": {"calibration_steps": 2}}
FP32_ITERATIONS = 5  # float32: before the adversarial dynamics amplify rounding past 1e-4 (docstring)
CONFIGS = study_configs()


class _Cast:
    """The trainer's batch stream with every batch cast to ``dtype`` (attributes such as ``split`` forwarded)."""

    def __init__(self, stream, dtype: torch.dtype) -> None:  # noqa: ANN001
        self.stream, self.dtype = stream, dtype

    def __call__(self) -> torch.Tensor:
        return self.stream().to(self.dtype)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.stream, name)


def _losses(spec, tmp: Path, iterations: int = ITERATIONS, dtype: torch.dtype = torch.float32,  # noqa: ANN001
            **arm) -> list[dict[str, float]]:
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        trainer = build_arm(spec, run_dir=tmp, overrides={**TINY, **PHASES.get(spec.model, {})}, **arm)
        stream = trainer.stream if dtype == torch.float32 else _Cast(trainer.stream, dtype)
        torch.manual_seed(spec.seed)
        out = []
        trainer.model.train()
        with mb.speedups(arm.get("on", True)):  # steps read the switch too (VAE-S's functional convolutions)
            for step in range(iterations):
                logged = trainer.model.train_step(stream, step)
                out.append({k: float(v) for k, v in logged.items()})
    finally:
        torch.set_default_dtype(default)
    return out


def _assert_equal(off: list[dict[str, float]], arms: dict[str, list[dict[str, float]]]) -> None:
    # relative to the logged quantity's size over the run (a loss that crosses zero, e.g. AVAE's l_m at -1e-4 on
    # the first step while it is 1e-2 later, is compared at its own scale, not at its zero crossing)
    scale = {k: max(max(abs(s[k]) for s in off), 1e-6) for k in off[0]}
    for arm, values in arms.items():
        assert len(values) == len(off)
        for step, (a, b) in enumerate(zip(off, values, strict=True)):
            assert a.keys() == b.keys()
            for key in a:
                assert math.isfinite(a[key])
                assert abs(a[key] - b[key]) <= RTOL * scale[key], (arm, step, key, a[key], b[key], scale[key])


def test_the_study_has_19_configurations() -> None:
    assert len(CONFIGS) == 19
    assert len({c.label for c in CONFIGS}) == 19


@pytest.mark.parametrize("config", CONFIGS, ids=[c.label.replace(" ", "") for c in CONFIGS])
def test_losses_equal_with_speedups_on_and_off(config, tmp_path: Path, one_thread: None) -> None:  # noqa: ANN001
    off = _losses(config.spec, tmp_path, ITERATIONS, torch.float64, on=False)
    _assert_equal(off, {"on": _losses(config.spec, tmp_path, ITERATIONS, torch.float64, on=True),
                        "on+channels_last": _losses(config.spec, tmp_path, ITERATIONS, torch.float64, on=True,
                                                    channels_last=True)})
    # float32, the shipped default (no model is in the channels_last table; forced channels_last moves α-GAN's
    # float32 d_loss by 1.2e-4 at iteration 2 already, as the option always did)
    off32 = _losses(config.spec, tmp_path, FP32_ITERATIONS, on=False)
    _assert_equal(off32, {"on": _losses(config.spec, tmp_path, FP32_ITERATIONS, on=True)})


def test_fused_update_applies_a_gradient_in_another_layout_to_the_right_elements() -> None:
    """A gradient whose strides differ from its parameter's (WGAN-GP's double backward gives conv-weight
    gradients permuted) must update the same elements as the for-loop Adam does: without the layout copy in
    ``Model.update``, PyTorch's fused CPU Adam applied it in memory order (found by the test above)."""

    class Toy(mb.Model):
        def __init__(self) -> None:
            super().__init__(mb.ModelConfig(lr=0.1), None)  # type: ignore[arg-type]
            self.w = nn.Parameter(torch.arange(4 * 3 * 5 * 5, dtype=torch.float32).view(4, 3, 5, 5) / 100)

    target = torch.randn(3, 4, 5, 5, generator=torch.Generator().manual_seed(0))
    results = {}
    for on in (False, True):
        toy = Toy()
        with mb.speedups(on):
            toy.optimizers = {"w": toy.adam([toy.w])}
        loss = (toy.w.permute(1, 0, 2, 3).contiguous() * target).sum()  # its gradient is target, permuted
        (g,) = torch.autograd.grad(loss, toy.w, retain_graph=True)
        assert not g.is_contiguous()
        toy.update("w", loss)
        results[on] = toy.w.detach().clone()
    # Adam's first step (Kingma & Ba 2015, Alg. 1, bias-corrected: m̂ = g, v̂ = g²): w − lr·g / (|g| + ε)
    expected = torch.arange(300, dtype=torch.float32).view(4, 3, 5, 5) / 100 - 0.1 * g / (g.abs() + 1e-8)
    torch.testing.assert_close(results[False], expected)
    torch.testing.assert_close(results[True], expected)


def test_switch_restores_the_old_code_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = next(c for c in CONFIGS if c.spec.model == "dcgan")
    off = build_arm(config.spec, on=False, run_dir=tmp_path, overrides=TINY)
    on = build_arm(config.spec, on=True, run_dir=tmp_path, overrides=TINY)
    for opt in off.model.optimizers.values():
        assert not opt.defaults["fused"] and not opt.defaults["foreach"]
    assert all(opt.defaults["fused"] for opt in on.model.optimizers.values())
    native = (mb.NativeForwardConvTranspose2d, mb.NativeInputGradConv2d)
    assert not any(isinstance(m, native) for m in off.model.modules())
    # the generator's image layer (w → 1 channel) and the critic's (1 → w), nothing else
    assert [(type(m).__name__, m.in_channels, m.out_channels) for m in on.model.modules() if isinstance(m, native)] \
        == [("NativeForwardConvTranspose2d", 8, 1), ("NativeInputGradConv2d", 1, 8)]
    assert off.channels_last is False
    assert on.channels_last is ("DCGAN" in CHANNELS_LAST_FASTER)
    monkeypatch.setenv(mb.SPEEDUPS_ENV, "0")
    assert mb.speedups_enabled() is False
    monkeypatch.setenv(mb.SPEEDUPS_ENV, "1")
    assert mb.speedups_enabled() is True
    with mb.speedups(False):
        assert mb.speedups_enabled() is False


def test_native_input_grad_conv_equals_the_library_with_double_backward(one_thread: None) -> None:
    """Forward, input/weight/bias gradients and a gradient penalty's double backward (WGAN-GP) of the swapped
    image-input convolution against ``torch.nn.functional.conv2d`` (the library's default kernels)."""
    torch.manual_seed(0)
    layer = nn.Conv2d(1, 32, 5, 2, 2)
    x = torch.randn(16, 1, 16, 16, requires_grad=True)

    def penalty_and_grads(fn):  # noqa: ANN001, ANN202
        out = fn(x)
        (gx,) = torch.autograd.grad(out.square().sum(), x, create_graph=True)  # WGAN-GP's penalty: ∇_x, differentiable
        loss = out.sum() + gx.square().sum()
        return (out, gx, *torch.autograd.grad(loss, (x, layer.weight, layer.bias)))

    ref = penalty_and_grads(lambda t: nn.functional.conv2d(t, layer.weight, layer.bias, 2, 2))
    assert mb.use_native_output_convolutions(nn.Sequential(layer)) == 1
    assert isinstance(layer, mb.NativeInputGradConv2d)
    got = penalty_and_grads(layer)
    for a, b in zip(got, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    assert torch.backends.mkldnn.enabled
    w = torch.randn(8, 1, 11, 11)  # the functional form, on a VAE-S-like fixed filter bank
    fx = torch.randn(4, 1, 26, 26, requires_grad=True)
    (g_ref,) = torch.autograd.grad(nn.functional.conv2d(fx, w).square().sum(), fx)
    (g_nat,) = torch.autograd.grad(mb.conv2d_native_input_grad(fx, w).square().sum(), fx)
    torch.testing.assert_close(g_nat, g_ref, rtol=1e-4, atol=1e-4)
    with torch.no_grad():  # no gradient needed: exactly Conv2d's path
        torch.testing.assert_close(layer(x), nn.functional.conv2d(x, layer.weight, layer.bias, 2, 2), rtol=0, atol=0)


def test_native_forward_conv_transpose_equals_the_library(one_thread: None) -> None:
    torch.manual_seed(0)
    layer = nn.ConvTranspose2d(32, 1, 5, 2, 2, output_padding=1)
    x = torch.randn(16, 32, 8, 8, requires_grad=True)
    ref = nn.functional.conv_transpose2d(x, layer.weight, layer.bias, 2, 2, 1)
    (gx_ref, gw_ref) = torch.autograd.grad(ref.square().sum(), (x, layer.weight))
    assert mb.use_native_output_convolutions(nn.Sequential(layer)) == 1
    assert isinstance(layer, mb.NativeForwardConvTranspose2d)
    out = layer(x)
    (gx, gw) = torch.autograd.grad(out.square().sum(), (x, layer.weight))
    assert out.shape == (16, 1, 16, 16)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(gx, gx_ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(gw, gw_ref, rtol=1e-4, atol=1e-4)
    assert torch.backends.mkldnn.enabled  # the global setting is restored after the forward pass


@pytest.mark.parametrize("model", ["dcgan", "wgan-gp", "avae"])
def test_speedups_on_are_reproducible_bit_for_bit(model: str, tmp_path: Path, one_thread: None) -> None:
    """Same seed, same CPU result with the speed-ups on: two runs give identical losses (float32, every bit)."""
    config = next(c for c in CONFIGS if c.spec.model == model)
    first = _losses(config.spec, tmp_path, FP32_ITERATIONS, on=True)
    assert first == _losses(config.spec, tmp_path, FP32_ITERATIONS, on=True)
