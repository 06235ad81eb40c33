"""Per-model training step times at the configurations the suite's CPU sweeps use, for the dry runs' time
estimates (``python -m bench bench --dry-run``, ``sweep --dry-run``: :mod:`bench.estimate`).

For every registered model: the run's own configuration (``bench.run.prepare`` of a :class:`RunSpec`:
dataset defaults, protocol, the sweep's ``set``), one torch thread (the default of ``train`` and every
sweep), ``WARMUP`` iterations, then the mean time of one ``train_step`` (the paper's whole iteration) over
about ``TARGET_S`` seconds, the best of ``REPEATS`` rounds. Both the wall time and the process's CPU time are
recorded: with one thread the CPU time is what the step costs on an idle core (the wall time also counts the
time other processes held the core), so ``ms_per_step`` is the CPU time, which a shared machine's load barely
changes.
Models with a cheaper first phase (AVAE-S pre-training, VAE-S calibration) are timed on their main
iteration, so their estimate is an upper bound. Training only: evaluation is not included.

    python -m benchmarks.step_times [--config quick] [--models vae,dcgan]

Results: ``results/perf/step_times-cpu.json`` (``configs.<name>.models.<model>.ms_per_step``), with the
machine's load average.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import torch

from bench.registries import models
from bench.run import RunSpec, prepare
from bench.trainer import BatchStream
from benchmarks.meta import header, save

# The configurations measured: the CPU budget of ``bench`` and the study (bench/sweeps/bench_quick.yaml,
# study_*.yaml share it: digits at 16 px, w = 32, latent 16, batch 32, Adam lr 1e-3, fair protocol).
CONFIGS: dict[str, dict[str, Any]] = {
    "quick": {"dataset": "digits@16", "protocol": "fair",
              "set": {"width": 32, "latent_dim": 16, "batch_size": 32, "lr": 0.001}},
}
WARMUP, TARGET_S, MIN_STEPS, MAX_STEPS, REPEATS = 5, 2.0, 10, 200, 2


def cheap_first_phase(cfg: Any) -> dict[str, Any]:
    """Reach the main iteration at once: 1 pre-training step (AVAE-S), 2 calibration batches (VAE-S)."""
    out: dict[str, Any] = {}
    if hasattr(cfg, "pretrain_steps"):
        out["pretrain_steps"] = 1
    if hasattr(cfg, "calibration_steps"):
        out["calibration_steps"] = 2
    return out


def step_time(model_name: str, config: dict[str, Any]) -> dict[str, Any]:
    """Mean seconds per ``train_step`` of ``model_name`` at ``config`` (best of REPEATS rounds)."""
    from bench import config as cfgmod

    spec = RunSpec(model=model_name, dataset=config["dataset"], protocol=config["protocol"],
                   overrides=dict(config["set"]), steps=10_000)
    dataset, cls, cfg, device = prepare(spec)
    cfg = cfgmod.override(cfg, cheap_first_phase(cfg), source="step_times")
    torch.manual_seed(0)
    model = cls.build(cfg, dataset.spec).to(device)
    model.optimizers = model.configure_optimizers()
    stream = BatchStream(dataset.train, cfg.batch_size, seed=0, device=device)
    step = 0
    for _ in range(WARMUP):
        model.train_step(stream, step)
        step += 1
    t0 = time.process_time()
    model.train_step(stream, step)
    step += 1
    probe = time.process_time() - t0
    n = max(MIN_STEPS, min(MAX_STEPS, math.ceil(TARGET_S / max(probe, 1e-4))))
    cpu, wall = [], []
    for _ in range(REPEATS):
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            model.train_step(stream, step)
            step += 1
        cpu.append((time.process_time() - c0) / n)
        wall.append((time.perf_counter() - w0) / n)
    return {"ms_per_step": 1000 * min(cpu), "cpu_ms_rounds": [1000 * r for r in cpu],
            "wall_ms_rounds": [1000 * r for r in wall], "steps_timed": n,
            "width": cfg.width, "latent_dim": cfg.latent_dim, "batch_size": cfg.batch_size,
            "image": list(dataset.spec.shape)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="quick", choices=sorted(CONFIGS))
    p.add_argument("--models", default=None, help="comma list (default: every registered model)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    names = args.models.split(",") if args.models else models().names()
    config = CONFIGS[args.config]
    record = header("cpu")
    record["threads"] = torch.get_num_threads()
    measured = {}
    for name in names:
        measured[name] = step_time(name, config)
        m = measured[name]
        print(f"{name}: {m['ms_per_step']:.1f} ms/step CPU ({min(m['wall_ms_rounds']):.1f} wall)", flush=True)
    record["load_average_after"] = list(__import__("os").getloadavg())
    record["configs"] = {args.config: {**config, "models": measured}}
    print(save("step_times-cpu", record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
