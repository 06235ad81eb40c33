"""``python -m bench status SWEEP``: the state of every run of a sweep, read from its run directories.

States: ``pending`` (not started, or interrupted: resumable from its checkpoint's step), ``running``
(a worker holds the run's claim — see :mod:`bench.executors`), ``completed``, ``diverged`` and
``failed`` (with the reason recorded in ``metrics.json``). Nothing here writes into a run directory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.executors import ATTEMPTS, SweepPaths, is_claimed, last_step, run_status
from bench.sweep import Sweep

STATES = ("pending", "running", "completed", "diverged", "failed")
PROBLEMS = ("running", "diverged", "failed")  # the states ``status --problems`` lists


@dataclass
class RunState:
    """One row of the status table."""

    run_id: str
    model: str
    dataset: str
    seed: int
    hp: dict[str, Any]
    state: str
    step: int
    attempts: int
    reason: str = ""


def _attempts(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / ATTEMPTS
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def run_state(run_dir: Path, spec: Any, hp: dict[str, Any]) -> RunState:
    """The state of one run directory (which may not exist yet)."""
    status = run_status(run_dir)
    attempts = _attempts(run_dir)
    starts = sum(a.get("event") == "start" for a in attempts)
    reason = ""
    if status in ("completed", "diverged", "failed"):
        met = json.loads((run_dir / "metrics.json").read_text())
        state, step = status, int(met.get("step") or last_step(run_dir))
        reason = str(met.get("reason") or "")
    elif is_claimed(run_dir):
        state, step = "running", last_step(run_dir)
        where = next((a for a in reversed(attempts) if a.get("event") == "start"), {})
        reason = f"on {where.get('host', '?')} ({where.get('job', '?')})" if where else ""
    else:
        state, step = "pending", last_step(run_dir)
        if (run_dir / "checkpoint.pt").exists():
            reason = f"interrupted; resumes from its checkpoint (logged step {step})"
    return RunState(spec.run_id(), spec.model, spec.dataset, spec.seed, hp, state, step, starts, reason)


def sweep_states(sweep: Sweep, paths: SweepPaths) -> list[RunState]:
    """The state of every cell of ``sweep`` under ``paths``."""
    return [run_state(paths.runs / (spec := sweep.run_spec(c)).run_id(), spec, c.hp) for c in sweep.cells()]


def counts(states: list[RunState]) -> dict[str, int]:
    """Number of runs per state (every state present, zeros included)."""
    out = dict.fromkeys(STATES, 0)
    for s in states:
        out[s.state] += 1
    return out


def format_table(states: list[RunState], *, only_problems: bool = False) -> str:
    """A fixed-width text table: run, model, dataset, seed, hyper-parameters, state, step, reason."""
    rows = [s for s in states if not only_problems or s.state in PROBLEMS]
    header = ("run_id", "model", "dataset", "seed", "hp", "state", "step", "tries", "reason")
    cells = [header] + [(s.run_id, s.model, s.dataset, str(s.seed),
                         ",".join(f"{k}={v}" for k, v in s.hp.items()) or "-", s.state, str(s.step), str(s.attempts),
                         s.reason.splitlines()[0][:120] if s.reason else "") for s in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_counts(c: dict[str, int]) -> str:
    """``10 runs: 8 completed, 1 running, 1 pending, 0 diverged, 0 failed``."""
    return f"{sum(c.values())} runs: " + ", ".join(f"{c[k]} {k}" for k in ("completed", "running", "pending",
                                                                          "diverged", "failed"))
