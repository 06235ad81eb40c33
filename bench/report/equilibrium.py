"""BEGAN's equilibrium beside a study table's curves: k_t and the convergence measure M of every run that logs them.

Khan et al. (paper 001) §3.4 read training through k_t (eq. 12, the PID-controlled weight of the fakes' energy in
L_dis) and M = L_d + |η L_d − L_g − α L_v|; BEGAN (Berthelot et al. 2017 §3.4.1) calls M its convergence measure.
``vae-began`` and ``began-lsm`` log both at every log step (``k_t``, ``M`` in ``log.jsonl``); the study's curves
evaluate metrics only, so this module reads the committed logs and writes, per table, ``equilibrium.csv`` (one row
per run: final and largest k_t, the first step k_t left 0, final M) and ``equilibrium.png`` (k_t and M against the
iteration, one line per run, one colour per model). Runs without a ``k_t`` column are skipped.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from bench.atomic import write_with  # noqa: E402
from bench.report.plots import read_log  # noqa: E402

COLUMNS = ["run_id", "model", "seed", "steps_logged", "k_t_final", "k_t_max", "first_step_k_t_above_0", "M_final"]


def equilibrium_logs(results_dir: Path) -> dict[str, tuple[str, int, pd.DataFrame]]:
    """run id → (model, seed, the log's step/k_t/M columns) for every run under ``results_dir`` that logs k_t."""
    found: dict[str, tuple[str, int, pd.DataFrame]] = {}
    for run_dir in sorted(p for p in results_dir.iterdir() if p.is_dir()) if results_dir.is_dir() else []:
        log = read_log(run_dir)
        cfg_path = run_dir / "config.json"
        if "k_t" not in log.columns or not cfg_path.exists():
            continue
        spec = json.loads(cfg_path.read_text()).get("spec", {})
        cols = [c for c in ("step", "k_t", "M") if c in log.columns]
        found[run_dir.name] = (str(spec.get("model", "?")), int(spec.get("seed", -1)),
                               log[cols].dropna(subset=["k_t"]).sort_values("step"))
    return found


def equilibrium_frame(logs: dict[str, tuple[str, int, pd.DataFrame]]) -> pd.DataFrame:
    """One row per run (:data:`COLUMNS`); the first step k_t left 0 is empty when it never did."""
    rows = []
    for run_id, (model, seed, log) in logs.items():
        above = log.loc[log["k_t"] > 0, "step"]
        rows.append({"run_id": run_id, "model": model, "seed": seed, "steps_logged": len(log),
                     "k_t_final": float(log["k_t"].iloc[-1]), "k_t_max": float(log["k_t"].max()),
                     "first_step_k_t_above_0": int(above.iloc[0]) if len(above) else None,
                     "M_final": float(log["M"].iloc[-1]) if "M" in log.columns else math.nan})
    return pd.DataFrame(rows, columns=COLUMNS)


def write_equilibrium(table_dir: Path) -> list[Path]:
    """``equilibrium.csv`` and ``equilibrium.png`` in ``table_dir`` from ``table_dir/results/*/log.jsonl``;
    nothing (and no files) when no run logs k_t."""
    logs = equilibrium_logs(table_dir / "results")
    if not logs:
        return []
    frame = equilibrium_frame(logs)
    csv = table_dir / "equilibrium.csv"
    write_with(csv, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.6g"))
    models = sorted({m for m, _, _ in logs.values()})
    colours = dict(zip(models, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    fig, (ax_k, ax_m) = plt.subplots(1, 2, figsize=(9.0, 3.2))
    labelled: set[str] = set()
    for model, _seed, log in logs.values():
        label = None if model in labelled else model
        labelled.add(model)
        ax_k.plot(log["step"], log["k_t"], color=colours[model], lw=1, alpha=0.8, label=label)
        if "M" in log.columns:
            ax_m.plot(log["step"], log["M"], color=colours[model], lw=1, alpha=0.8)
    ax_k.set(xlabel="iteration", ylabel="k_t (Khan eq. 12)", title="k_t, one line per run")
    ax_m.set(xlabel="iteration", ylabel="M (Khan §3.4)", title="convergence measure M")
    ax_k.legend(fontsize=8)
    fig.tight_layout()
    png = table_dir / "equilibrium.png"
    write_with(png, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)
    return [csv, png]
