"""One prepared GPU check (``make gpu-check``): every model and metric on CUDA, and what the paper sweeps will cost.

    python -m benchmarks.gpu_check [--out DIR]              # on a GPU node: ≤ 6 minutes on one H100/H200-class GPU
    python -m benchmarks.gpu_check --device cpu --tiny      # every part at toy sizes (CI smoke run, one thread)

On a lent GPU machine whose results come back only from an output folder: ``make gpu-wheels`` here first, then
run ``make gpu-check GPU_CHECK_OUT=$OUT/perf`` there with ``.gpu-wheels`` carried along, copy the returned
``gpu_check-*.json`` into ``results/perf/`` and re-render with ``python -m bench perf report``.

Parts (one JSON each in ``--out``, default ``results/perf/``; each records the device, driver, torch / CUDA
versions, the libraries' versions and the command):

1. ``train``: every registered model trains on ``shapes`` at the ``fair`` protocol's full width (w = 128, batch 64,
   32 px; :func:`benchmarks.gpu_throughput.build_trainer`, so the timed loop is the trainer's own) for 100 timed
   steps after a warm-up, in fp32 and in bf16 + channels_last, and ``dcgan`` / ``avae`` also compiled
   (``torch.compile``; the first, compiling, steps are timed apart as ``compile_s``). Every step's losses must be
   finite; the fp32 run's checkpoint, written on the device, is resumed on the CPU for one more step
   (``Trainer.fit`` → ``load_checkpoint`` with ``map_location="cpu"``). Records ms/iteration and FLOPs/iteration.
2. ``eval``: the Inception-family battery on 2,048 generated + 2,048 real images on the device against the
   separate libraries on the same images and the same random-initialised weights
   (:func:`benchmarks.compare_eval.compare`): times, ratio and the values' relative agreement.
3. ``pack``: aggregate iterations/s of k = 1, 2, 4, 8 concurrent runs of ``dcgan`` and ``avae`` on the one device
   (separate processes, as the sweep's ``concurrent_runs`` packs them; :func:`benchmarks.gpu_throughput.packed`).
4. ``PERFORMANCE.md`` is regenerated (``python -m bench perf report``): with CUDA JSON present, the GPU-hour
   estimate of each shipped paper sweep uses the measured per-iteration and per-image evaluation times.

The GPU machine brings its own PyTorch but none of torch-fidelity, clean-fid, lpips, submitit or pytorch-msssim
and no network: ``python -m benchmarks.gpu_wheels`` (here) downloads their wheels into ``.gpu-wheels/`` (ignored
by git, so it must be carried with the working tree explicitly), and this script installs whatever is missing
from there with ``pip install --no-deps --no-index --target .gpu-wheels/site`` before it starts, runs against the
machine's own torch and records its version.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WHEELS_DIR = ROOT / ".gpu-wheels"
# import name → distribution, for what the suite imports beyond torch / torchvision / numpy / scipy / PIL
BUNDLED = {"torch_fidelity": "torch-fidelity", "cleanfid": "clean-fid", "lpips": "lpips", "submitit": "submitit",
           "pytorch_msssim": "pytorch-msssim", "cloudpickle": "cloudpickle", "tqdm": "tqdm", "requests": "requests",
           "seaborn": "seaborn",
           "urllib3": "urllib3", "idna": "idna", "certifi": "certifi", "charset_normalizer": "charset-normalizer"}
NEEDED_PRESENT = ("torch", "torchvision", "numpy", "scipy", "PIL")  # binary: must come with the machine's Python
COMPILED = ("dcgan", "avae")
PACKED = ("dcgan", "avae")


@dataclass(frozen=True)
class Sizes:
    width: int
    batch: int
    steps: int
    warmup: int
    n_eval: int
    k: tuple[int, ...]
    pack_steps: int
    pack_warmup: int
    pack_n_data: int


FULL = Sizes(width=128, batch=64, steps=100, warmup=10, n_eval=2048, k=(1, 2, 4, 8), pack_steps=100, pack_warmup=10,
             pack_n_data=10_000)
TINY = Sizes(width=8, batch=8, steps=2, warmup=1, n_eval=10, k=(1, 2), pack_steps=2, pack_warmup=1, pack_n_data=64)


# ---- libraries -----------------------------------------------------------------------------------------------
def missing_modules(names: tuple[str, ...] | list[str]) -> list[str]:
    return [m for m in names if importlib.util.find_spec(m) is None]


def install_bundle(wheels: Path = WHEELS_DIR, log: Any = print) -> list[str]:
    """Install the bundled wheels of every missing module into ``.gpu-wheels/site`` (``pip install --no-deps
    --no-index --target``: no network, the machine's own packages and torch untouched, no PEP 668 refusal) and
    put that folder on ``sys.path`` and ``PYTHONPATH`` (for the packed worker processes). Where pip itself is
    missing, the (pure-Python) wheels are unpacked there instead. Returns the wheels installed."""
    site = wheels / "site"
    if site.is_dir():
        _on_path(site)
    todo = [BUNDLED[m] for m in missing_modules(list(BUNDLED))]
    if not todo:
        return []
    files = sorted(wheels.glob("*.whl")) if wheels.is_dir() else []
    picked = [f for f in files if _dist_of(f) in {_norm(d) for d in todo}]
    if not picked:
        return []
    log(f"installing from {wheels} into {site}: {', '.join(p.name for p in picked)}")
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--upgrade",
                        "--target", str(site), *map(str, picked)], capture_output=True, text=True)
    if r.returncode != 0:  # no pip on the machine: a pure-Python wheel is a zip of the installed tree
        import zipfile

        log(f"pip failed ({(r.stderr.strip().splitlines() or ['?'])[-1]}); unpacking the wheels instead")
        for f in picked:
            with zipfile.ZipFile(f) as zf:
                zf.extractall(site)
    _on_path(site)
    return [p.name for p in picked]


def _on_path(folder: Path) -> None:

    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(folder) not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(folder), *parts])
    importlib.invalidate_caches()


def _norm(dist: str) -> str:
    return re.sub(r"[-_.]+", "_", dist).lower()


def _dist_of(wheel: Path) -> str:
    return _norm(wheel.name.split("-")[0])


def environment(device: str) -> dict[str, Any]:
    """Device, driver, torch / CUDA versions (beside :func:`benchmarks.meta.header`'s provenance)."""
    import torch

    env: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda, "device_kind": device}
    if device.startswith("cuda") and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        env.update({"gpu": props.name, "gpu_memory_gib": round(props.total_memory / 2**30, 1),
                    "capability": f"{props.major}.{props.minor}"})
        try:
            r = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True,
                               text=True, timeout=20)
            env["driver"] = r.stdout.strip().splitlines()[0] if r.returncode == 0 and r.stdout.strip() else "unknown"
        except (OSError, subprocess.TimeoutExpired):
            env["driver"] = "unknown"
    return env


# ---- part 1: training ----------------------------------------------------------------------------------------
def _timed(trainer: Any, device: Any, warmup: int, steps: int) -> dict[str, Any]:
    """Warm-up steps (compile happens in the first), then ``steps`` timed steps; every step's losses kept."""
    import torch

    from benchmarks.meta import sync

    model, outs = trainer.model, []
    model.train()
    t0 = time.perf_counter()
    for step in range(warmup):
        with trainer.autocast():
            outs.append(model.train_step(trainer.stream, step))
    sync(device)
    warm_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for step in range(warmup, warmup + steps):
        with trainer.autocast():
            outs.append(model.train_step(trainer.stream, step))
    sync(device)
    dt = time.perf_counter() - t0
    bad = sorted({k for o in outs for k, v in o.items() if not torch.isfinite(torch.as_tensor(v).float()).all()})
    return {"ms_per_iteration": 1000 * dt / steps, "it_per_s": steps / dt, "warmup_s": warm_s, "steps": steps,
            "finite": not bad, "non_finite": bad}


def _resume_on_cpu(name: str, trainer: Any, sizes: Sizes, data: tuple[Any, Any], step: int) -> dict[str, Any]:
    """Write the device run's checkpoint, rebuild the model on the CPU and train one step from it."""
    import torch

    from bench.trainer import Trainer
    from benchmarks.gpu_throughput import build_trainer

    trainer.save_checkpoint(step)
    cpu = build_trainer(name, torch.device("cpu"), sizes.width, sizes.batch, {"precision": "fp32",
                        "channels_last": False, "compile": False}, 32, data=data)
    resumed = Trainer(cpu.model, data[1], trainer.run_dir, seed=0, steps=step + 1, device=torch.device("cpu"),
                      log_every=1, checkpoint_every=10**9, progress=False)
    t0 = time.perf_counter()
    result = resumed.fit()
    same = all(torch.equal(a.cpu(), b) for a, b in zip(trainer.model.state_dict().values(),
                                                     torch.load(trainer.run_dir / "checkpoint.pt", map_location="cpu",
                                                                weights_only=False)["model"].values(), strict=True))
    return {"ok": result.status == "completed" and result.resumed_from == step and result.step == step + 1,
            "status": result.status, "resumed_from": result.resumed_from, "step": result.step,
            "seconds": time.perf_counter() - t0, "checkpoint_changed_by_cpu_step": not same}


def part_train(names: list[str], device_name: str, sizes: Sizes, log: Any = print) -> dict[str, Any]:
    import torch

    from bench.data import load
    from benchmarks.gpu_throughput import VARIANTS, build_trainer, step_flops

    device = torch.device(device_name)
    shapes = load("shapes")
    data = (shapes.spec, shapes.train)
    rows: dict[str, Any] = {}
    for name in names:
        row: dict[str, Any] = {}
        variants = ["fp32", "bf16+cl"] + (["bf16+cl+compile"] if name in COMPILED else [])
        for vname in variants:
            try:
                tr = build_trainer(name, device, sizes.width, sizes.batch, VARIANTS[vname], 32, data=data)
                r = _timed(tr, device, sizes.warmup, sizes.steps)
                if vname.endswith("compile"):
                    r["compile_s"] = r["warmup_s"]
                if vname == "fp32":
                    row["flops_per_iteration"] = step_flops(tr)
                    row["resume_on_cpu"] = _resume_on_cpu(name, tr, sizes, data, sizes.warmup + sizes.steps)
                row[vname] = r
                log(f"{name:<14} {vname:<16} {r['ms_per_iteration']:8.2f} ms/it  finite={r['finite']}")
            except Exception as err:  # noqa: BLE001 - recorded, the check goes on to the next model
                row[vname] = {"error": f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:300]}"}
                log(f"{name:<14} {vname:<16} ERROR {row[vname]['error']}")
            if device.type == "cuda":
                torch.cuda.empty_cache()
        rows[name] = row
    return {"width": sizes.width, "batch": sizes.batch, "res": 32, "dataset": "shapes", "protocol": "fair",
            "steps": sizes.steps, "warmup": sizes.warmup, "models": rows}


# ---- part 2: evaluation battery ------------------------------------------------------------------------------
def part_eval(device_name: str, sizes: Sizes, tiny: bool, log: Any = print) -> dict[str, Any]:
    from benchmarks.compare_eval import compare

    rec = compare(sizes.n_eval, device_name, bf16=not tiny and device_name.startswith("cuda"), log=log,
                  warm_baseline=not tiny, time_sqrtm=not tiny, warm_suite=not tiny, full_baseline=not tiny)
    total = rec["n_fake"] + rec["n_real"]
    rec["suite_s_per_image_cold"] = rec["times_s"]["suite_cold"] / total
    rec["max_rel_disagreement"] = max(rec["agreement_rel"].values()) if rec["agreement_rel"] else math.nan
    return rec


# ---- part 3: packing -----------------------------------------------------------------------------------------
def part_pack(device_name: str, sizes: Sizes, log: Any = print) -> dict[str, Any]:
    from benchmarks.gpu_throughput import packed

    ns = argparse.Namespace(device=device_name, width=sizes.width, batch=sizes.batch, res=32, steps=sizes.pack_steps,
                            warmup=sizes.pack_warmup, n_data=sizes.pack_n_data)
    out: dict[str, Any] = {}
    for name in PACKED:
        out[name] = [packed(name, k, ns, "fp32") for k in sizes.k]
        log(f"{name} packed: " + ", ".join(f"k={r['k']}: {r.get('aggregate_it_per_s', float('nan')):.1f} it/s"
                                           if "error" not in r else f"k={r['k']}: {r['error']}" for r in out[name]))
    return {"width": sizes.width, "batch": sizes.batch, "res": 32, "steps": sizes.pack_steps, "variant": "fp32",
            "packed": out}


# ---- driver --------------------------------------------------------------------------------------------------
def regenerate_performance(out: Path, md: Path, log: Any = print) -> None:
    """Copy the CPU measurements ``perf report`` needs into ``out`` if it lacks them, then render ``md``."""
    import shutil

    from bench.cli import main as bench_main

    default = ROOT / "results" / "perf"
    if out.resolve() != default.resolve():
        for f in default.glob("*.json"):
            if not (out / f.name).exists() and not f.name.startswith("gpu_check-"):
                shutil.copy2(f, out / f.name)
    rc = bench_main(["perf", "report", "--perf-dir", str(out), "--out", str(md)])
    if rc != 0:
        raise SystemExit(f"error: perf report failed (exit {rc})")
    log(f"regenerated {md}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu (with --tiny: the CI smoke run)")
    p.add_argument("--tiny", action="store_true", help="toy sizes (width 8, batch 8, 2 timed steps, 10 + 10 images, k = 1, 2)")
    p.add_argument("--out", default=None, help="JSON folder (default results/perf/)")
    p.add_argument("--performance-md", default=None, help="the PERFORMANCE.md written (default: the repository's when "
                                                          "--out is the default, else OUT/PERFORMANCE.md)")
    p.add_argument("--models", default=None, help="comma-separated subset (default: every registered model)")
    p.add_argument("--parts", default="train,eval,pack", help="comma-separated subset of train,eval,pack")
    p.add_argument("--no-install", action="store_true", help="do not install the bundled wheels")
    args = p.parse_args(argv)
    if args.tiny:  # compile through dynamo + AOT autograd without inductor's C++ code generation (minutes on a CPU)
        os.environ.setdefault("BENCH_COMPILE_BACKEND", "aot_eager")
    if args.device == "cpu":
        os.environ["OMP_NUM_THREADS"] = "1"  # this process and the packed workers: one thread each
    t_start = time.perf_counter()
    installed = [] if args.no_install else install_bundle()
    missing = missing_modules([*BUNDLED, *NEEDED_PRESENT])
    if missing:
        print(f"error: missing Python modules {', '.join(missing)}; run `python -m benchmarks.gpu_wheels` where there "
              f"is internet and carry {WHEELS_DIR.name}/ here (binary ones must come with the machine's Python)",
              file=sys.stderr)
        return 2

    import torch

    from benchmarks.meta import header, save

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: no CUDA device (use --device cpu --tiny for the smoke run)", file=sys.stderr)
        return 2
    if args.device == "cpu" and not args.tiny:
        print("error: the full check is for a GPU; on the CPU use --tiny", file=sys.stderr)
        return 2
    torch.backends.cudnn.benchmark = args.device.startswith("cuda")
    if args.device == "cpu":
        torch.set_num_threads(1)  # the smoke run shares a 2-core machine (and make test's other worker)
    sizes = TINY if args.tiny else FULL
    out = Path(args.out) if args.out else ROOT / "results" / "perf"
    out.mkdir(parents=True, exist_ok=True)
    md = Path(args.performance_md) if args.performance_md else (ROOT / "PERFORMANCE.md" if args.out is None
                                                                  else out / "PERFORMANCE.md")
    from bench.registries import models

    names = args.models.split(",") if args.models else models().names()
    env = {**environment(args.device), "bundle_installed": installed, "tiny": args.tiny, "sizes": asdict(sizes)}
    slug = "cpu-tiny" if args.tiny else re.sub(r"[^a-z0-9]+", "-", env.get("gpu", args.device).lower()).strip("-")
    parts = args.parts.split(",")
    written = []
    with tempfile.TemporaryDirectory(prefix="gpu-check-"):
        for part in parts:
            t0 = time.perf_counter()
            print(f"== {part}", flush=True)
            if part == "train":
                body = part_train(names, args.device, sizes)
            elif part == "eval":
                body = part_eval(args.device, sizes, args.tiny)
            elif part == "pack":
                body = part_pack(args.device, sizes)
            else:
                print(f"error: unknown part {part!r} (train, eval, pack)", file=sys.stderr)
                return 2
            rec = {**header(args.device), "environment": env, "part": part, "part_seconds": time.perf_counter() - t0,
                   **body}
            written.append(save(f"gpu_check-{part}-{slug}", rec, out))
            print(f"wrote {written[-1]} ({rec['part_seconds']:.0f} s)", flush=True)
    regenerate_performance(out, md)
    problems = check_problems(out, slug, parts)
    print(f"gpu check: {time.perf_counter() - t_start:.0f} s, {len(problems)} problem(s)")
    for line in problems:
        print(f"- {line}")
    return 1 if problems else 0


def check_problems(out: Path, slug: str, parts: list[str]) -> list[str]:
    """What the check found wrong: non-finite losses, failed variants or resumes, failed packed runs."""
    problems = []
    if "train" in parts:
        rec = json.loads((out / f"gpu_check-train-{slug}.json").read_text())
        for name, row in rec["models"].items():
            for v, r in row.items():
                if isinstance(r, dict) and "error" in r:
                    problems.append(f"{name} {v}: {r['error']}")
                elif isinstance(r, dict) and r.get("finite") is False:
                    problems.append(f"{name} {v}: non-finite {', '.join(r['non_finite'])}")
            if not row.get("resume_on_cpu", {}).get("ok"):
                problems.append(f"{name}: the device checkpoint did not resume on the CPU ({row.get('resume_on_cpu')})")
    if "pack" in parts:
        rec = json.loads((out / f"gpu_check-pack-{slug}.json").read_text())
        problems += [f"{n} k={r['k']}: {r['error']}" for n, rs in rec["packed"].items() for r in rs if "error" in r]
    return problems


if __name__ == "__main__":
    raise SystemExit(main())
