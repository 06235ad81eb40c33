"""One-run A/B of the CPU speed-ups of issue #29: the suite's training iteration with the speed-ups off (the code
paths before them, :func:`models.base.speedups`) against on, per configuration and summed.

What is compared (the robust way on a shared, loaded machine): the two arms live in one process, are built from
the same seed (identical initial weights), draw the same real batches (their own :class:`bench.trainer.BatchStream`
at the same position) and the same random numbers (the global RNG is re-seeded before each arm's block of a round),
and run in interleaved rounds (A B, then B A, ...), so a change of load hits both arms alike. Each arm's time per
iteration is the median over rounds of its block's mean; the ratio is off / on. Timed iterations are the model's
main iteration: step numbers from ``steps // 2`` on (past AVAE-S's pre-training switch), after a warm-up (which also
runs VAE-S's calibration probe).

Configurations: the study's 19 (``bench/sweeps/study_*.yaml``, each distinct run identity once, their own
per-model settings: digits@16, width 32, latent 16, batch 32, lr 1e-3) and ``make bench``'s quick budget's 7.
FLOPs per iteration are counted on the "on" arm (benchmarks/flops.py's counter, one extra iteration), so every
arm's achieved GFLOP/s follows.

    python -m benchmarks.step_ab                      # study's 19 + quick's 7 → results/perf/step_ab-cpu.json
    python -m benchmarks.step_ab --variant channels_last --configs study   # on vs on + channels_last (the table)
    python -m benchmarks.step_ab --variant compile --configs study         # eager vs torch.compile (inductor)
    python -m benchmarks.step_ab --variant bf16 --configs study            # fp32 vs bf16 autocast (other math)

A configuration whose arm fails (e.g. a compiled network that cannot run) is recorded with its error and left out
of the sums; the others go on.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bench.run import RunSpec, prepare
from bench.trainer import Trainer
from benchmarks.meta import header, save
from models.base import speedups

STUDY_TABLES = ("study_avae_table1", "study_idvae_table1", "study_avaes_table3", "study_khan_table1", "study_alphagan")
QUICK = "bench_quick"


@dataclass
class Config:
    """One distinct training configuration: its label (model, plus the override that tells two apart), the run
    spec of seed 0 and the sweeps it belongs to."""

    label: str
    spec: RunSpec
    sweeps: list[str]

    @property
    def steps(self) -> int:
        return int(self.spec.steps or 0)


def sweep_configs(names: tuple[str, ...]) -> list[Config]:
    """Each distinct run identity (seed 0) of the sweeps ``names``, in order of first appearance."""
    from bench import sweep as sweepmod

    out: dict[str, Config] = {}
    for name in names:
        sw = sweepmod.load(name)
        for cell in sw.cells():
            spec = sw.run_spec(cell)
            if spec.seed != 0:
                continue
            rid = spec.run_id()
            if rid in out:
                out[rid].sweeps.append(name)
                continue
            extra = {k: v for k, v in spec.overrides.items() if k not in sw.set}
            label = spec.model + "".join(f" ({k}={v})" for k, v in sorted(extra.items()))
            out[rid] = Config(label, spec, [name])
    return list(out.values())


def study_configs() -> list[Config]:
    return sweep_configs(STUDY_TABLES)


def quick_configs() -> list[Config]:
    return sweep_configs((QUICK,))


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def build_arm(spec: RunSpec, *, on: bool, channels_last: bool = False, compile: bool = False,
              precision: str = "fp32", run_dir: Path | None = None,
              overrides: dict[str, Any] | None = None) -> Trainer:
    """A trainer for ``spec`` (model seeded by ``spec.seed``, optimisers created) with the speed-ups ``on`` or off
    at construction, ``channels_last`` forced on if asked; nothing is written unless ``fit`` is called."""
    if overrides:
        spec = RunSpec(**{**spec.__dict__, "overrides": {**spec.overrides, **overrides}})
    dataset, cls, cfg, device = prepare(spec)
    with speedups(on):
        torch.manual_seed(spec.seed)
        model = cls.build(cfg, dataset.spec).to(device)
        trainer = Trainer(model, dataset.train, run_dir or Path(tempfile.gettempdir()) / "step_ab", seed=spec.seed,
                          steps=cfg.steps, device=device, progress=False, channels_last=channels_last,
                          compile=compile, precision=precision)
        model.optimizers = model.configure_optimizers()
    return trainer


def run_steps(trainer: Trainer, first: int, n: int) -> None:
    model = trainer.model
    model.train()
    for i in range(n):
        with trainer.autocast():  # bf16 autocast for a bf16 arm, as the trainer's loop does; else nothing
            model.train_step(trainer.stream, first + i)


def count_flops(trainer: Trainer, step: int) -> tuple[int, int]:
    """(FLOPs, ATen operators) of one iteration (benchmarks/flops.py's counter)."""
    from benchmarks.flops import Counter

    with Counter() as counter:
        run_steps(trainer, step, 1)
    return counter.flops, counter.ops


def compare(config: Config, arms: dict[str, dict[str, Any]], *, rounds: int, per_round: int,
            warmup: int = 3) -> dict[str, Any]:
    """Interleaved rounds of ``per_round`` iterations per arm; ``arms`` = name → build_arm keyword arguments."""
    trainers = {name: build_arm(config.spec, **kw) for name, kw in arms.items()}
    names = list(trainers)
    start = max(trainers[names[0]].steps // 2, warmup)
    # the switch is read at construction (fused Adam, native convolution layers) and while stepping (functional
    # convolutions, e.g. VAE-S's filters): each arm steps inside its own setting
    on = {name: bool(kw.get("on", True)) for name, kw in arms.items()}
    warmup_s: dict[str, float] = {}
    for name in names:
        torch.manual_seed(10_000)
        with speedups(on[name]):
            t0 = time.perf_counter()
            run_steps(trainers[name], start - warmup, warmup)
            warmup_s[name] = time.perf_counter() - t0  # includes compilation for a compiled arm
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            torch.manual_seed(20_000 + r)
            with speedups(on[name]):
                t0 = time.perf_counter()
                run_steps(trainers[name], start + r * per_round, per_round)
                times[name].append((time.perf_counter() - t0) / per_round * 1e3)
    torch.manual_seed(30_000)
    with speedups(on[names[-1]]):
        flops, ops = count_flops(trainers[names[-1]], start + rounds * per_round)
    ms = {n: statistics.median(times[n]) for n in names}
    paired = [a / b for a, b in zip(times[names[0]], times[names[-1]], strict=True)]
    return {"label": config.label, "model": config.spec.model, "overrides": config.spec.overrides,
            "sweeps": config.sweeps, "steps": config.steps, "ms_per_iteration": ms, "ms_rounds": times,
            "warmup_s": warmup_s,
            "ratio": ms[names[0]] / ms[names[-1]], "ratio_paired_median": statistics.median(paired),
            "gflop_per_iteration": flops / 1e9, "ops_per_iteration_on": ops,
            "gflops": {n: flops / 1e9 / (ms[n] / 1e3) for n in names}}


VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    # today's behaviour against the speed-ups as shipped (the acceptance A/B)
    "speedups": {"off": {"on": False}, "on": {"on": True}},
    # the per-model channels_last table (bench/trainer.py CHANNELS_LAST_FASTER): speed-ups on, NCHW vs NHWC
    "channels_last": {"on_nchw": {"on": True}, "on_cl": {"on": True, "channels_last": True}},
    # torch.compile of every network (inductor) against the eager speed-ups; warm-up time = compilation
    "compile": {"on_eager": {"on": True}, "on_compiled": {"on": True, "compile": True}},
    # bf16 autocast (RunSpec(precision="bf16"): different arithmetic, not part of #29's equal-math speed-ups)
    "bf16": {"on_fp32": {"on": True}, "on_bf16": {"on": True, "precision": "bf16"}},
}


def summarise(rows: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """Per-iteration time summed over the configurations (each once) and weighted by each one's steps."""
    a, b = names[0], names[-1]
    sum_a = sum(r["ms_per_iteration"][a] for r in rows)
    sum_b = sum(r["ms_per_iteration"][b] for r in rows)
    w_a = sum(r["ms_per_iteration"][a] * r["steps"] for r in rows) / 1e3
    w_b = sum(r["ms_per_iteration"][b] * r["steps"] for r in rows) / 1e3
    return {"configs": len(rows), f"sum_ms_{a}": sum_a, f"sum_ms_{b}": sum_b, "ratio_summed": sum_a / sum_b,
            f"training_s_{a}": w_a, f"training_s_{b}": w_b, "ratio_step_weighted": w_a / w_b}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.step_ab", description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", choices=("study", "quick", "all"), default="all")
    p.add_argument("--variant", choices=tuple(VARIANTS), default="speedups")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--per-round", type=int, default=5, help="iterations per arm per round")
    p.add_argument("--models", default="", help="comma-separated model names to keep (default: all)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (the suite's default for every run: 1)")
    p.add_argument("--name", default="", help="output results/perf/<name>.json (default step_ab-cpu[-variant])")
    args = p.parse_args(argv)
    if args.rounds < 2 or args.per_round < 1 or args.threads < 1:
        print("error: --rounds must be >= 2, --per-round and --threads >= 1", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    keep = {m for m in args.models.split(",") if m}
    groups = {"study": study_configs(), "quick": quick_configs()}
    if args.configs != "all":
        groups = {args.configs: groups[args.configs]}
    arms = VARIANTS[args.variant]
    record: dict[str, Any] = {**header("cpu"), "variant": args.variant, "arms": list(arms), "rounds": args.rounds,
                              "per_round": args.per_round, "threads": args.threads, "groups": {}}
    done: dict[str, dict[str, Any]] = {}  # a configuration shared by both groups is measured once
    for group, configs in groups.items():
        rows = []
        for config in configs:
            if keep and config.spec.model not in keep:
                continue
            key = config.spec.run_id()
            if key not in done:
                try:
                    done[key] = compare(config, arms, rounds=args.rounds, per_round=args.per_round)
                except Exception as exc:  # e.g. a compiled arm that cannot run: recorded, the others go on
                    done[key] = {"label": config.label, "model": config.spec.model, "error": f"{type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else ''}"}
                    print(f"{group:5s} {config.label:28s} failed: {done[key]['error']}", flush=True)
                else:
                    r = done[key]
                    print(f"{group:5s} {r['label']:28s} " + " ".join(f"{n} {r['ms_per_iteration'][n]:7.1f} ms"
                                                                      for n in arms)
                          + f"  ratio {r['ratio']:.2f}  load {os.getloadavg()[0]:.1f}", flush=True)
                done[key]["load_average_1"] = os.getloadavg()[0]
            rows.append({**done[key], "label": config.label, "steps": config.steps, "sweeps": config.sweeps})
        ok = [r for r in rows if "error" not in r]
        record["groups"][group] = {"rows": rows, "summary": summarise(ok, list(arms)) if ok else {}}
        if rows:
            s = record["groups"][group]["summary"]
            print(f"{group}: summed per-iteration ratio {s['ratio_summed']:.3f}, step-weighted "
                  f"{s['ratio_step_weighted']:.3f}", flush=True)
    record["load_average_end_1_5_15"] = list(os.getloadavg())
    name = args.name or ("step_ab-cpu" if args.variant == "speedups" else f"step_ab-cpu-{args.variant}")
    print(save(name, record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
