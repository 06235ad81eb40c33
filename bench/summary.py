"""Aggregation: run directories → one long-format ``summary.csv`` (JSON → DataFrame, as in
disentanglement_lib's ``aggregate_results``). Rebuildable at any time from the run directories.

Columns: ``sweep, run_id, dataset, model, seed, protocol, status, step, params, hp.<key>…,
metric, value, n_samples``. A diverged or failed run contributes one row with an empty
``metric`` so that reports can count it; unavailable metrics are not rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from bench.atomic import write_with

COLUMNS = ["sweep", "run_id", "dataset", "model", "seed", "protocol", "status", "step", "params",
           "metric", "value", "n_samples"]
NON_METRIC_KEYS = {"status", "step", "resumed_from", "reason", "traceback", "sample_mode"}


def run_rows(run_dir: Path, sweep: str = "") -> list[dict[str, Any]]:
    """Long-format rows of one run directory (empty if it has no ``metrics.json`` yet)."""
    cfg_path, met_path = run_dir / "config.json", run_dir / "metrics.json"
    if not (cfg_path.exists() and met_path.exists()):
        return []
    cfg, met = json.loads(cfg_path.read_text()), json.loads(met_path.read_text())
    spec = cfg["spec"]
    params = dict(spec.get("overrides") or {})
    base = {"sweep": sweep or run_dir.parent.name, "run_id": cfg.get("run_id", run_dir.name), "dataset": spec["dataset"],
            "model": spec["model"], "seed": spec["seed"], "protocol": spec["protocol"], "status": met.get("status"),
            "step": met.get("step"), "params": json.dumps(params, sort_keys=True),
            **{f"hp.{k}": v for k, v in params.items()}}
    values = {k: v for k, v in met.items() if k not in NON_METRIC_KEYS and "." not in k and isinstance(v, (int, float))
              and not isinstance(v, bool)}
    if met.get("status") != "completed" or not values:
        return [{**base, "metric": "", "value": float("nan"), "n_samples": None}]
    return [{**base, "metric": k, "value": float(v), "n_samples": met.get(f"{k}.n")} for k, v in sorted(values.items())]


def collect(runs_root: str | Path, sweep: str = "", run_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Rows of the run directories under ``runs_root`` (only ``run_ids`` when given, so that runs
    left over from an earlier version of a sweep file do not enter its tables)."""
    keep = None if run_ids is None else set(run_ids)
    rows: list[dict[str, Any]] = []
    for run_dir in sorted(p for p in Path(runs_root).iterdir() if p.is_dir()):
        if keep is None or run_dir.name in keep:
            rows += run_rows(run_dir, sweep)
    df = pd.DataFrame(rows)
    return df if not df.empty else pd.DataFrame(columns=COLUMNS)


def write_summary(runs_root: str | Path, out: str | Path, sweep: str = "",
                  run_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Rebuild ``summary.csv`` atomically from the run directories under ``runs_root``."""
    df = collect(runs_root, sweep, run_ids)
    write_with(Path(out), lambda tmp: df.to_csv(tmp, index=False))
    return df


def seed_values(df: pd.DataFrame) -> dict[tuple[str, str], list[float]]:
    """(model, metric) → the completed seeds' values of a summary (``make bench``'s table, the study's)."""
    ok = df[(df["status"] == "completed") & (df["metric"] != "") & df["value"].notna()]
    return {(m, k): [float(v) for v in g["value"]] for (m, k), g in ok.groupby(["model", "metric"])}


def mean_std_table(df: pd.DataFrame, reference: dict[str, float] | None = None, digits: int = 4) -> str:
    """Markdown table: one row per model (+ a 'real data' reference row), one column per metric,
    cells ``mean ± std (n)`` over completed seeds; a metric a model lacks shows as '—'."""
    ok = df[(df["status"] == "completed") & (df["metric"] != "")]
    if ok.empty:
        return "(no completed runs)"
    agg = ok.groupby(["model", "metric"])["value"].agg(["mean", "std", "count"])
    metrics = sorted(ok["metric"].unique())
    header = "| model | " + " | ".join(metrics) + " |"
    lines = [header, "|" + "---|" * (len(metrics) + 1)]
    for model in sorted(ok["model"].unique()):
        cells = []
        for m in metrics:
            if (model, m) in agg.index:
                r = agg.loc[(model, m)]
                std = 0.0 if pd.isna(r["std"]) else r["std"]
                cells.append(f"{r['mean']:.{digits}f} ± {std:.{digits}f} ({int(r['count'])})")
            else:
                cells.append("—")
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    if reference:
        lines.append("| real data | " + " | ".join(f"{reference[m]:.{digits}f}" if m in reference else "—"
                                                 for m in metrics) + " |")
    return "\n".join(lines)
