"""Read a sweep's ``summary.csv`` (long format, :mod:`bench.summary`) and aggregate it over seeds.

An *entry* is one model under one hyper-parameter setting (``model`` + ``params`` JSON): the
unit a table row (or column) shows. Only ``completed`` runs enter means; diverged and failed
runs are counted per (dataset, entry) so that tables can say how many seeds were excluded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.errors import BenchError

REQUIRED = ("dataset", "model", "seed", "status", "metric", "value")


class ReportInputError(BenchError):
    """A missing or malformed sweep directory / ``summary.csv``."""


def read_summary(path: str | Path) -> pd.DataFrame:
    """``summary.csv`` as a DataFrame with the columns the report needs (``params`` defaults to {})."""
    path = Path(path)
    if not path.exists():
        raise ReportInputError(f"no summary.csv at {path} (run `python -m bench sweep ...` first, "
                               "or rebuild it with bench.summary.write_summary)")
    try:
        df = pd.read_csv(path, dtype={"metric": str, "params": str, "model": str, "dataset": str},
                         keep_default_na=False, na_values={"value": [""], "seed": [""]})
    except pd.errors.EmptyDataError:
        raise ReportInputError(f"{path} is empty (not even a header): rebuild it with: python -m bench status "
                               f"{path.parent}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ReportInputError(f"cannot parse {path}: {' '.join(str(err).split())}") from None
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ReportInputError(f"{path} lacks column(s) {', '.join(missing)} (expected bench.summary's long format)")
    if "params" not in df.columns:
        df["params"] = "{}"
    df["params"] = df["params"].replace("", "{}")
    df["value"] = pd.to_numeric(df["value"], errors="coerce")
    return df


@dataclass
class Entry:
    """One model under one hyper-parameter setting."""

    model: str
    params: str = "{}"  # canonical JSON (sorted keys), as bench.summary writes it
    label: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.model, self.params)


@dataclass
class Agg:
    """Per-seed values of one (dataset, model, params, metric) over completed runs."""

    values: list[float] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(pd.Series(self.values).mean())

    @property
    def std(self) -> float | None:
        """Sample standard deviation (ddof = 1) over seeds; None with a single seed."""
        return float(pd.Series(self.values).std(ddof=1)) if self.n > 1 else None


@dataclass
class Excluded:
    """Runs of one (dataset, entry) left out of the means, by status."""

    diverged: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    total: int = 0


@dataclass
class Results:
    """The aggregated sweep: values per cell, excluded runs, and the entries with their labels."""

    cells: dict[tuple[str, str, str, str], Agg]  # (dataset, model, params, metric)
    excluded: dict[tuple[str, str, str], Excluded]  # (dataset, model, params)
    entries: dict[str, list[Entry]]  # model -> its hyper-parameter settings
    datasets: list[str]
    metrics: list[str]
    frame: pd.DataFrame

    def get(self, dataset: str, model: str, params: str, metric: str) -> Agg | None:
        return self.cells.get((dataset, model, params, metric))

    def models(self) -> list[str]:
        return sorted(self.entries)

    def has(self, dataset: str | None = None, model: str | None = None, metric: str | None = None) -> bool:
        """Whether any completed value matches the given coordinates."""
        return any((dataset is None or d == dataset) and (model is None or m == model) and (metric is None or k == metric)
                   for d, m, _, k in self.cells)


def _short(params: str, varying: set[str]) -> str:
    p = json.loads(params)
    return ", ".join(f"{k}={p[k]}" for k in sorted(varying) if k in p)


def aggregate(df: pd.DataFrame) -> Results:
    """Group completed runs' values by (dataset, model, params, metric) and count excluded runs."""
    cells: dict[tuple[str, str, str, str], Agg] = {}
    excluded: dict[tuple[str, str, str], Excluded] = {}
    run_cols = ["dataset", "model", "params", "seed", "status"] + (["run_id"] if "run_id" in df.columns else [])
    for _, r in df[run_cols].drop_duplicates().iterrows():
        ex = excluded.setdefault((r["dataset"], r["model"], r["params"]), Excluded())
        ex.total += 1
        if r["status"] == "diverged":
            ex.diverged.append(int(r["seed"]))
        elif r["status"] != "completed":
            ex.failed.append(int(r["seed"]))
    ok = df[(df["status"] == "completed") & (df["metric"] != "") & df["value"].notna()]
    for (d, m, p, k), g in ok.groupby(["dataset", "model", "params", "metric"], sort=True):
        cells[(d, m, p, k)] = Agg([float(v) for v in g["value"]], [int(s) for s in g["seed"]])
    by_model: dict[str, set[str]] = {}
    for _d, m, p in excluded:
        by_model.setdefault(m, set()).add(p)
    entries: dict[str, list[Entry]] = {}
    for m, ps in by_model.items():
        dicts = [json.loads(p) for p in ps]
        keys = set().union(*dicts) if dicts else set()
        varying = {k for k in keys if len({json.dumps(d.get(k), sort_keys=True) for d in dicts}) > 1}
        entries[m] = [Entry(m, p, f"{m} [{_short(p, varying)}]" if len(ps) > 1 else m) for p in sorted(ps)]
    datasets = sorted({d for d, _, _ in excluded})
    metrics = sorted({k for *_, k in cells})
    return Results(cells, excluded, entries, datasets, metrics, df)
