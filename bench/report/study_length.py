"""τ against training length (#27): did the study's order settle before training stopped?

The runs log a learning curve (``curves.csv``: one metric, every 250 iterations) for the metrics named in the
sweep's ``eval.curve``. Where a table's ranked metric has a curve, τ-b against the paper is computed at every
logged step; where it has none (the committed digits study logs ``is_domain`` only, so FID's stand-in
``fd_domain`` and the reconstruction metrics have no curve) :func:`tau_by_step` says so and gives what exists:
τ-b between the curve metric's seed-mean order at each step and its order at the end of training. A model
trained for fewer iterations than another keeps its last logged value beyond its end (it stopped there).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.atomic import write_with  # noqa: E402
from bench.report import study_stats as ss  # noqa: E402
from bench.study import CURVES_FILE, TABLES, StudyTable  # noqa: E402

COLUMNS = ["table", "step", "metric", "against", "n_models", "tau_b"]


def curve_means(out: Path, table: StudyTable, models: list[str]) -> pd.DataFrame:
    """Seed-mean curve values, step × (metric, model), the models missing from the table's curves taken from
    another table of ``out`` (as its summaries are); each model's last value carried past its last step."""
    frames = []
    for t in [table, *[x for x in TABLES if x.key != table.key]]:
        path = out / t.key / CURVES_FILE
        if path.exists():
            c = pd.read_csv(path)
            have = {m for f in frames for m in f["model"].unique()}
            frames.append(c[c["model"].isin(set(models) - have)])
    if not frames:
        return pd.DataFrame()
    c = pd.concat(frames)
    if c.empty:
        return pd.DataFrame()
    wide = c.groupby(["step", "metric", "model"])["value"].mean().unstack(["metric", "model"]).sort_index()
    return wide.ffill()


def tau_by_step(out: str | Path, table: StudyTable, paper: dict[str, dict[str, float]] | None = None,
                models: list[str] | None = None) -> pd.DataFrame:
    """Rows (table, step, metric, against, n_models, tau_b): for each curve metric, τ-b of the seed-mean order at
    each step against its final order ("final"), and against the paper's values ``paper[metric]`` (model →
    value, in the suite metric's orientation) where the table ranks that metric."""
    out = Path(out)
    models = models or []
    wide = curve_means(out, table, models)
    rows = []
    if wide.empty:
        return pd.DataFrame(rows, columns=COLUMNS)
    for metric in wide.columns.get_level_values(0).unique():
        w = wide[metric][[m for m in models if m in wide[metric].columns]].dropna()
        if w.shape[1] < 2:
            continue
        final = w.iloc[-1].to_numpy()
        for step, vals in w.iterrows():
            rows.append({"table": table.key, "step": int(step), "metric": metric, "against": "final",
                         "n_models": w.shape[1], "tau_b": ss.tau_b(final.tolist(), vals.tolist())})
        ref = (paper or {}).get(metric)
        if ref:
            ms = [m for m in w.columns if m in ref]
            for step, vals in w[ms].iterrows():
                rows.append({"table": table.key, "step": int(step), "metric": metric, "against": "paper",
                             "n_models": len(ms), "tau_b": ss.tau_b([ref[m] for m in ms], vals.tolist())})
    return pd.DataFrame(rows, columns=COLUMNS)


def plot(df: pd.DataFrame, stem: Path) -> list[Path]:
    """One line per (table, against): τ-b against the training step."""
    if df.empty:
        return []
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for (table, metric, against), g in df.groupby(["table", "metric", "against"], sort=False):
        ax.plot(g["step"], g["tau_b"].astype(float), lw=1.3, ls="-" if against == "final" else "--",
                label=f"{table}: {metric} vs {'its final order' if against == 'final' else 'the paper'}")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xscale("log")
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("training step (log scale; a model past its last step keeps its last value)")
    ax.set_ylabel("Kendall τ-b")
    ax.set_title("τ-b against training length (seed means of the logged curve)", fontsize=9)
    ax.legend(fontsize=6)
    fig.tight_layout()
    path = stem.with_suffix(".png")  # PNG only: the report embeds it (a PDF beside it would be committed too)
    write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
    plt.close(fig)
    return [path]


def settled_text(df: pd.DataFrame, level: float = 0.8) -> str:
    """Per table: the first step from which the curve metric's order stays within τ-b ``level`` of its final
    order."""
    parts = []
    for (table, metric), g in df[df["against"] == "final"].groupby(["table", "metric"], sort=False):
        tau = g["tau_b"].astype(float).to_numpy()
        steps = g["step"].to_numpy()
        below = np.flatnonzero(~(tau >= level))
        first = steps[below[-1] + 1] if len(below) and below[-1] + 1 < len(steps) else (steps[0] if not len(below) else None)
        parts.append(f"{table}: {metric} order within τ-b {level} of its final order from step "
                     f"{'—' if first is None else f'{int(first):,}'} on (final step {int(steps[-1]):,})")
    return "; ".join(parts)
