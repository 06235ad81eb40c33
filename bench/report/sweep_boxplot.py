"""α-GAN's comparison reported as the paper reports it (Rosca et al. 2017, §5, Figs. 2 and 5, App. H Table 2):
every run of a hyper-parameter sweep as one box per model, the best setting's mean and the spread.

Input: a study table's ``summary.csv`` (long format: ``model, seed, status, hp.<param>, metric, value``). Per
model and metric, over the completed runs: ``runs`` (every setting × seed), ``settings`` (how many values of
the swept parameter), the best setting (the value of ``hp.<param>`` whose mean over seeds is best in the
metric's direction), its mean and sample standard deviation over seeds, and the spread of every run: min,
first quartile, median, third quartile, max (numpy's default linear quantiles, as matplotlib's box plot).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.atomic import write_with  # noqa: E402
from bench.report import stats  # noqa: E402
from bench.report.load import read_summary  # noqa: E402
from bench.report.plots import save  # noqa: E402

SWEEP_METRICS = ("critic_w", "is_domain", "fd_domain")  # α-GAN Fig. 2 (critic), Fig. 5 (IS), Fig. 3-4 (FID)
PARAM = "lr"
STEM = "lr-sweep"


def completed_runs(summary: pd.DataFrame, metric: str, param: str = PARAM) -> pd.DataFrame:
    """``model, setting, seed, value`` of the completed runs that have ``metric``."""
    col = f"hp.{param}"
    ok = summary[(summary["status"] == "completed") & (summary["metric"] == metric) & summary["value"].notna()]
    if ok.empty or col not in ok.columns:
        return pd.DataFrame(columns=["model", "setting", "seed", "value"])
    return pd.DataFrame({"model": ok["model"].astype(str), "setting": ok[col].astype(float),
                         "seed": ok["seed"].astype(int), "value": ok["value"].astype(float)}).reset_index(drop=True)


def diverged_settings(summary: pd.DataFrame, param: str = PARAM) -> set[tuple[str, float]]:
    """(model, setting) with fewer than 2 of 3 (3 of 5; else at most half) of its runs completed: a diverged
    configuration (docs/study-plan.md §6), which cannot be a model's best setting."""
    col = f"hp.{param}"
    if col not in summary.columns or summary.empty:
        return set()
    runs = summary.drop_duplicates("run_id")
    out = set()
    for (model, setting), g in runs.groupby(["model", col]):
        planned, done = len(g), int((g["status"] == "completed").sum())
        if done < {3: 2, 5: 3}.get(planned, planned // 2 + 1):
            out.add((str(model), float(setting)))
    return out


def sweep_stats(summary: pd.DataFrame, metric: str, param: str = PARAM) -> pd.DataFrame:
    """One row per model: runs, settings, best setting (never a diverged one: :func:`diverged_settings`), its
    mean and std over seeds, and the spread of all runs."""
    runs = completed_runs(summary, metric, param)
    higher = stats.direction(metric) != "lower"
    gone = diverged_settings(summary, param)
    rows = []
    for model, g in runs.groupby("model", sort=True):
        means = g.groupby("setting")["value"].mean()
        ok = means[[(str(model), float(s)) not in gone for s in means.index]]
        best = math.nan if ok.empty else float(ok.idxmax() if higher else ok.idxmin())
        at_best = g[g["setting"] == best]["value"].to_numpy()  # empty when every setting diverged
        v = g["value"].to_numpy()
        q1, med, q3 = (float(x) for x in np.percentile(v, [25, 50, 75]))
        rows.append({"model": model, "metric": metric, "runs": len(v), "settings": int(means.size),
                     f"best {param}": best, "best mean": float(at_best.mean()) if len(at_best) else math.nan,
                     "best std": float(at_best.std(ddof=1)) if len(at_best) > 1 else math.nan,
                     "best seeds": len(at_best), "min": float(v.min()), "q1": q1, "median": med, "q3": q3,
                     "max": float(v.max())})
    return pd.DataFrame(rows)


def box_plot(summary: pd.DataFrame, metrics: tuple[str, ...], stem: Path, param: str = PARAM) -> list[Path]:
    """One panel per metric: a box of every run per model (points coloured by setting), the best setting's
    mean as a red diamond."""
    present = [m for m in metrics if not completed_runs(summary, m, param).empty]
    if not present:
        return []
    fig, axes = plt.subplots(1, len(present), figsize=(4.2 * len(present), 3.8), squeeze=False)
    for ax, metric in zip(axes[0], present, strict=True):
        runs = completed_runs(summary, metric, param)
        st = sweep_stats(summary, metric, param)
        models = list(st["model"])
        ax.boxplot([runs[runs["model"] == m]["value"].to_numpy() for m in models], widths=0.55, showfliers=False)
        settings = sorted(runs["setting"].unique())
        colours = plt.get_cmap("viridis")(np.linspace(0.1, 0.9, max(len(settings), 1)))
        for i, m in enumerate(models, start=1):
            g = runs[runs["model"] == m]
            for s, c in zip(settings, colours, strict=True):
                v = g[g["setting"] == s]["value"]
                if len(v):
                    ax.scatter(np.full(len(v), i), v, s=14, color=c, zorder=3, label=f"{param} {s:g}")
        ax.scatter(range(1, len(models) + 1), st["best mean"], marker="D", s=40, color="tab:red", zorder=4,
                   label="best setting's mean")
        ax.set_xticks(range(1, len(models) + 1), models, rotation=30, fontsize=8)
        how = stats.direction(metric)
        ax.set_title(metric + {"lower": " (lower is better)", "higher": " (higher is better)"}.get(how or "", ""),
                     fontsize=9)
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        ax.legend(unique.values(), unique.keys(), fontsize=6, loc="best")
    fig.suptitle(f"every run of the {param} sweep (settings × seeds), one box per model", fontsize=10)
    fig.tight_layout()
    return save(fig, stem)


def markdown(table: pd.DataFrame, param: str = PARAM) -> str:
    cols = ["model", "metric", "runs", "settings", f"best {param}", "best mean", "best std", "min", "median", "max"]

    def cell(v: object) -> str:
        return f"{v:.4g}" if isinstance(v, float) and math.isfinite(v) else ("—" if isinstance(v, float) else str(v))

    lines = ["| " + " | ".join(cols) + " |", "|---" * len(cols) + "|"]
    lines += ["| " + " | ".join(cell(r[c]) for c in cols) + " |" for _, r in table.iterrows()]
    return "\n".join(lines)


def write_lr_sweep(summary_csv: Path, out_dir: Path, metrics: tuple[str, ...] = SWEEP_METRICS,
                   param: str = PARAM) -> list[Path]:
    """``lr-sweep.csv`` (:func:`sweep_stats` of every metric), ``lr-sweep.md`` and the box plots."""
    summary = read_summary(summary_csv)
    table = pd.concat([sweep_stats(summary, m, param) for m in metrics], ignore_index=True)
    if table.empty:
        return []
    csv, md = out_dir / f"{STEM}.csv", out_dir / f"{STEM}.md"
    write_with(csv, lambda tmp: table.to_csv(tmp, index=False))
    text = (f"# α-GAN's comparison as a {param} sweep\n\nEvery completed run (settings × seeds) per model; the best "
            f"setting is the {param} whose mean over seeds is best in the metric's direction (α-GAN §5, App. H "
            f"Table 2).\n\n{markdown(table, param)}\n\n![{STEM}]({STEM}.png)\n")
    write_with(md, lambda tmp: tmp.write_text(text))
    return [csv, md, *box_plot(summary, metrics, out_dir / STEM, param)]
