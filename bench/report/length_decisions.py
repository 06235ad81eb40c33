"""The training-length rule of the Fashion-MNIST edition (docs/study-plan.md §5), taken from the curves alone.

Per configuration (one model with one setting: the same run id in two tables is one configuration; α-GAN's
sweep gives one per learning rate) and watched metric (``is_domain``, ``fd_domain``, and ``fd_domain_recon``
where the model reconstructs): a least-squares line (scipy ``linregress``) through every seed's curve points
of the last quarter of training (steps ≥ 0.75 N, N the configuration's length, end inclusive); the one-sided p
of a slope in the improving direction (up for ``is_domain``, down for the distances); the fitted change over
the quarter, change = slope · (N − 0.75 N), in the improving direction, relative to the fitted value at the
quarter's start |intercept + slope · 0.75 N|. **Still improving**: p < 0.05 *and* relative change ≥ 2 %. A
configuration still improving on any watched metric trains 2N (up to the cap; §5.4).

``python -m bench.report.length_decisions <edition dir>`` writes ``<edition dir>/length_decisions.csv``: rows
of earlier lengths are kept (the record of each decision), rows of the lengths now on the curves replaced.
Curves are read from each table's ``curves.csv`` or, where it is absent, from the per-run committed results
(``<table>/results/<run_id>/log.jsonl``).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd
from scipy import stats as sps

from bench.atomic import write_with
from bench.report import study_tables as st
from bench.study import CURVES_FILE, FASHION_TABLES, StudyTable, curves

WATCHED = ("is_domain", "fd_domain", "fd_domain_recon")
UP = frozenset({"is_domain"})  # improving = rising; the distances improve falling
ALPHA = 0.05
FLOOR = 0.02  # the practical floor: the fitted change over the quarter ≥ 2 % of the fitted start
QUARTER = 0.75
FILE = "length_decisions.csv"
COLUMNS = ["configuration", "model", "tables", "length", "metric", "n_seeds", "n_points", "slope", "start",
           "change", "relative_change", "p", "still_improving", "configuration_still_improving"]


def slope_test(steps: list[float] | pd.Series, values: list[float] | pd.Series, length: float, up: bool
               ) -> dict[str, float | bool]:
    """The §5.3 test on the points of the last quarter (the caller passes every point; those at steps < 0.75
    ``length`` are dropped here)."""
    df = pd.DataFrame({"step": list(map(float, steps)), "value": list(map(float, values))})
    tail = df[df["step"] >= QUARTER * length]
    if tail["step"].nunique() < 2:
        return {"n_points": len(tail), "slope": math.nan, "start": math.nan, "change": math.nan,
                "relative_change": math.nan, "p": math.nan, "still_improving": False}
    fit = sps.linregress(tail["step"], tail["value"], alternative="greater" if up else "less")
    q0 = QUARTER * length
    start = fit.intercept + fit.slope * q0
    change = fit.slope * (length - q0) * (1 if up else -1)  # in the improving direction
    rel = change / abs(start) if start else math.inf
    return {"n_points": len(tail), "slope": float(fit.slope), "start": float(start), "change": float(change),
            "relative_change": float(rel), "p": float(fit.pvalue),
            "still_improving": bool(fit.pvalue < ALPHA and rel >= FLOOR)}


def table_curves(out: Path, table: StudyTable) -> pd.DataFrame:
    """A table's curves: ``curves.csv``, else the committed per-run results."""
    path = out / table.key / CURVES_FILE
    if path.exists():
        return pd.read_csv(path)
    root = out / table.key / "results"
    if not root.is_dir():
        return pd.DataFrame(columns=["model", "seed", "run_id", "step", "metric", "value"])
    return curves(root, sorted(d.name for d in root.iterdir() if d.is_dir()))


def run_settings(out: Path, table: StudyTable, run_ids: list[str]) -> pd.DataFrame:
    """``run_id, model, params, length`` of a table's runs: from ``summary.csv``, else each run's config.json
    and metrics.json."""
    path = out / table.key / "summary.csv"
    if path.exists():
        df = pd.read_csv(path, keep_default_na=False, dtype={"params": str})
        df = df.drop_duplicates("run_id")
        return pd.DataFrame({"run_id": df["run_id"], "model": df["model"], "params": df["params"],
                             "length": pd.to_numeric(df["step"], errors="coerce")})
    rows = []
    for rid in run_ids:
        d = out / table.key / "results" / rid
        spec = json.loads((d / "config.json").read_text()).get("spec", {}) if (d / "config.json").exists() else {}
        metrics = json.loads((d / "metrics.json").read_text()) if (d / "metrics.json").exists() else {}
        rows.append({"run_id": rid, "model": spec.get("model", rid.split("-")[0]),
                     "params": json.dumps(spec.get("overrides", {}), sort_keys=True), "length": metrics.get("step")})
    return pd.DataFrame(rows, columns=["run_id", "model", "params", "length"])


def decisions(out: str | Path, tables: tuple[StudyTable, ...] | list[StudyTable] = FASHION_TABLES) -> pd.DataFrame:
    """One row per (configuration, length, watched metric) of the curves now under ``out``."""
    out = Path(out)
    frames, settings = [], []
    for t in tables:
        c = table_curves(out, t)
        if c.empty:
            continue
        frames.append(c.assign(table=t.key))
        settings.append(run_settings(out, t, sorted(c["run_id"].unique())).assign(table=t.key))
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    runs = pd.concat(settings, ignore_index=True)
    first = runs.drop_duplicates("run_id").reset_index(drop=True)  # a run two tables share: one configuration
    first["params"] = first["params"].fillna("").astype(str)
    first["configuration"] = st.entry_names(first)
    first = first.set_index("run_id")
    runs["configuration"] = runs["run_id"].map(first["configuration"])
    tables_of = runs.groupby("configuration")["table"].agg(lambda s: ",".join(dict.fromkeys(s)))
    cur = pd.concat(frames, ignore_index=True).drop_duplicates(["run_id", "step", "metric"])
    cur = cur[cur["metric"].isin(WATCHED) & cur["run_id"].isin(first.index)]
    cur = cur.assign(configuration=cur["run_id"].map(first["configuration"]))
    # N: the run's length (its final step; the curve's last step where the run records none)
    last = cur.groupby("run_id")["step"].max()
    length = first["length"].where(first["length"].notna() & (first["length"] != ""), last.reindex(first.index))
    cur = cur.assign(length=cur["run_id"].map(pd.to_numeric(length, errors="coerce")).fillna(
        cur["run_id"].map(last)).astype(int))
    rows = []
    for (conf, n, metric), g in cur.groupby(["configuration", "length", "metric"], sort=True):
        res = slope_test(g["step"], g["value"], float(n), metric in UP)
        rows.append({"configuration": conf, "model": first.loc[g["run_id"].iloc[0], "model"],
                     "tables": tables_of[conf], "length": int(n), "metric": metric, "n_seeds": g["run_id"].nunique(),
                     **res})
    df = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "configuration_still_improving"])
    df["configuration_still_improving"] = df.groupby(["configuration", "length"])["still_improving"].transform("any")
    return df[COLUMNS]


def write_decisions(out: str | Path, tables: tuple[StudyTable, ...] | list[StudyTable] = FASHION_TABLES) -> Path:
    """``length_decisions.csv``: this call's rows, and the rows of (configuration, length) pairs the curves no
    longer hold (earlier lengths' decisions)."""
    out = Path(out)
    new = decisions(out, tables)
    path = out / FILE
    if path.exists():
        old = pd.read_csv(path)
        have = set(zip(new["configuration"], new["length"], strict=True))
        keep = old[[(c, int(n)) not in have for c, n in zip(old["configuration"], old["length"], strict=True)]]
        new = pd.concat([keep, new], ignore_index=True) if len(keep) else new
    new = new.sort_values(["configuration", "length", "metric"]).reset_index(drop=True)
    write_with(path, lambda tmp: new.to_csv(tmp, index=False, float_format="%.6g"))
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_dir():
        print(f"error: usage: python -m bench.report.length_decisions <edition dir> "
              f"(got {' '.join(args) or 'nothing'}{'' if len(args) != 1 else ': not a directory'})", file=sys.stderr)
        return 2
    try:
        path = write_decisions(args[0])
    except (OSError, ValueError, KeyError) as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    df = pd.read_csv(path)
    more = sorted(set(df[df["configuration_still_improving"].astype(bool)]["configuration"]))
    print(f"{path}: {df['configuration'].nunique()} configurations; still improving: {', '.join(more) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
