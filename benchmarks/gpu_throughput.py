"""GPU training throughput of every model family (issue #7): precision/layout/compile variants, packed runs,
FLOPs per iteration and fraction of peak. Runs unchanged on any CUDA node (and on the CPU for a smoke run)::

    python -m benchmarks.gpu_throughput                      # every registered model, paper width 128, batch 64, 32 px
    python -m benchmarks.gpu_throughput --models vae,dcgan --steps 200 --k 1,2,4,8
    python -m benchmarks.gpu_throughput --device cpu --width 8 --steps 3 --k 1,2 --out /tmp/smoke   # smoke run

For each model: ``fp32`` (the default path), ``bf16+cl`` (bf16 autocast + channels_last) and
``bf16+cl+compile`` (+ ``torch.compile`` of each network), each with the training split (CIFAR-size random
uint8 images, 50k × 3 × 32 × 32) kept on the device (``data_on_device``). The options are applied by
:class:`bench.trainer.Trainer` itself, and the timed loop is the trainer's inner loop (``trainer.autocast()``
around ``model.train_step(trainer.stream, step)``), after ``--warmup`` iterations (compile time is recorded
apart). FLOPs per iteration are counted once (``torch.utils.flop_counter``, fp32) and divided by the iteration
time for achieved TFLOP/s; the fraction of peak uses :data:`PEAK_TFLOPS` for the device (dense, no sparsity) or
``--peak-tflops``. Packing: ``k`` separate processes each train the same model on the same GPU at once
(``runs_per_job`` = k seeds in one job); they synchronise on a file barrier after warm-up, and the aggregate
throughput is k × steps / (last end − first start). Writes ``results/perf/gpu_throughput-<device>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from bench.data.base import DataSpec, Split
from benchmarks.meta import header, save, sync

# Dense peak TFLOP/s by (device-name substring, precision): vendor data sheets (H100/H200 SXM5, A100 SXM4).
# fp32 = FP32 CUDA cores (cuDNN convolutions use TF32 tensor cores by default: tf32 column).
PEAK_TFLOPS: dict[str, dict[str, float]] = {
    "H200": {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4},
    "H100": {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4},  # SXM5; PCIe: 51 / 378 / 756
    "A100": {"fp32": 19.5, "tf32": 156.0, "bf16": 312.0},
}
VARIANTS: dict[str, dict[str, Any]] = {
    "fp32": {"precision": "fp32", "channels_last": False, "compile": False},
    "bf16+cl": {"precision": "bf16", "channels_last": True, "compile": False},
    "bf16+cl+compile": {"precision": "bf16", "channels_last": True, "compile": True},
}


def peak_for(device: torch.device) -> dict[str, float] | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, peaks in PEAK_TFLOPS.items():
        if key in name:
            return peaks
    return None


def cifar_like(n: int = 50_000, res: int = 32, seed: int = 0) -> tuple[DataSpec, Split]:
    """A CIFAR-size uint8 training split of random images (timing does not depend on pixel values)."""
    g = torch.Generator().manual_seed(seed)
    data = torch.randint(0, 256, (n, 3, res, res), generator=g, dtype=torch.uint8)
    return DataSpec("cifar10", "image", (3, res, res)), Split(data)


def build_trainer(name: str, device: torch.device, width: int, batch: int, variant: dict[str, Any], res: int,
                  seed: int = 0, n_data: int = 50_000, data: tuple[DataSpec, Split] | None = None) -> Any:
    """A :class:`bench.trainer.Trainer` for model ``name`` with the variant's options and the data on the device
    (``data``: a dataset's (spec, train split), else CIFAR-size random images)."""
    from bench import config as cfgmod
    from bench.registries import models
    from bench.trainer import Trainer
    from benchmarks.common import bench_overrides

    spec, split = data if data is not None else cifar_like(n_data, res, seed)
    cls = models().get(name)
    cfg = cls.Config()
    cfg = cfgmod.override(cfg, cls.dataset_defaults(spec))
    over = {k: v for k, v in bench_overrides(cfg).items() if k not in ("width", "batch_size", "latent_dim")}
    cfg = cfgmod.override(cfg, {**over, "width": width, "batch_size": batch, "steps": 10**9})
    torch.manual_seed(seed)
    model = cls(cfg, spec).to(device)
    run_dir = Path(tempfile.mkdtemp(prefix="perf-gpu-"))
    trainer = Trainer(model, split, run_dir, seed=seed, steps=10**9, device=device, progress=False,
                      data_on_device=True, **variant)
    model.optimizers = model.configure_optimizers()
    torch.manual_seed(seed)
    return trainer


def timed_loop(trainer: Any, device: torch.device, warmup: int, steps: int, barrier: tuple[Path, int] | None = None
               ) -> dict[str, float]:
    """Warm up (compile happens here), optionally wait on a file barrier, then time ``steps`` iterations."""
    model = trainer.model
    t0 = time.perf_counter()
    step = 0
    for _ in range(warmup):
        with trainer.autocast():
            model.train_step(trainer.stream, step)
        step += 1
    sync(device)
    warm_s = time.perf_counter() - t0
    if barrier is not None:
        folder, k = barrier
        (folder / f"ready-{os.getpid()}").touch()
        while len(list(folder.glob("ready-*"))) < k:
            time.sleep(0.01)
    start = time.time()
    t0 = time.perf_counter()
    for _ in range(steps):
        with trainer.autocast():
            out = model.train_step(trainer.stream, step)
        step += 1
    sync(device)
    dt = time.perf_counter() - t0
    finite = all(torch.isfinite(v.float()).all().item() for v in out.values())
    return {"warmup_s": warm_s, "seconds": dt, "ms_per_iteration": 1000 * dt / steps, "it_per_s": steps / dt,
            "start": start, "end": start + dt, "finite": bool(finite)}


def step_flops(trainer: Any) -> int:
    from benchmarks.flops import count_step_flops

    return count_step_flops(trainer.model, trainer.stream, 10**6)


def worker(args: argparse.Namespace) -> int:
    """One packed process: train and print its timing as one JSON line."""
    device = torch.device(args.device)
    trainer = build_trainer(args.worker, device, args.width, args.batch, VARIANTS[args.variant], args.res, seed=args.seed,
                            n_data=args.n_data)
    res = timed_loop(trainer, device, args.warmup, args.steps, barrier=(Path(args.barrier), int(args.k)))
    print("RESULT " + json.dumps(res), flush=True)
    return 0


def packed(name: str, k: int, args: argparse.Namespace, variant: str) -> dict[str, Any]:
    """k processes training ``name`` at once on the device; aggregate iterations per second."""
    with tempfile.TemporaryDirectory(prefix="perf-barrier-") as barrier:
        cmd = [sys.executable, "-m", "benchmarks.gpu_throughput", "--worker", name, "--variant", variant, "--device",
               args.device, "--width", str(args.width), "--batch", str(args.batch), "--res", str(args.res),
               "--steps", str(args.steps), "--warmup", str(args.warmup), "--barrier", barrier, "--k", str(k),
               "--n-data", str(args.n_data)]
        procs = [subprocess.Popen([*cmd, "--seed", str(i)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  cwd=Path(__file__).resolve().parents[1]) for i in range(k)]
        results = []
        for p in procs:
            out, err = p.communicate()
            lines = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
            if p.returncode != 0 or not lines:
                return {"k": k, "error": (err.strip().splitlines() or ["no output"])[-1]}
            results.append(json.loads(lines[-1][len("RESULT "):]))
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    return {"k": k, "aggregate_it_per_s": k * args.steps / wall, "per_run_it_per_s": [r["it_per_s"] for r in results],
            "wall_s": wall}


def main(argv: list[str] | None = None) -> int:
    from bench.registries import models

    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu_throughput", description=__doc__.splitlines()[0])
    p.add_argument("--models", default=None, help="comma-separated (default: every registered model)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--res", type=int, default=32)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--k", default="1,2,4,8", help="packed processes per GPU")
    p.add_argument("--pack-models", default="vae,dcgan,avae", help="models timed packed (k > 1)")
    p.add_argument("--pack-variant", default="fp32", choices=list(VARIANTS))
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--n-data", type=int, default=50_000)
    p.add_argument("--peak-tflops", type=float, default=None, help="override the device's peak (per precision: same)")
    p.add_argument("--out", default=None)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--variant", default="fp32", help=argparse.SUPPRESS)
    p.add_argument("--barrier", default=None, help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("error: no CUDA device (use --device cpu for a smoke run)", file=sys.stderr)
        return 2
    torch.backends.cudnn.benchmark = True
    names = args.models.split(",") if args.models else models().names()
    peaks = peak_for(device)
    if args.peak_tflops:
        peaks = {"fp32": args.peak_tflops, "tf32": args.peak_tflops, "bf16": args.peak_tflops}
    rec: dict[str, Any] = {**header(device), "width": args.width, "batch": args.batch, "res": args.res,
                           "steps": args.steps, "warmup": args.warmup, "peak_tflops": peaks, "models": {}, "packed": {}}
    for name in names:
        row: dict[str, Any] = {}
        for vname in args.variants.split(","):
            try:
                trainer = build_trainer(name, device, args.width, args.batch, VARIANTS[vname], args.res, n_data=args.n_data)
                r = timed_loop(trainer, device, args.warmup, args.steps)
                if vname == "fp32":
                    row["flops_per_iteration"] = step_flops(trainer)
                if "flops_per_iteration" in row:
                    tflops = row["flops_per_iteration"] / (r["ms_per_iteration"] / 1000) / 1e12
                    r["achieved_tflops"] = tflops
                    if peaks:
                        key = "bf16" if VARIANTS[vname]["precision"] == "bf16" else "tf32"
                        r["fraction_of_peak"] = tflops / peaks[key]
                        r["peak_used"] = key
                row[vname] = {k: v for k, v in r.items() if k not in ("start", "end")}
                print(f"{name} {vname}: {r['ms_per_iteration']:.2f} ms/it", flush=True)
            except Exception as err:  # e.g. torch.compile cannot do double backward (WGAN-GP's penalty)
                row[vname] = {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"}
                print(f"{name} {vname}: {row[vname]['error']}", flush=True)
            if device.type == "cuda":
                torch.cuda.empty_cache()
        rec["models"][name] = row
    for name in [m for m in args.pack_models.split(",") if m in names]:
        rec["packed"][name] = [packed(name, int(k), args, args.pack_variant) for k in args.k.split(",")]
        print(name, "packed:", [round(r.get("aggregate_it_per_s", float("nan")), 1) for r in rec["packed"][name]], flush=True)
    slug = re.sub(r"[^a-z0-9]+", "-", rec["device"].split(",")[0].lower()).strip("-")
    path = save(f"gpu_throughput-{slug}", rec, Path(args.out) if args.out else None)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
