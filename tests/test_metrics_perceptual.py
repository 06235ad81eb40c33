"""lpips against the lpips package, ms_ssim_diversity against pytorch_msssim (and closed forms)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from pytorch_msssim import ms_ssim as lib_ms_ssim
from pytorch_msssim import ssim as lib_ssim

from bench.data import load
from bench.data.base import Dataset, DataSpec, Split, to_uint8
from bench.run import evaluate_real
from metrics.base import EvalContext, evaluate
from metrics.diversity import WANG_WEIGHTS, diversity, ms_ssim, ms_ssim_settings, pair_indices
from metrics.lpips_metric import ALEXNET_FILE, build_lpips, lpips_distance

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny nets (tests/conftest.py)


@pytest.fixture(scope="module")
def alexnet_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TORCH_HOME whose hub cache holds a random-initialised torchvision AlexNet under the
    upstream file name (no network: the real ImageNet file is not needed to check the plumbing)."""
    import torchvision

    home = tmp_path_factory.mktemp("torch_home")
    (home / "hub" / "checkpoints").mkdir(parents=True)
    torch.manual_seed(123)
    state = torchvision.models.alexnet().state_dict()
    # LPIPS reads only features.*; the 58M classifier weights are saved as stride-0 views (a few bytes).
    state = {k: v if k.startswith("features.") else torch.zeros(1).expand(v.shape) for k, v in state.items()}
    torch.save(state, home / "hub" / "checkpoints" / ALEXNET_FILE)
    return home


def _smooth_images(n: int, channels: int, side: int, seed: int) -> torch.Tensor:
    """Related images with structure at several scales: a shared smooth pattern plus a smooth one of
    their own and a little noise (MS-SSIM of unrelated noise is ~0 and would test nothing)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(1, channels, side // 8, side // 8, generator=g) + 0.6 * torch.rand(n, channels, side // 8, side // 8,
                                                                                        generator=g)
    x = F.interpolate(base, size=(side, side), mode="bilinear", align_corners=False)
    x = x + 0.1 * torch.rand(n, channels, side, side, generator=g)
    return (x / x.amax() * 255).round().to(torch.uint8)


def test_lpips_metric_equals_lpips_package(alexnet_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lpips

    monkeypatch.setenv("TORCH_HOME", str(alexnet_home))
    weights_dir = str(alexnet_home / "hub" / "checkpoints")
    ds = load("digits")  # grayscale 32 px: also checks the gray → RGB repetition
    g = torch.Generator().manual_seed(0)

    def recon(x: torch.Tensor) -> torch.Tensor:  # a deterministic, imperfect "reconstruction"
        return (0.7 * x + 0.2 * torch.roll(x, 1, dims=-1)).clamp(-1, 1)

    ctx = EvalContext(ds, recon_fn=recon, n_override=40, weights_dir=weights_dir, seed=int(torch.randint(9, (1,), generator=g)))
    out = evaluate(ctx, ["lpips"])
    x = ds.test.subset(40, seed=0).uint8()
    r = to_uint8(recon(x.float() / 127.5 - 1))
    ref_model = lpips.LPIPS(net="alex", verbose=False)  # loads the AlexNet trunk through torch.hub's cache
    with torch.no_grad():
        ref = ref_model((x.float() / 127.5 - 1).repeat(1, 3, 1, 1), (r.float() / 127.5 - 1).repeat(1, 3, 1, 1))
    assert out["lpips.n"] == 40
    assert out["lpips"] == pytest.approx(ref.mean().item(), rel=1e-5, abs=1e-7)
    assert out["lpips"] > 0

    # RGB, per pair, through the same builder the metric uses
    a, b = _smooth_images(5, 3, 64, 1), _smooth_images(5, 3, 64, 2)
    ours = lpips_distance(build_lpips(Path(weights_dir) / ALEXNET_FILE), a, b)
    with torch.no_grad():
        theirs = ref_model(a.float() / 127.5 - 1, b.float() / 127.5 - 1).flatten()
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-7)


def test_lpips_missing_weights_is_unavailable_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_home"))
    ds = Dataset(DataSpec("r", "image", (3, 32, 32)), {"train": Split(_smooth_images(4, 3, 32, 0)),
                                                         "test": Split(_smooth_images(4, 3, 32, 1))})
    out = evaluate(EvalContext(ds, recon_fn=lambda x: x, weights_dir=str(tmp_path / "w")), ["lpips"])
    assert "lpips" not in out
    reason = out["lpips.unavailable"]
    assert ALEXNET_FILE in reason and "\n" not in reason


def test_ms_ssim_at_161_px_and_more_equals_pytorch_msssim() -> None:
    x = _smooth_images(4, 3, 168, seed=3)
    win, weights = ms_ssim_settings(168)
    assert (win, weights) == (11, WANG_WEIGHTS)  # the library's defaults, unchanged
    pairs = list(itertools.combinations(range(len(x)), 2))
    i = torch.tensor([p[0] for p in pairs])
    j = torch.tensor([p[1] for p in pairs])
    ref = lib_ms_ssim(x[i].float(), x[j].float(), data_range=255, size_average=False)
    torch.testing.assert_close(ms_ssim(x[i].float(), x[j].float(), win, weights), ref, rtol=1e-6, atol=1e-7)
    value, n_pairs, _, scales = diversity(x, max_pairs=1000)
    assert (n_pairs, scales) == (6, 5)
    assert value == pytest.approx(1 - ref.double().mean().item(), abs=1e-6)
    assert 0.05 < value < 0.95  # structured images: neither identical nor unrelated


def test_small_images_use_fewer_scales_and_one_scale_is_ssim() -> None:
    # The documented table: the coarsest scale must hold a window, side > (win - 1) * 2**(L - 1).
    assert ms_ssim_settings(32)[0] == 7 and len(ms_ssim_settings(32)[1]) == 3
    assert ms_ssim_settings(28)[0] == 7 and len(ms_ssim_settings(28)[1]) == 3
    assert ms_ssim_settings(64)[0] == 11 and len(ms_ssim_settings(64)[1]) == 3
    assert ms_ssim_settings(96)[0] == 11 and len(ms_ssim_settings(96)[1]) == 4
    assert ms_ssim_settings(16)[0] == 7 and len(ms_ssim_settings(16)[1]) == 2
    w32 = ms_ssim_settings(32)[1]
    assert sum(w32) == pytest.approx(1.0) and w32[0] / w32[1] == pytest.approx(0.0448 / 0.2856)
    # With one scale MS-SSIM is SSIM: compare with pytorch_msssim.ssim on similar (positive-SSIM) pairs.
    a = _smooth_images(4, 3, 32, 5).float()
    b = (a + 20 * torch.rand(a.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 255)
    torch.testing.assert_close(ms_ssim(a, b, 7, (1.0,)), lib_ssim(a, b, data_range=255, win_size=7, size_average=False),
                               rtol=1e-6, atol=1e-7)
    # Grayscale is scored on its channel: the same as the RGB repetition (per-channel mean).
    gray = _smooth_images(12, 1, 32, 11)
    assert diversity(gray, 100)[0] == pytest.approx(diversity(gray.repeat(1, 3, 1, 1), 100)[0], abs=1e-6)
    # Identical images: diversity exactly 0 at every size.
    same = _smooth_images(1, 3, 32, 9).repeat(6, 1, 1, 1)
    assert diversity(same, max_pairs=100)[0] == pytest.approx(0.0, abs=1e-6)


def test_pairs_all_when_few_else_seeded_random_distinct() -> None:
    i, j = pair_indices(6, max_pairs=15, seed=0)
    assert len(i) == 15 and bool((i < j).all())
    i, j = pair_indices(100, max_pairs=300, seed=4)
    assert len(i) == 300 and not bool((i == j).any())
    i2, j2 = pair_indices(100, max_pairs=300, seed=4)
    assert torch.equal(i, i2) and torch.equal(j, j2)


def test_diversity_metric_and_its_test_set_reference_row() -> None:
    ds = load("digits")
    out = evaluate_real(ds, ["ms_ssim_diversity"])  # the 'real data' reference row
    x = ds.test.uint8()[:200]  # quick setting: 200 images, 2,000 seeded pairs
    value, pairs, win, scales = diversity(x, max_pairs=2000, seed=0)
    assert out["ms_ssim_diversity"] == pytest.approx(value, abs=1e-9)
    assert (out["ms_ssim_diversity.n"], out["ms_ssim_diversity.pairs"], out["ms_ssim_diversity.win_size"],
            out["ms_ssim_diversity.scales"]) == (200, 2000, 7, 3) == (200, pairs, win, scales)
    # Mode collapse lowers diversity: the same 10 images repeated score lower than the test set.
    collapsed = x[:10].repeat(20, 1, 1, 1)
    assert diversity(collapsed, max_pairs=500)[0] < value
