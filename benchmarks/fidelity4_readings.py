"""Issue #26 §4's two 5-seed readings on digits, from the committed sweep (``bench/sweeps/fidelity4_readings.yaml``):
``vae-began``'s β_eff (1, 10, 100) and AVAE's ``lz_norm_stats`` (fake, real).

Per setting: mean ± sample standard deviation over the seeds of ``fd_domain``, ``is_domain``, ``recon_class_acc``,
``mse`` and the active units at the last log step; then Welch's test of each alternative against the default
(β_eff = 10, the suite's per-pixel KL; ``fake``, the paper's reading) with the difference's 95 % interval and
Hedges' g, Holm-corrected over the tests of each reading (bench/report/study_stats.py).

    python -m benchmarks.fidelity4_readings [SWEEP_DIR]   # → SWEEP_DIR/../readings.md
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from bench.atomic import write_with
from bench.report import study_stats as ss

DEFAULT_DIR = Path("results/fidelity4-readings/fidelity4_readings")
METRICS = ("fd_domain", "is_domain", "recon_class_acc", "mse", "active_units")
TESTED = ("fd_domain", "recon_class_acc", "active_units")  # samples, reconstructions' class, posterior use


def last_active_units(run_dir: Path) -> float:
    rows = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines() if line.strip()]
    values = [r["active_units"] for r in rows if "active_units" in r]
    return float(values[-1]) if values else math.nan


def seeds_frame(sweep_dir: Path) -> pd.DataFrame:
    """One row per run: model, setting, seed and the metrics (active units from the run's log)."""
    summary = pd.read_csv(sweep_dir / "summary.csv")
    wide = summary.pivot_table(index=["run_id", "model", "seed"], columns="metric", values="value").reset_index()
    meta = summary.drop_duplicates("run_id").set_index("run_id")
    wide["setting"] = [f"β_eff = {meta.at[r, 'hp.kl_weight']:g}" if m == "vae-began"
                       else f"lz_norm_stats = {meta.at[r, 'hp.lz_norm_stats']}"
                       for r, m in zip(wide["run_id"], wide["model"], strict=True)]
    wide["active_units"] = [last_active_units(sweep_dir / "runs" / r) for r in wide["run_id"]]
    return wide


def fmt(v: float) -> str:
    return f"{v:.3g}" if math.isfinite(v) else "—"


def describe(df: pd.DataFrame) -> list[str]:
    lines = ["| model | setting | seeds | " + " | ".join(METRICS) + " |", "|---|---|---:|" + "---:|" * len(METRICS)]
    for (model, setting), g in df.groupby(["model", "setting"], sort=False):
        cells = [f"{fmt(g[m].mean())} ± {fmt(g[m].std(ddof=1))}" for m in METRICS]
        lines.append(f"| `{model}` | {setting} | {len(g)} | " + " | ".join(cells) + " |")
    return lines


def tests(df: pd.DataFrame, model: str, default: str) -> list[str]:
    sub = df[df["model"] == model]
    rows = []
    for setting in [s for s in dict.fromkeys(sub["setting"]) if s != default]:
        for metric in TESTED:
            a = sub.loc[sub["setting"] == setting, metric].to_numpy(float)
            b = sub.loc[sub["setting"] == default, metric].to_numpy(float)
            d = ss.difference(a, b)
            rows.append((setting, metric, d))
    ps = [d.p if d is not None and math.isfinite(d.p) else 1.0 for _, _, d in rows]
    adj = ss.holm(ps)
    out = [f"Welch's test against {default} (`{model}`), Holm over these {len(rows)} tests:", "",
           "| setting − default | metric | difference [95 % CI] | Hedges' g [95 % CI] | p | Holm p |",
           "|---|---|---|---|---:|---:|"]
    for (setting, metric, d), p_adj in zip(rows, adj, strict=True):
        if d is None or not math.isfinite(d.p):
            out.append(f"| {setting} | {metric} | constant on both sides | — | — | — |")
            continue
        out.append(f"| {setting} | {metric} | {fmt(d.diff)} [{fmt(d.diff_lo)}, {fmt(d.diff_hi)}] | "
                   f"{fmt(d.g)} [{fmt(d.g_lo)}, {fmt(d.g_hi)}] | {d.p:.2g} | {p_adj:.2g} |")
    return out


def report(sweep_dir: Path) -> str:
    df = seeds_frame(sweep_dir)
    lines = ["# Fidelity IV readings on digits, 5 seeds (issue #26 §4)", "",
             f"From `{sweep_dir}` (`bench/sweeps/fidelity4_readings.yaml`: digits@16, fair protocol, w = 32, latent 16, "
             "batch 32, Adam lr 1e-3, 800 iterations; metrics on 300 images). Mean ± sample sd over seeds; "
             "`active_units` at the last log step, of 16.", "", *describe(df), ""]
    lines += tests(df, "vae-began", "β_eff = 10") + [""]
    lines += tests(df, "avae", "lz_norm_stats = fake") + [""]
    per_seed = df.sort_values(["model", "setting", "seed"])[["model", "setting", "seed", *METRICS]]
    lines += ["Per seed:", "", "| model | setting | seed | " + " | ".join(METRICS) + " |",
              "|---|---|---:|" + "---:|" * len(METRICS)]
    lines += [f"| `{r.model}` | {r.setting} | {r.seed} | " + " | ".join(fmt(getattr(r, m)) for m in METRICS) + " |"
              for r in per_seed.itertuples()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    sweep_dir = Path(args[0]) if args else DEFAULT_DIR
    if not (sweep_dir / "summary.csv").exists():
        print(f"error: no summary.csv in {sweep_dir} (run: python -m bench sweep "
              "bench/sweeps/fidelity4_readings.yaml --out results/fidelity4-readings)", file=sys.stderr)
        return 2
    text = report(sweep_dir)
    out = sweep_dir.parent / "readings.md"
    write_with(out, lambda tmp: tmp.write_text(text))
    print(out)
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
