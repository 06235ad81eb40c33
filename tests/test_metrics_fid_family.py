"""Inception/ResNet/DINOv2 family against the reference libraries, on random-initialised weights saved
under the upstream file names (no download, tens of images at 16 px).

What is asserted: fid/is/kid/precision/recall equal torch-fidelity's ``calculate_metrics`` (1e-4 relative);
layer FIDs equal torch-fidelity's Fréchet math on the same pass; fid_tv16/frd/fid_clean/fd_dinov2 features
equal torchvision / clean-fid / torch-fidelity pipelines run independently; the Fréchet distance equals
clean-fid, torch-fidelity and closed forms (1e-6); one Inception pass per image for the whole family and
zero real passes when the reference statistics are cached; missing weights → ``name.unavailable``.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from test_metrics_tf_pooling import direct_pool
from torch import nn

from bench.data.base import Dataset, DataSpec, Split
from metrics import features as F
from metrics import weights as W
from metrics.base import EvalContext, evaluate
from metrics.frechet import frechet_distance, frechet_to_features, moments

INCEPTION_FAMILY = ["fid", "fid_64", "fid_192", "fid_768", "is", "kid", "precision", "recall"]
ALL_A = INCEPTION_FAMILY + ["fid_clean", "fid_tv16", "frd", "fd_dinov2"]


# ---- random-initialised weights under the upstream file names ------------------------------------------
def _kaiming(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")  # keeps activations O(1) through the depth


@pytest.fixture(scope="module")
def inception_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """torch-fidelity's FeatureExtractorInceptionV3 with random weights, saved as its .pth state dict."""
    import torch_fidelity.feature_extractor_inceptionv3 as fi

    d = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    with mock.patch.object(fi, "load_state_dict_from_url", lambda *a, **k: None), \
            mock.patch.object(fi.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None):
        net = fi.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    _kaiming(net)
    torch.save(net.state_dict(), d / W.TABLE["inception-v3-compat"].file)
    return d


@pytest.fixture(scope="module")
def torchvision_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """torchvision inception_v3 and resnet50 (weights=None) state dicts under their upstream names."""
    d = tmp_path_factory.mktemp("weights_tv")
    torch.manual_seed(1)
    inc = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False)
    _kaiming(inc)  # torchvision's own init (trunc-normal, std 0.1) drives pool3 to ~1e9
    torch.save(inc.state_dict(), d / W.TABLE["inception-v3-tv"].file)
    torch.save(torchvision.models.resnet50(weights=None).state_dict(), d / W.TABLE["resnet50"].file)
    return d


class TinyTorchScriptInception(nn.Module):
    """Same interface as clean-fid's TorchScript file: ``layers`` maps (N, 3, 299, 299) → (N, 2048, 1, 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Conv2d(3, 8, 7, stride=8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 2048, 1))

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        return self.layers(x)


@pytest.fixture(scope="module")
def cleanfid_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scripted module in clean-fid's TorchScript format (the real file's graph cannot be rebuilt offline)."""
    d = tmp_path_factory.mktemp("weights_clean")
    torch.manual_seed(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(TinyTorchScriptInception()), str(d / W.TABLE["clean-fid-inception"].file))
    return d


HUBCONF = '''
import torch
from torch import nn
dependencies = ["torch"]


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 16, 14, stride=14)
        self.head = nn.Linear(16, 32)

    def forward(self, x):
        return self.head(torch.relu(self.patch(x)).mean((2, 3)))


def dinov2_vitl14(pretrained=True, **kwargs):
    return Tiny()
'''


@pytest.fixture(scope="module")
def dinov2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local torch.hub repository with a tiny stand-in for dinov2_vitl14 (DINOv2's code cannot be fetched
    offline) and its state dict under the upstream weights name: tests the offline loading path and
    torch-fidelity's DINOv2 preprocessing, not the ViT itself."""
    d = tmp_path_factory.mktemp("weights_dino")
    repo = d / W.TABLE["dinov2-repo"].file
    repo.mkdir()
    (repo / "hubconf.py").write_text(HUBCONF)
    torch.manual_seed(3)
    model = torch.hub.load(str(repo), "dinov2_vitl14", source="local")
    torch.save(model.state_dict(), d / W.TABLE["dinov2-vitl14"].file)
    return d


@pytest.fixture
def stats_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(F.ENV_STATS, str(tmp_path / "stats"))
    return tmp_path / "stats"


def tiny_dataset(n_train: int, channels: int = 1, size: int = 16, seed: int = 0) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    data = torch.randint(0, 256, (n_train, channels, size, size), generator=g, dtype=torch.uint8)
    return Dataset(DataSpec("tiny", "image", (channels, size, size)), {"train": Split(data), "test": Split(data[:4])})


def fakes(n: int, channels: int = 1, size: int = 16, seed: int = 100) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, channels, size, size), generator=g, dtype=torch.uint8)


class _Images(torch.utils.data.Dataset):
    def __init__(self, x: torch.Tensor) -> None:
        self.x = x

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.x[i]


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


# ---- the Inception family vs torch-fidelity, one pass, cached reference ------------------------------------
def test_inception_family_equals_torch_fidelity_in_one_pass_and_reuses_cache(inception_dir: Path, stats_dir: Path) -> None:
    from torch_fidelity import calculate_metrics
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
    from torch_fidelity.utils import create_feature_extractor

    ds, fake = tiny_dataset(8), fakes(20)  # grayscale on purpose: repeated to RGB on the way in
    ctx = EvalContext(ds, sample_images=fake, weights_dir=str(inception_dir))
    before = F.PASSES["inception-v3-compat"]
    out = evaluate(ctx, INCEPTION_FAMILY)
    assert F.PASSES["inception-v3-compat"] - before == 20 + 8  # every metric shares one pass per image
    assert not any(k.endswith(".unavailable") for k in out)
    assert (out["fid.n"], out["fid.n_real"], out["fid.ref"]) == (20, 8, "train")
    assert (out["kid.n"], out["kid.n_real"], out["is.n"]) == (20, 8, 20)

    wpath = str(inception_dir / W.TABLE["inception-v3-compat"].file)
    ref = calculate_metrics(input1=_Images(F.to_rgb(fake)), input2=_Images(F.to_rgb(ds.train.uint8())), isc=True, fid=True,
                            kid=True, prc=True, feature_extractor="inception-v3-compat", feature_extractor_weights_path=wpath,
                            kid_subset_size=8, cuda=False, cache=False, verbose=False, save_cpu_ram=True)
    assert rel(out["fid"], ref["frechet_inception_distance"]) < 1e-4
    assert rel(out["is"], ref["inception_score_mean"]) < 1e-4 and rel(out["is_std"], ref["inception_score_std"]) < 1e-4
    assert rel(out["kid"], ref["kernel_inception_distance_mean"]) < 1e-4
    assert rel(out["kid_std"], ref["kernel_inception_distance_std"]) < 1e-4
    assert out["precision"] == pytest.approx(ref["precision"], rel=1e-4)
    assert out["recall"] == pytest.approx(ref["recall"], rel=1e-4)
    assert out["fid"] > 0 and out["is"] > 1.0

    # layer FIDs: torch-fidelity's Fréchet math on the shared pass (no new pass), and those layers are
    # exactly what torch-fidelity's own extractor returns when asked for them alone
    passes = F.PASSES["inception-v3-compat"]
    f_fake = F.features(ctx, "inception-v3-compat", "samples", ctx.n_override or 500)
    f_real = F.features(ctx, "inception-v3-compat", "real_train", 8)
    assert F.PASSES["inception-v3-compat"] == passes
    for layer in ("64", "192", "768"):
        want = fid_statistics_to_metric(fid_features_to_statistics(f_fake[layer]), fid_features_to_statistics(f_real[layer]),
                                        False)["frechet_inception_distance"]
        assert rel(out[f"fid_{layer}"], want) < 1e-5, layer
    alone = create_feature_extractor("inception-v3-compat", ["64", "192"], cuda=False, feature_extractor_weights_path=wpath,
                                     verbose=False)
    with torch.no_grad():
        a64, a192 = alone(F.to_rgb(fake[:4]))
    torch.testing.assert_close(f_fake["64"][:4], a64, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(f_fake["192"][:4], a192, rtol=1e-5, atol=1e-6)

    # a second evaluation against the same real data: the reference comes from disk, zero real passes
    ctx2 = EvalContext(ds, sample_images=fakes(5, seed=7), weights_dir=str(inception_dir))
    passes = F.PASSES["inception-v3-compat"]
    out2 = evaluate(ctx2, ["fid", "fid_768", "kid", "precision", "recall"])
    assert F.PASSES["inception-v3-compat"] - passes == 5
    r1, r2 = F.reference(ctx, "inception-v3-compat", "train", 8), F.reference(ctx2, "inception-v3-compat", "train", 8)
    assert r2.from_disk and not r1.from_disk
    for layer in ("64", "192", "768", "2048"):
        assert np.array_equal(r1.mu[layer], r2.mu[layer]) and np.array_equal(r1.sigma[layer], r2.sigma[layer])
    assert torch.equal(r1.feats["2048"], r2.feats["2048"])
    f2 = F.features(ctx2, "inception-v3-compat", "samples", 500)["2048"].numpy()
    assert out2["fid"] == pytest.approx(frechet_to_features(r1.mu["2048"], r1.sigma["2048"], f2)[0], rel=1e-12)
    assert len(list(stats_dir.glob("tiny-train-inception-v3-compat-*-n8-tf1-bilinear-299-*.pt"))) == 4


# ---- the FID family on reconstructions (AVAE-S Table III) vs torch-fidelity on (recons, originals) ---------------
@pytest.mark.slow
def test_fid_recon_family_equals_torch_fidelity_on_reconstructions(inception_dir: Path, stats_dir: Path) -> None:
    """``fid_recon`` / ``fid_64_recon``: reconstructions of the held-out split against that split's own images
    (recorded as ``.ref`` / ``.split`` / ``.path``), equal to torch-fidelity's FID of the same two image sets.
    20 Inception passes at 299 px: 47 s measured on the shared 2-core machine at load ~6-10 (slow)."""
    from torch_fidelity import calculate_metrics
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    g = torch.Generator().manual_seed(11)
    data = torch.randint(0, 256, (9, 1, 16, 16), generator=g, dtype=torch.uint8)
    ds = Dataset(DataSpec("tinyr", "image", (1, 16, 16)), {"train": Split(data[:4]), "test": Split(data[4:])})

    def recon_fn(x: torch.Tensor) -> torch.Tensor:  # a blurring "model" in [-1, 1]
        return torch.nn.functional.avg_pool2d(x, 3, 1, 1)

    ctx = EvalContext(ds, recon_fn=recon_fn, weights_dir=str(inception_dir))
    out = evaluate(ctx, ["fid_recon", "fid_64_recon", "fid"])
    assert "fid" not in out and "fid.unavailable" not in out  # no samples: the sample FID does not apply
    assert (out["fid_recon.n"], out["fid_recon.n_real"], out["fid_recon.ref"]) == (5, 5, "test")
    assert (out["fid_64_recon.split"], out["fid_recon.path"]) == ("test", "torch.nn.functional.avg_pool2d(x, 3, 1, 1)")
    originals, recons = ctx.reconstructions(5)
    assert torch.equal(originals, ds.test.uint8())
    wpath = str(inception_dir / W.TABLE["inception-v3-compat"].file)
    ref = calculate_metrics(input1=_Images(F.to_rgb(recons)), input2=_Images(F.to_rgb(originals)), fid=True,
                            feature_extractor="inception-v3-compat", feature_extractor_weights_path=wpath, cuda=False,
                            cache=False, verbose=False)
    assert rel(out["fid_recon"], ref["frechet_inception_distance"]) < 1e-4
    f_rec = F.features(ctx, "inception-v3-compat", "recon_test", 5)["64"]
    f_org = F.features(ctx, "inception-v3-compat", "real_test", 5)["64"]
    want = fid_statistics_to_metric(fid_features_to_statistics(f_rec), fid_features_to_statistics(f_org), False)
    assert rel(out["fid_64_recon"], want["frechet_inception_distance"]) < 1e-5


# ---- FID16 and FRD vs torchvision run independently ----------------------------------------------------------
def test_fid_tv16_and_frd_equal_torchvision_features(torchvision_dir: Path, stats_dir: Path) -> None:
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x as resize

    ds, fake = tiny_dataset(4, channels=3, seed=4), fakes(4, channels=3, seed=5)
    ctx = EvalContext(ds, sample_images=fake, weights_dir=str(torchvision_dir))
    out = evaluate(ctx, ["fid_tv16", "frd"])
    assert (out["fid_tv16.n"], out["fid_tv16.n_real"], out["frd.ref"]) == (4, 4, "train")

    norm = torchvision.transforms.functional.normalize
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    inc = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=True)
    inc.load_state_dict(torch.load(torchvision_dir / W.TABLE["inception-v3-tv"].file, weights_only=True))
    inc.fc = nn.Identity()
    res = torchvision.models.resnet50(weights=None)
    res.load_state_dict(torch.load(torchvision_dir / W.TABLE["resnet50"].file, weights_only=True))
    res.fc = nn.Identity()
    for name, net, size, key in (("fid_tv16", inc, 299, "inception-v3-tv"), ("frd", res, 224, "resnet50-tv")):
        net.eval()
        # FID16 pools like TF 'SAME' (issue 16): torchvision's Inception with its avg_pool2d computed directly
        tf_pool = mock.patch("torchvision.models.inception.F.avg_pool2d", direct_pool) if name == "fid_tv16" \
            else contextlib.nullcontext()
        with torch.no_grad(), tf_pool:  # torchvision's ImageNet recipe (transform_input for Inception), same resize
            ff = net(norm(resize(fake.float(), size=(size, size), align_corners=False) / 255, mean, std)).numpy()
        ours = F.features(ctx, key, "samples", 500)["2048"].numpy()
        np.testing.assert_allclose(ours, ff, rtol=1e-4, atol=1e-5 * np.abs(ff).max())
        ref = F.reference(ctx, key, "train", 4)
        assert rel(out[name], frechet_to_features(ref.mu["2048"], ref.sigma["2048"], ff)[0]) < 1e-4, name
        assert out[name] > 0


def test_bf16_extractor_precision_is_autocast_and_keyed_apart(torchvision_dir: Path, stats_dir: Path) -> None:
    """``extractor_precision="bf16"`` equals torchvision's ResNet-50 run by hand under torch.autocast(bfloat16);
    it moves the features (so FRD) only by bf16 rounding, and its reference statistics are cached apart from
    the fp32 ones (a bf16 statistic is never reused for an fp32 evaluation)."""
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x as resize

    ds, fake = tiny_dataset(6, channels=3, seed=6), fakes(6, channels=3, seed=7)
    ctx32 = EvalContext(ds, sample_images=fake, weights_dir=str(torchvision_dir))
    ctx16 = EvalContext(ds, sample_images=fake, weights_dir=str(torchvision_dir), extractor_precision="bf16")
    frd32, frd16 = evaluate(ctx32, ["frd"])["frd"], evaluate(ctx16, ["frd"])["frd"]
    assert len(list(stats_dir.glob("*resnet50*.pt"))) == 2  # one cached statistic per precision

    res = torchvision.models.resnet50(weights=None)
    res.load_state_dict(torch.load(torchvision_dir / W.TABLE["resnet50"].file, weights_only=True))
    res.fc = nn.Identity()
    res.eval()
    norm = torchvision.transforms.functional.normalize
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        x = norm(resize(fake.float(), size=(224, 224), align_corners=False) / 255, (0.485, 0.456, 0.406),
                 (0.229, 0.224, 0.225))
        ff16 = res(x).float().numpy()
    ours16 = F.features(ctx16, "resnet50-tv", "samples", 500)["2048"].numpy()
    ours32 = F.features(ctx32, "resnet50-tv", "samples", 500)["2048"].numpy()
    # bf16 keeps 8 significant bits: everything within 2 ulps (2^-6 relative; half the values are identical)
    np.testing.assert_allclose(ours16, ff16, rtol=2**-6, atol=2**-6 * np.abs(ff16).max())
    assert not np.array_equal(ours16, ours32)  # bf16 really ran
    assert np.abs(ours16 - ours32).max() < 0.05 * np.abs(ours32).max()  # ... and only rounds
    assert frd16 != frd32 and rel(frd16, frd32) < 0.2


# ---- clean-fid: its own folder pipeline on PNG files vs ours on tensors -----------------------------------
def test_fid_clean_equals_clean_fid_folder_pipeline(cleanfid_dir: Path, stats_dir: Path, tmp_path: Path) -> None:
    from cleanfid.fid import get_folder_features
    from cleanfid.inception_torchscript import InceptionV3W

    ds, fake = tiny_dataset(6, seed=8), fakes(6, seed=9)  # grayscale PNGs: clean-fid converts them to RGB itself
    folders = {}
    for name, x in (("fake", fake), ("real", ds.train.uint8())):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        for i, img in enumerate(x):
            Image.fromarray(img[0].numpy(), mode="L").save(folders[name] / f"{i:03d}.png")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model = InceptionV3W(str(cleanfid_dir), download=False)
        ff, fr = (get_folder_features(str(folders[k]), model, num_workers=0, batch_size=8, device=torch.device("cpu"),
                                      mode="clean", verbose=False) for k in ("fake", "real"))
        ctx = EvalContext(ds, sample_images=fake, weights_dir=str(cleanfid_dir))
        out = evaluate(ctx, ["fid_clean"])
    ours = F.features(ctx, "clean-fid-inception", "samples", 500)["2048"].numpy()
    np.testing.assert_allclose(ours, ff, rtol=1e-5, atol=1e-6)
    assert rel(out["fid_clean"], frechet_to_features(*moments(fr), ff)[0]) < 1e-5  # float32 features differ ~1e-7
    assert (out["fid_clean.n"], out["fid_clean.n_real"]) == (6, 6)


def test_reference_cache_is_keyed_and_never_trusts_a_bad_file(cleanfid_dir: Path, stats_dir: Path) -> None:
    """Valid file → loaded with no pass; corrupted file → recomputed; other images or n → another file."""
    ds = tiny_dataset(6, seed=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        new = lambda d=ds: EvalContext(d, weights_dir=str(cleanfid_dir))  # noqa: E731
        p0 = F.PASSES["clean-fid-inception"]
        r1 = F.reference(new(), "clean-fid-inception", "train", 6)
        assert F.PASSES["clean-fid-inception"] - p0 == 6 and not r1.from_disk
        (path,) = stats_dir.glob("*.pt")
        r2 = F.reference(new(), "clean-fid-inception", "train", 6)
        assert r2.from_disk and F.PASSES["clean-fid-inception"] - p0 == 6
        np.testing.assert_array_equal(r1.sigma["2048"], r2.sigma["2048"])
        path.write_bytes(b"truncated")
        r3 = F.reference(new(), "clean-fid-inception", "train", 6)
        assert not r3.from_disk and F.PASSES["clean-fid-inception"] - p0 == 12
        np.testing.assert_array_equal(r1.mu["2048"], r3.mu["2048"])
        F.reference(new(tiny_dataset(6, seed=99)), "clean-fid-inception", "train", 6)  # other images, same name
        F.reference(new(), "clean-fid-inception", "train", 4)
        assert len(list(stats_dir.glob("*.pt"))) == 3 and F.PASSES["clean-fid-inception"] - p0 == 22


# ---- DINOv2: torch-fidelity's extractor vs ours (offline loading) --------------------------------------------
def test_fd_dinov2_equals_torch_fidelity_dinov2_extractor(dinov2_dir: Path, stats_dir: Path) -> None:
    from torch_fidelity.feature_extractor_dinov2 import FeatureExtractorDinoV2

    ds, fake = tiny_dataset(6, channels=3, size=20, seed=10), fakes(6, channels=3, size=20, seed=11)
    ctx = EvalContext(ds, sample_images=fake, weights_dir=str(dinov2_dir))
    out = evaluate(ctx, ["fd_dinov2"])
    repo = dinov2_dir / W.TABLE["dinov2-repo"].file
    tiny = torch.hub.load(str(repo), "dinov2_vitl14", source="local")
    tiny.load_state_dict(torch.load(dinov2_dir / W.TABLE["dinov2-vitl14"].file, weights_only=True))
    with mock.patch.object(torch.hub, "load", lambda *a, **k: tiny):
        tf = FeatureExtractorDinoV2("dinov2-vit-l-14", ["dinov2"])
    with torch.no_grad():
        (ff,), (fr,) = tf(fake), tf(ds.train.uint8())
    ours = F.features(ctx, "dinov2-vit-l-14-local", "samples", 500)["dinov2"]
    torch.testing.assert_close(ours, ff, rtol=1e-5, atol=1e-6)
    want = frechet_distance(*moments(ff.numpy()), *moments(fr.numpy()))  # independent: the d × d scipy route
    assert rel(out["fd_dinov2"], want) < 1e-6 and out["fd_dinov2.n_real"] == 6


# ---- missing weights: unavailable with the one-line reason, never a number, nothing drawn ------------------
def test_missing_weights_are_unavailable_with_the_fetch_command(tmp_path: Path, stats_dir: Path) -> None:
    drawn = []

    def sample_fn(n: int) -> torch.Tensor:
        drawn.append(n)
        return torch.zeros(n, 1, 16, 16)

    ctx = EvalContext(tiny_dataset(12), sample_fn=sample_fn, weights_dir=str(tmp_path / "empty"))
    out = evaluate(ctx, ALL_A)
    for name in ALL_A:
        assert name not in out and f"{name}.n" not in out
        reason = out[f"{name}.unavailable"]
        assert "\n" not in reason and reason.startswith("missing weights file ")
        assert reason.endswith(f"; fetch with: python -m bench weights --weights-dir {tmp_path / 'empty'}")
    assert W.TABLE["inception-v3-compat"].file in out["fid.unavailable"]
    assert W.TABLE["resnet50"].file in out["frd.unavailable"]
    assert drawn == [] and not stats_dir.exists()


# ---- grayscale: repeated to RGB exactly as PIL convert('RGB') in the libraries' loaders ----------------------
def test_grayscale_is_converted_like_the_libraries_loaders(tmp_path: Path) -> None:
    from torch_fidelity.datasets import ImagesPathDataset, TransformPILtoRGBTensor

    x = fakes(3, channels=1, size=9)
    paths = []
    for i, img in enumerate(x):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(img[0].numpy(), mode="L").save(paths[-1])
    loaded = torch.stack([ImagesPathDataset(paths, TransformPILtoRGBTensor())[i] for i in range(3)])
    assert torch.equal(F.to_rgb(x), loaded)
    assert torch.equal(F.to_rgb(loaded), loaded)
    with pytest.raises(ValueError):
        F.to_rgb(torch.zeros(1, 2, 4, 4, dtype=torch.uint8))


# ---- the Fréchet distance itself -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gaussians() -> Iterator[tuple[np.ndarray, ...]]:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 48)) @ rng.normal(size=(48, 48))
    b = rng.normal(size=(30, 48)) @ rng.normal(size=(48, 48)) + 0.5
    yield a, b


def test_frechet_equals_clean_fid_torch_fidelity_and_closed_forms(gaussians: tuple[np.ndarray, ...]) -> None:
    from cleanfid.fid import frechet_distance as cf_fd
    from torch_fidelity.metric_fid import fid_statistics_to_metric

    a, b = gaussians
    (m1, s1), (m2, s2) = moments(a), moments(b)
    ours = frechet_distance(m1, s1, m2, s2)
    assert rel(ours, float(cf_fd(m1, s1, m2, s2))) < 1e-6
    tf = fid_statistics_to_metric({"mu": m1, "sigma": s1}, {"mu": m2, "sigma": s2}, False)["frechet_inception_distance"]
    assert rel(ours, tf) < 1e-6
    # commuting (diagonal) covariances: Tr((Σ1Σ2)^½) = Σ √(a_i b_i)
    va, vb = np.linspace(0.5, 3.0, 48), np.linspace(2.0, 0.1, 48)
    closed = float(np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(va) - np.sqrt(vb)) ** 2))
    assert rel(frechet_distance(m1, np.diag(va), m2, np.diag(vb)), closed) < 1e-6
    # 1-D Gaussians: (μ1 − μ2)² + (σ1 − σ2)²
    assert rel(frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-0.5]), np.array([[0.25]])),
               1.5 ** 2 + 1.5 ** 2) < 1e-12
    # identical statistics → 0
    assert abs(frechet_distance(m1, s1, m1, s1)) < 1e-6 * np.trace(s1)


def test_low_rank_route_equals_the_full_route(gaussians: tuple[np.ndarray, ...]) -> None:
    """n ≤ d uses the n × n eigenproblem; it equals scipy's sqrtm route (and clean-fid's) on the same moments."""
    from cleanfid.fid import frechet_distance as cf_fd

    a, b = gaussians
    m1, s1 = moments(a)
    for feats in (b, b[:5], a[:48]):  # n = 30 < d, n = 5 (rank 4), n = d
        value, n = frechet_to_features(m1, s1, feats)
        full = frechet_distance(m1, s1, *moments(feats))
        assert n == len(feats) and rel(value, full) < 1e-6 and rel(value, float(cf_fd(m1, s1, *moments(feats)))) < 1e-6
    value, n = frechet_to_features(m1, s1, a)  # n > d: the direct route
    assert n == 200 and abs(value) < 1e-6 * np.trace(s1)
