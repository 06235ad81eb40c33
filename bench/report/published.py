"""Published numbers (PROTOCOLS.md §4) shipped as data in ``results/published/*.csv``.

Columns: ``paper, table, dataset, model, metric, mean, std, n_runs, note``, with the suite's
model names (``real`` = the papers' "true data" / "ground truth" / "real images" rows) and
metric names, so that a table can put the paper's value beside ours and their difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.errors import BenchError

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "results" / "published"
COLUMNS = ("paper", "table", "dataset", "model", "metric", "mean", "std", "n_runs", "note")

AVAE = "AVAE (Plumerault et al.)"
IDVAE = "IDVAE (Munjal et al.)"
AVAES = "AVAE-S (Naderi et al.)"
KHAN = "Khan et al. (VAE + BEGAN* + LSM)"
ALPHAGAN = "alpha-GAN (Rosca et al.)"


@dataclass(frozen=True)
class Published:
    """One number a paper reported (std None where the paper gave none)."""

    paper: str
    table: str
    dataset: str
    model: str
    metric: str
    mean: float
    std: float | None
    note: str
    text: str = ""  # the number as the paper printed it (trailing zeros kept), e.g. "0.05 ± 0.00"

    @property
    def source(self) -> str:
        return f"{self.paper}, {self.table}"


class PublishedValues:
    """All published rows, looked up by (dataset, model, metric), optionally restricted to one paper/table."""

    def __init__(self, rows: list[Published]) -> None:
        self.rows = rows
        self._by_key: dict[tuple[str, str, str], list[Published]] = {}
        for r in rows:
            self._by_key.setdefault((r.dataset, r.model, r.metric), []).append(r)

    def lookup(self, dataset: str, model: str, metric: str, paper: str | None = None,
               table: str | None = None) -> Published | None:
        """The published value of a cell (the first listed when several papers report it)."""
        for r in self._by_key.get((dataset, model, metric), []):
            if (paper is None or r.paper == paper) and (table is None or r.table == table):
                return r
        return None

    def has(self, dataset: str | None = None, model: str | None = None, metric: str | None = None,
            paper: str | None = None) -> bool:
        return any((dataset is None or r.dataset == dataset) and (model is None or r.model == model)
                   and (metric is None or r.metric == metric) and (paper is None or r.paper == paper)
                   for r in self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def load_published(directory: str | Path | None = None) -> PublishedValues:
    """Every ``*.csv`` under ``directory`` (default ``results/published/``), validated."""
    directory = Path(directory) if directory is not None else DEFAULT_DIR
    rows: list[Published] = []
    for path in sorted(directory.glob("*.csv")):
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        missing = [c for c in COLUMNS if c not in df.columns]
        if missing:
            raise BenchError(f"{path}: missing column(s) {', '.join(missing)}")
        for i, r in df.iterrows():
            try:
                mean = float(r["mean"])
                std = float(r["std"]) if r["std"].strip() else None
            except ValueError:
                raise BenchError(f"{path} line {int(i) + 2}: mean/std must be numbers") from None
            if not math.isfinite(mean):
                raise BenchError(f"{path} line {int(i) + 2}: mean is not finite")
            text = r["mean"].strip() + (f" ± {r['std'].strip()}" if std is not None else "")
            rows.append(Published(r["paper"], r["table"], r["dataset"], r["model"], r["metric"], mean, std, r["note"],
                                  text))
    return PublishedValues(rows)
