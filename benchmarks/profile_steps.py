"""Where the CPU time goes (issue #29): one training iteration split into forward, backward, optimiser and the
rest, for the study's 19 configurations and the quick budget's 7, and a whole run split into training,
learning-curve evaluations and the final evaluation.

Iteration split (``torch.profiler``): each optimiser update of a model goes through ``Model.update``
(``torch.autograd.grad`` on the loss, then the optimiser's ``step``), which is wrapped here in
``record_function`` ranges "backward" and "optimiser", and the batch stream in "data"; "forward" is the rest of
``train_step`` (the networks' forward passes and the losses, including a gradient penalty's own
``autograd.grad`` with ``create_graph``, which is part of WGAN-GP's loss). Times are the profiled ranges' CPU
totals over ``--iterations`` main iterations (steps from ``steps // 2`` on, after a warm-up), with the speed-ups
on (the default) or off (``--off``). The profiler adds a per-operator cost, so the split is a share, and the
absolute times are those of benchmarks/step_ab.py. The five operators with the most self time are listed too.

Run split (``--runs``, default all 19): a real ``bench.run.execute`` of a configuration at its sweep's settings,
shortened to ``--run-steps`` iterations, logging every 50 steps as a real run does (each log step computes the
model's diagnostics on the fixed probe: active units, the decoder's per-term gradient norms) and with its learning
curve evaluated every ``--run-steps`` (one point), each phase timed; the study's full runs are then extrapolated:
training = per-iteration time × steps, log steps = one log step's time × steps / ``log_every``, curve = one
point's time × steps / ``curve_every``, final evaluation (metric battery + sample grids) as measured.

    python -m benchmarks.profile_steps                 # → results/perf/profile_steps-cpu.json
    python -m benchmarks.profile_steps --runs vae,dcgan,avae --run-steps 100 --skip-iterations
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile, record_function

import models.base as mb
from benchmarks.meta import header, save
from benchmarks.step_ab import Config, build_arm, quick_configs, run_steps, study_configs

PHASES = ("forward", "backward", "optimiser", "data")


def _instrumented_update(self: mb.Model, name: str, loss: torch.Tensor, *, retain_graph: bool = False) -> None:
    """``Model.update`` with its backward and optimiser halves in profiler ranges (the same two calls)."""
    with record_function("backward"):
        params, grads = self.gradients(name, loss, retain_graph=retain_graph)
    with record_function("optimiser"):
        self.apply_gradients(name, params, grads)


class _ProfiledStream:
    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def __call__(self) -> torch.Tensor:
        with record_function("data"):
            return self.stream()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def split_iteration(config: Config, *, on: bool, iterations: int) -> dict[str, Any]:
    """Per-iteration milliseconds of each phase and the top operators, profiled."""
    trainer = build_arm(config.spec, on=on)
    start = max(config.steps // 2, 3)
    torch.manual_seed(0)
    with mb.speedups(on):
        run_steps(trainer, start - 3, 3)
    stream = _ProfiledStream(trainer.stream)
    original = mb.Model.update
    mb.Model.update = _instrumented_update  # type: ignore[method-assign]
    try:
        trainer.model.train()
        t0 = time.perf_counter()
        with mb.speedups(on), profile(activities=[ProfilerActivity.CPU]) as prof:  # the steps read the switch too
            for i in range(iterations):
                with record_function("iteration"):
                    trainer.model.train_step(stream, start + i)
        wall = (time.perf_counter() - t0) / iterations * 1e3
    finally:
        mb.Model.update = original  # type: ignore[method-assign]
    events = prof.key_averages()
    total = {e.key: e.cpu_time_total / 1e3 / iterations for e in events}  # ms per iteration
    it = total.get("iteration", 0.0)
    ms = {p: total.get(p, 0.0) for p in ("backward", "optimiser", "data")}
    ms["forward"] = max(it - sum(ms.values()), 0.0)
    ops = sorted((e for e in events if e.key.startswith("aten::")), key=lambda e: -e.self_cpu_time_total)[:5]
    return {"label": config.label, "model": config.spec.model, "ms_profiled": it, "ms_wall_profiled": wall,
            "ms": ms, "share": {p: (ms[p] / it if it else 0.0) for p in PHASES},
            "top_ops": [{"op": e.key, "ms": e.self_cpu_time_total / 1e3 / iterations,
                         "calls": e.count / iterations} for e in ops]}


def split_run(config: Config, *, run_steps_n: int) -> dict[str, Any]:
    """A shortened real run of ``config`` (``bench.run.execute``) with its phases timed."""
    import bench.run as runmod
    import bench.trainer as trainermod

    spec = config.spec
    curve_every = spec.curve_every or 0
    log_every = spec.log_every
    if run_steps_n % log_every:
        raise ValueError(f"--run-steps must be a multiple of the runs' log_every ({log_every})")
    short = runmod.RunSpec(**{**spec.__dict__, "steps": run_steps_n, "log_every": log_every,
                              "curve_every": run_steps_n if spec.curve else 0, "checkpoint_every": 10 * run_steps_n})
    times = {"log_steps": 0.0, "curve": 0.0, "final_evaluation": 0.0, "grids": 0.0}
    curve_points, log_points = [0], [0]
    orig_curve, orig_eval, orig_grids = runmod.curve_function, runmod.evaluate_model, runmod.write_grids
    orig_flush = trainermod.Trainer._flush

    def flush(self: Any, window: Any, step: int) -> Any:  # a log step: diagnostics, the log line (and a curve point)
        t0, curve_before = time.perf_counter(), times["curve"]
        try:
            return orig_flush(self, window, step)
        finally:
            times["log_steps"] += time.perf_counter() - t0 - (times["curve"] - curve_before)
            log_points[0] += 1

    def curve_function(*a: Any, **k: Any) -> Any:
        fn = orig_curve(*a, **k)

        def timed(step: int) -> dict[str, float]:
            t0 = time.perf_counter()
            try:
                return fn(step)
            finally:
                times["curve"] += time.perf_counter() - t0
                curve_points[0] += 1
        return timed

    def evaluate_model(*a: Any, **k: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return orig_eval(*a, **k)
        finally:
            times["final_evaluation"] += time.perf_counter() - t0

    def write_grids(*a: Any, **k: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return orig_grids(*a, **k)
        finally:
            times["grids"] += time.perf_counter() - t0

    runmod.curve_function, runmod.evaluate_model, runmod.write_grids = curve_function, evaluate_model, write_grids
    trainermod.Trainer._flush = flush  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            record = runmod.execute(short, Path(tmp) / "run", progress=False)
            total = time.perf_counter() - t0
    finally:
        runmod.curve_function, runmod.evaluate_model, runmod.write_grids = orig_curve, orig_eval, orig_grids
        trainermod.Trainer._flush = orig_flush  # type: ignore[method-assign]
    training = total - sum(times.values())
    per_point = times["curve"] / curve_points[0] if curve_points[0] else 0.0
    per_log = times["log_steps"] / log_points[0] if log_points[0] else 0.0
    full_steps = config.steps
    points = full_steps // curve_every if curve_every else 0
    extrapolated = {"training": training / run_steps_n * full_steps, "log_steps": per_log * full_steps / log_every,
                    "curve": per_point * points, "final_evaluation": times["final_evaluation"] + times["grids"]}
    return {"label": config.label, "status": record.get("status"), "run_steps": run_steps_n, "seconds": total,
            "phases_s": {"training": training, **times}, "curve_points": curve_points[0], "log_points": log_points[0],
            "log_every": log_every, "one_log_step_s": per_log,
            "full_run_steps": full_steps, "full_run_curve_points": points, "full_run_extrapolated_s": extrapolated,
            "full_run_share": {k: v / sum(extrapolated.values()) for k, v in extrapolated.items()}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile_steps", description=__doc__.split("\n\n")[0])
    p.add_argument("--iterations", type=int, default=5)
    p.add_argument("--off", action="store_true", help="profile with the speed-ups off")
    p.add_argument("--runs", default="all",
                   help="study configurations whose run is split into phases: 'all' (the 19), comma-separated "
                        "model names (each one's configurations), or '' for none")
    p.add_argument("--run-steps", type=int, default=100)
    p.add_argument("--skip-iterations", action="store_true")
    args = p.parse_args(argv)
    if args.iterations < 1 or args.run_steps < 50 or args.run_steps % 50:
        print("error: --iterations must be >= 1 and --run-steps a positive multiple of 50 (the runs' log_every)",
              file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    record: dict[str, Any] = {**header("cpu"), "speedups": not args.off, "iterations": args.iterations,
                              "groups": {}, "runs": []}
    seen: dict[str, dict[str, Any]] = {}
    if not args.skip_iterations:
        for group, configs in (("study", study_configs()), ("quick", quick_configs())):
            rows = []
            for config in configs:
                key = f"{config.spec.model}|{sorted(config.spec.overrides.items())}"  # steps do not change an iteration
                if key not in seen:
                    seen[key] = split_iteration(config, on=not args.off, iterations=args.iterations)
                    seen[key]["load_average_1"] = os.getloadavg()[0]
                    r = seen[key]
                    print(f"{group:5s} {config.label:28s} {r['ms_profiled']:7.1f} ms  " + " ".join(
                        f"{k} {v:.0%}" for k, v in r["share"].items()), flush=True)
                rows.append({**seen[key], "label": config.label})
            record["groups"][group] = rows
    wanted = {m for m in args.runs.split(",") if m}
    chosen = [c for c in study_configs() if args.runs == "all" or c.spec.model in wanted]
    if chosen:  # warm-up, not recorded: the process's first run loads the networks and caches real statistics
        split_run(chosen[0], run_steps_n=args.run_steps)
    for config in chosen:
        r = split_run(config, run_steps_n=args.run_steps)
        r["load_average_1"] = os.getloadavg()[0]
        record["runs"].append(r)
        print(f"run {config.label:20s} " + " ".join(f"{k} {v:.0%}" for k, v in r["full_run_share"].items())
              + f" (extrapolated to {r['full_run_steps']} steps)", flush=True)
    record["load_average_end_1_5_15"] = list(os.getloadavg())
    print(save("profile_steps-cpu" + ("-off" if args.off else ""), record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
