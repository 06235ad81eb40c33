"""Side-by-side: the suite's Inception-family battery against what a user would otherwise run (issue #7).

One process, the same images (``--n`` generator samples and ``--n`` real images, 32 px), the same random-initialised
weights under the upstream file names (:mod:`benchmarks.random_weights`; values are meaningless, times are not):

- **suite**: ``metrics.base.evaluate`` of fid, fid_64, fid_192, fid_768, is, kid, precision, recall, fid_clean,
  fid_tv16 and frd — one pass per (image set, extractor), real statistics cached on disk;
- **baseline**: torch-fidelity's ``calculate_metrics`` (fid, isc, kid, prc on ``inception-v3-compat``), one
  torch-fidelity call per extra FID layer (64, 192, 768), clean-fid's ``compute_fid`` (generator images streamed
  through ``gen=``, real images read from a PNG folder as clean-fid does), and a torchvision-based FID16 and FRD
  (torchvision Inception-v3 / ResNet-50, ``F.interpolate`` resize, scipy Fréchet distance via clean-fid).

Two settings, each timed with the extractor networks loaded inside the timing (a fresh evaluation process):
``cold`` (nothing cached: both sides compute the real statistics) and ``warm`` (real statistics cached: the
suite's on-disk reference cache; torch-fidelity's own ``input2_cache_name`` cache; precomputed real moments for
clean-fid and the torchvision scripts — what a careful user would do). ``--bf16`` adds the suite's battery with
the extractors under ``torch.autocast(bfloat16)`` and reports its effect on every value (the suite default is
fp32, the precision torch-fidelity and clean-fid use).

Agreement (relative difference suite vs libraries on the same weights) is recorded beside the times, so the
two sides are shown to compute the same numbers. Writes ``results/perf/compare_eval-<device>.json``::

    python -m benchmarks.compare_eval --n 64 [--device cuda] [--bf16]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch import Tensor, nn

from bench.data.base import Dataset, DataSpec, Split
from benchmarks.meta import header, save, sync
from benchmarks.random_weights import write_random_weights
from metrics import features as FE
from metrics import weights as W
from metrics.base import EvalContext, evaluate

BATTERY = ["fid", "fid_64", "fid_192", "fid_768", "is", "kid", "precision", "recall", "fid_clean", "fid_tv16", "frd"]
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
RANDOM_WEIGHTS_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hybrid-bench" / "random-weights-timing"


def timing_weights_dir() -> Path:
    """Random-initialised battery weights for timing (never the real weights directory)."""
    return write_random_weights(RANDOM_WEIGHTS_DIR)


class _Images(torch.utils.data.Dataset):
    """uint8 (N, 3, H, W) tensors as a torch Dataset (torch-fidelity's input type)."""

    def __init__(self, x: Tensor) -> None:
        self.x = x

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> Tensor:
        return self.x[i]


def image_sets(n: int, seed: int = 0) -> tuple[Tensor, Dataset]:
    """``n`` samples of a (random-initialised) fair DCGAN generator and ``n`` real ``shapes`` images, 32 px RGB."""
    from bench.data import load
    from models.dcgan import DCGAN

    shapes = load("shapes")
    real = shapes.train.subset(n, seed=seed).uint8()
    torch.manual_seed(seed)
    gen = DCGAN(DCGAN.Config(width=16, latent_dim=64), shapes.spec).eval()
    with torch.no_grad():
        from bench.data.base import to_uint8

        fakes = torch.cat([to_uint8(gen.sample(min(64, n - s))) for s in range(0, n, 64)])
    ds = Dataset(DataSpec("perf-shapes", "image", tuple(real.shape[1:])), {"train": Split(real), "test": Split(real[:8])})
    return fakes, ds


@contextmanager
def stats_env(path: Path) -> Iterator[None]:
    old = os.environ.get(FE.ENV_STATS)
    os.environ[FE.ENV_STATS] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(FE.ENV_STATS, None)
        else:
            os.environ[FE.ENV_STATS] = old


def suite(fakes: Tensor, ds: Dataset, wdir: Path, stats: Path, device: str, bf16: bool = False) -> tuple[dict, float]:
    """The suite's battery in one ``evaluate`` call, extractors loaded inside the timing; (values, seconds)."""
    FE._LOADED.clear()  # a fresh evaluation process loads its networks
    ctx = EvalContext(ds, sample_images=fakes, weights_dir=str(wdir), device=torch.device(device), n_override=len(fakes),
                      extractor_precision="bf16" if bf16 else "fp32")  # the suite's flag (bench evaluate --eval-precision)
    with stats_env(stats):
        sync(device)
        t0 = time.perf_counter()
        out = evaluate(ctx, BATTERY)
        sync(device)
        dt = time.perf_counter() - t0
    bad = [k for k in out if k.endswith(".unavailable")]
    if bad:
        raise RuntimeError(f"suite metrics unavailable: {bad}: {out[bad[0]]}")
    return {k: float(v) for k, v in out.items() if "." not in k}, dt


# ---- the baseline: what a user runs with the libraries directly ----------------------------------------------
def _tv_features(net: nn.Module, x: Tensor, size: int, device: str, bs: int = 64) -> np.ndarray:
    """A user's torchvision feature script: [0, 1], bilinear resize, ImageNet normalisation, forward."""
    out = []
    with torch.no_grad():
        for b in x.split(bs):
            b = F.interpolate(b.to(device).float() / 255.0, size=(size, size), mode="bilinear", align_corners=False)
            b = torchvision.transforms.functional.normalize(b, IMAGENET_MEAN, IMAGENET_STD)
            out.append(net(b).float().cpu())
    return torch.cat(out).numpy().astype(np.float64)


def _tv_nets(wdir: Path, device: str) -> dict[str, tuple[nn.Module, int]]:
    inc = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=True)
    inc.load_state_dict(torch.load(wdir / W.TABLE["inception-v3-tv"].file, weights_only=True))
    inc.fc = nn.Identity()
    # IDVAE's FID16 used TF's 2016 graph, whose 'SAME' average pools exclude the padding; the suite's fid_tv16
    # does the same, so the baseline must too (the hook is the suite's one definition of TF pooling).
    from metrics.extractors import tf_same_average_pools

    tf_same_average_pools(inc)
    res = torchvision.models.resnet50(weights=None)
    res.load_state_dict(torch.load(wdir / W.TABLE["resnet50"].file, weights_only=True))
    res.fc = nn.Identity()
    return {"fid_tv16": (inc.to(device).eval(), 299), "frd": (res.to(device).eval(), 224)}


def _moments(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return f.mean(axis=0), np.cov(f, rowvar=False)


def baseline(fakes: Tensor, real: Tensor, wdir: Path, png_dir: Path, device: str,
             warm: dict[str, Any] | None, full: bool = True) -> tuple[dict, float]:
    """The libraries called separately on the same images; ``warm`` holds real-side caches (None: cold).
    ``full=False`` (smoke runs): torch-fidelity only, without the 2048-d FID (whose ``sqrtm`` takes most of a
    minute on one CPU core): is, kid, precision, recall and the 64 / 192 / 768-d layer FIDs."""
    from cleanfid.fid import compute_fid, frechet_distance, get_model_features
    from cleanfid.inception_torchscript import InceptionV3W
    from torch_fidelity import calculate_metrics

    n, cuda = len(fakes), torch.device(device).type == "cuda"
    wpath = str(wdir / W.TABLE["inception-v3-compat"].file)
    tf_common: dict[str, Any] = dict(input1=_Images(fakes), input2=_Images(real), feature_extractor="inception-v3-compat",
                                     feature_extractor_weights_path=wpath, cuda=cuda, verbose=False, batch_size=64)
    if warm is not None:
        tf_common.update(cache=True, cache_root=str(warm["tf_cache"]), input2_cache_name="perf-real")
    else:
        tf_common.update(cache=False)
    vals: dict[str, float] = {}
    sync(device)
    t0 = time.perf_counter()
    r = calculate_metrics(isc=True, fid=full, kid=True, prc=True, kid_subset_size=min(1000, n), **tf_common)
    vals.update(is_=r["inception_score_mean"], kid=r["kernel_inception_distance_mean"], precision=r["precision"],
                recall=r["recall"])
    if full:
        vals["fid"] = r["frechet_inception_distance"]
    for layer in ("64", "192", "768"):
        r = calculate_metrics(fid=True, feature_layer_fid=layer, **tf_common)
        vals[f"fid_{layer}"] = r["frechet_inception_distance"]
    if not full:
        sync(device)
        vals["is"] = vals.pop("is_")
        return vals, time.perf_counter() - t0
    # clean-fid: generator images streamed through gen=, real images from their PNG folder
    model = InceptionV3W(str(wdir), download=False, resize_inside=False).to(device)
    bs = 32 if n % 32 == 0 else n
    batches = iter(fakes.split(bs))

    def gen(z: Tensor) -> Tensor:  # clean-fid's generator contract: z → images in [0, 255]
        return next(batches).to(device).float()

    if warm is None:
        vals["fid_clean"] = float(compute_fid(gen=gen, fdir2=str(png_dir), mode="clean", custom_feat_extractor=model,
                                              device=torch.device(device), num_workers=0, batch_size=bs, num_gen=n, z_dim=1,
                                              verbose=False))
    else:
        ff = get_model_features(gen, model, mode="clean", z_dim=1, num_gen=n, batch_size=bs, device=torch.device(device),
                                verbose=False)
        vals["fid_clean"] = float(frechet_distance(*_moments(ff), *warm["clean"]))
    nets = _tv_nets(wdir, device)
    for name, (net, size) in nets.items():
        ff = _tv_features(net, fakes, size, device)
        ref = warm[name] if warm is not None else _moments(_tv_features(net, real, size, device))
        vals[name] = float(frechet_distance(*_moments(ff), *ref))
    sync(device)
    dt = time.perf_counter() - t0
    vals["is"] = vals.pop("is_")
    return vals, dt


def prepare_warm(real: Tensor, wdir: Path, png_dir: Path, device: str, tmp: Path, fakes: Tensor) -> dict[str, Any]:
    """Real-side caches of the baseline (untimed): torch-fidelity's input2 cache, clean-fid and torchvision moments."""
    from cleanfid.fid import get_folder_features
    from cleanfid.inception_torchscript import InceptionV3W

    tf_cache = tmp / "tf-cache"
    baseline_warmup = {"tf_cache": tf_cache}
    # one cold-cache run fills torch-fidelity's cache for every layer's call
    from torch_fidelity import calculate_metrics

    wpath = str(wdir / W.TABLE["inception-v3-compat"].file)
    common = dict(input1=_Images(fakes), input2=_Images(real), feature_extractor="inception-v3-compat",
                  feature_extractor_weights_path=wpath, cuda=torch.device(device).type == "cuda", verbose=False,
                  cache=True, cache_root=str(tf_cache), input2_cache_name="perf-real")
    calculate_metrics(isc=True, fid=True, kid=True, prc=True, kid_subset_size=min(1000, len(fakes)), **common)
    for layer in ("64", "192", "768"):
        calculate_metrics(fid=True, feature_layer_fid=layer, **common)
    model = InceptionV3W(str(wdir), download=False, resize_inside=False).to(device)
    fr = get_folder_features(str(png_dir), model, num_workers=0, batch_size=32, device=torch.device(device), mode="clean",
                             verbose=False)
    baseline_warmup["clean"] = _moments(fr)
    for name, (net, size) in _tv_nets(wdir, device).items():
        baseline_warmup[name] = _moments(_tv_features(net, real, size, device))
    return baseline_warmup


def sqrtm_seconds(d: int = 2048, seed: int = 0) -> float:
    """Time of one d × d ``scipy.linalg.sqrtm`` of a covariance product (what each 2048-d FID costs at n > d)."""
    from scipy import linalg

    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(d + 16, d)), rng.normal(size=(d + 16, d))
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    t0 = time.perf_counter()
    linalg.sqrtm(s1 @ s2)
    return time.perf_counter() - t0


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


def compare(n: int, device: str, bf16: bool, repeats: int = 1, log: Callable[[str], None] = print,
            warm_baseline: bool = True, time_sqrtm: bool = True, warm_suite: bool = True,
            full_baseline: bool = True) -> dict[str, Any]:
    """Run both sides (cold and warm, ``repeats`` times each, best time kept) and return the record
    (``time_sqrtm=False`` / ``warm_suite=False``: skip the separate 2048-d ``sqrtm`` timing / the suite's warm
    run, for smoke runs; ``full_baseline=False``: the reduced baseline of :func:`baseline`)."""
    wdir = timing_weights_dir()
    fakes, ds = image_sets(n)
    real = ds.train.uint8()
    rec: dict[str, Any] = {"n_fake": n, "n_real": len(real), "image_size": list(fakes.shape[1:]), "battery": BATTERY,
                           "weights": "random-initialised, upstream architectures (benchmarks/random_weights.py)",
                           "repeats": repeats, "times_s": {}, "warnings": []}
    with tempfile.TemporaryDirectory(prefix="perf-compare-") as tmp_s, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tmp = Path(tmp_s)
        png_dir = tmp / "real_png"
        png_dir.mkdir()
        for i, img in enumerate(real):
            Image.fromarray(img.permute(1, 2, 0).numpy()).save(png_dir / f"{i:05d}.png")
        times: dict[str, list[float]] = {k: [] for k in ("suite_cold", "suite_warm", "baseline_cold", "baseline_warm")}
        for r in range(repeats):
            stats = tmp / f"stats-{r}"
            s_vals, t = suite(fakes, ds, wdir, stats, device)
            times["suite_cold"].append(t)
            log(f"suite cold: {t:.1f} s")
            if warm_suite:
                _, t = suite(fakes, ds, wdir, stats, device)
                times["suite_warm"].append(t)
                log(f"suite warm: {t:.1f} s")
            b_vals, t = baseline(fakes, real, wdir, png_dir, device, None, full=full_baseline)
            times["baseline_cold"].append(t)
            log(f"baseline cold: {t:.1f} s")
        bw_vals: dict[str, float] = {}
        if warm_baseline:
            warm = prepare_warm(real, wdir, png_dir, device, tmp, fakes)
            for _ in range(repeats):
                bw_vals, t = baseline(fakes, real, wdir, png_dir, device, warm)
                times["baseline_warm"].append(t)
                log(f"baseline warm: {t:.1f} s")
        else:
            del times["baseline_warm"]
        times = {k: v for k, v in times.items() if v}
        rec["times_s"] = {k: min(v) for k, v in times.items()}
        rec["times_all_s"] = times
        rec["ratio_cold"] = rec["times_s"]["baseline_cold"] / rec["times_s"]["suite_cold"]
        rec["values_suite"], rec["values_baseline"], rec["values_baseline_warm"] = s_vals, b_vals, bw_vals
        rec["agreement_rel"] = {k: rel(s_vals[k], b_vals[k]) for k in b_vals if k in s_vals}
        # at n <= 2048 the suite's Fréchet route is the n × n eigenproblem (metrics/frechet.py) while every library
        # call pays a 2048 × 2048 sqrtm: 4 such FIDs (fid, fid_clean, fid_tv16, frd). At n > 2048 both pay them.
        t_sqrtm = sqrtm_seconds() if time_sqrtm else 0.0
        rec["sqrtm_2048_s"] = t_sqrtm if time_sqrtm else None
        rec["baseline_2048_frechets"] = 4 if full_baseline else 0
        rec["baseline"] = "full" if full_baseline else "torch-fidelity without the 2048-d FID (smoke run)"
        rec["ratio_cold_without_frechet_route"] = (rec["times_s"]["baseline_cold"] - 4 * t_sqrtm) / rec["times_s"]["suite_cold"]
        if warm_baseline and warm_suite:
            rec["ratio_warm"] = rec["times_s"]["baseline_warm"] / rec["times_s"]["suite_warm"]
            rec["ratio_warm_without_frechet_route"] = ((rec["times_s"]["baseline_warm"] - 4 * t_sqrtm)
                                                       / rec["times_s"]["suite_warm"])
        if bf16:
            b16, t = suite(fakes, ds, wdir, tmp / "stats-bf16", device, bf16=True)
            rec["times_s"]["suite_cold_bf16"] = t
            rec["values_suite_bf16"] = b16
            rec["bf16_effect_rel"] = {k: rel(b16[k], s_vals[k]) for k in s_vals if k in b16}
            log(f"suite cold bf16: {t:.1f} s")
    return rec


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.compare_eval", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=64, help="generator samples and real images (each)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--bf16", action="store_true", help="also time the suite with bf16-autocast extractors")
    p.add_argument("--repeats", type=int, default=1, help="repeat each timing, keep the fastest")
    p.add_argument("--skip-warm-baseline", action="store_true",
                   help="time the baseline only cold (each warm baseline run still pays four 2048-d sqrtm)")
    p.add_argument("--out", default=None, help="output directory (default results/perf)")
    args = p.parse_args(argv)
    rec = {**header(args.device), **compare(args.n, args.device, args.bf16, args.repeats,
                                            warm_baseline=not args.skip_warm_baseline)}
    path = save(f"compare_eval-{torch.device(args.device).type}", rec, Path(args.out) if args.out else None)
    print(f"cold ratio {rec['ratio_cold']:.2f}x, warm ratio {rec.get('ratio_warm', float('nan')):.2f}x -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
