"""The expected training time of a sweep's to-do runs, for the dry runs (``bench --dry-run``, ``sweep --dry-run``).

The per-model step times are measured, not modelled: ``results/perf/step_times-cpu.json``
(``python -m benchmarks.step_times``: one ``train_step`` of each model at the configuration the CPU sweeps use,
digits at 16 px, w = 32, latent 16, batch 32, one torch thread, the process's CPU time = the time on an idle
core). A run whose configuration (model, dataset, protocol, width, latent size, batch size) was not measured,
or that runs on a GPU (no GPU times are committed), gets no estimate, and the line says so. Evaluation is not
included. The runs are laid out in order on ``parallel`` workers, each taking the next run when it is free, as
the local executor's workers do.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

STEP_TIMES = Path(__file__).resolve().parents[1] / "results" / "perf" / "step_times-cpu.json"
SHAPE_KEYS = ("width", "latent_dim", "batch_size")


def load_step_times(path: Path = STEP_TIMES) -> list[dict[str, Any]]:
    """The measured configurations: ``[{dataset, protocol, set, models: {name: {ms_per_step, ...}}}]``
    (empty when the file is absent or unreadable)."""
    try:
        record = json.loads(path.read_text())
        return [dict(c) for c in record.get("configs", {}).values()]
    except (OSError, ValueError, AttributeError):
        return []


def _shape(spec: Any) -> dict[str, Any] | None:
    """width / latent_dim / batch_size of ``spec``'s model (its overrides over the config defaults)."""
    from bench import config as cfgmod
    from bench.errors import BenchError
    from bench.registries import models

    try:
        cls = models().get(spec.model)
        types = cfgmod.field_types(cls.Config)
        defaults = cls.Config()
        return {k: cfgmod.coerce(k, spec.overrides[k], types[k]) if k in spec.overrides else getattr(defaults, k, None)
                for k in SHAPE_KEYS}
    except (BenchError, KeyError):
        return None


def step_ms(spec: Any, configs: list[dict[str, Any]]) -> float | None:
    """The measured ms per step of ``spec``'s model at its configuration, or None if it was not measured."""
    shape = _shape(spec)
    if shape is None:
        return None
    for c in configs:
        wanted = {k: c.get("set", {}).get(k) for k in SHAPE_KEYS}
        model = c.get("models", {}).get(spec.model)
        if c.get("dataset") == spec.dataset and c.get("protocol") == spec.protocol and wanted == shape and model:
            return float(model["ms_per_step"])
    return None


def makespan(durations: Iterable[float], workers: int) -> float:
    """Wall time of ``durations`` run in order on ``workers`` workers, each taking the next when it is free."""
    free = [0.0] * max(1, workers)
    for d in durations:
        i = free.index(min(free))
        free[i] += d
    return max(free)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 600 else f"{seconds / 60:.1f} min"


def expected_time(todo: list[tuple[Any, int]], parallel: int, device: str, threads: int,
                  configs: list[dict[str, Any]] | None = None) -> str:
    """One line: the expected training time of ``todo`` (``(RunSpec, steps)`` pairs) on ``parallel`` workers."""
    if not todo:
        return "expected time: nothing to run"
    if not device.startswith("cpu"):
        return (f"expected time: no estimate on {device} (the committed step times are CPU measurements: "
                f"{STEP_TIMES.name}; python -m benchmarks.step_times measures them)")
    configs = load_step_times() if configs is None else configs
    known, unknown = [], []
    for spec, steps in todo:
        ms = step_ms(spec, configs)
        (known if ms is not None else unknown).append((spec, steps, ms))
    if not known:
        return (f"expected time: no estimate (no step times measured at this configuration in results/perf/"
                f"{STEP_TIMES.name}: python -m benchmarks.step_times measures them)")
    durations = [steps * ms / 1000 for _, steps, ms in known]
    wall = makespan(durations, min(parallel, len(known)))
    line = (f"expected time: about {_minutes(wall)} of training for {len(known)} run(s) "
            f"({_minutes(sum(durations))} of CPU at the per-model step times measured at this configuration, "
            f"results/perf/{STEP_TIMES.name}, 1 torch thread per run on an idle core; {min(parallel, len(known))} "
            "at a time); evaluation not included")
    if threads != 1:
        line += f"; measured at 1 torch thread, these runs use {threads}"
    if unknown:
        models = sorted({s.model for s, _, _ in unknown})
        line += f"; no measured step time for {len(unknown)} other run(s) ({', '.join(models)})"
    return line
