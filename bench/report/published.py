"""Published numbers (docs/protocols.md §4, §5b) shipped as data in ``results/published/*.csv``.

Columns: ``paper, table, dataset, model, metric, mean, std, n_runs, note``, with the suite's
model names (``real`` = the papers' "true data" / "ground truth" / "real images" rows) and
metric names, so that a table can put the paper's value beside ours and their difference.

Optional columns say what quantity a number is, so that it is compared with ours only after conversion
(never silently): ``pixel_range`` (``[-1,1]`` or ``[0,1]``: the pixel range a pixel-space metric such as
MSE was computed on; the suite's is [0, 1], and MSE and Laplacian sharpness scale with the range squared),
``unit`` (``%`` where the paper prints a fraction in per cent) and ``spread`` (``std`` = sample standard
deviation over runs, the suite's; ``se`` = standard error over ``n_runs`` runs, converted as std = se·√n).
:attr:`Published.suite_mean` / :attr:`Published.suite_std` are the number in the suite's convention.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.errors import BenchError

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "results" / "published"
COLUMNS = ("paper", "table", "dataset", "model", "metric", "mean", "std", "n_runs", "note")
OPTIONAL_COLUMNS = ("pixel_range", "unit", "spread")
SUITE_RANGE = "[0,1]"
RANGES = {"[0,1]": 1.0, "[-1,1]": 2.0}  # width of the pixel range
RANGE_SQUARED = frozenset({"mse", "sharpness", "sharpness_recon"})  # metrics that scale with (range width)²
UNITS = {"": 1.0, "%": 0.01}
SPREADS = ("", "std", "se")

AVAE = "AVAE (Plumerault et al.)"
IDVAE = "IDVAE (Munjal et al.)"
AVAES = "AVAE-S (Naderi et al.)"
KHAN = "Khan et al. (VAE + BEGAN* + LSM)"
ALPHAGAN = "alpha-GAN (Rosca et al.)"
VEEGAN = "VEEGAN (Srivastava et al.)"
PACGAN = "PacGAN (Lin et al.)"


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
    pixel_range: str = ""  # "[-1,1]" / "[0,1]" for pixel-space metrics, "" where it does not apply
    unit: str = ""  # "%" where the paper prints per cent
    spread: str = ""  # "std" (sample std over runs), "se" (standard error over n_runs), "" (not stated)
    n_runs: int | None = None

    @property
    def source(self) -> str:
        return f"{self.paper}, {self.table}"

    @property
    def factor(self) -> float:
        """Multiplier from the printed number to the suite's convention ([0, 1] pixels, fractions)."""
        f = UNITS[self.unit]
        if self.pixel_range and self.metric in RANGE_SQUARED:
            f *= (RANGES[SUITE_RANGE] / RANGES[self.pixel_range]) ** 2
        return f

    @property
    def suite_mean(self) -> float:
        """The published mean in the suite's convention."""
        return self.mean * self.factor

    @property
    def suite_std(self) -> float | None:
        """The published spread as a sample std over runs in the suite's convention (SE · √n for ``se``)."""
        if self.std is None:
            return None
        std = self.std * math.sqrt(self.n_runs) if self.spread == "se" and self.n_runs else self.std
        return std * self.factor

    def conversions(self) -> list[str]:
        """What :attr:`suite_mean` / :attr:`suite_std` changed, in words (empty when nothing)."""
        out = []
        if self.pixel_range and self.metric in RANGE_SQUARED and self.pixel_range != SUITE_RANGE:
            out.append(f"on {self.pixel_range} pixels, ×{self.factor / UNITS[self.unit]:g} to {SUITE_RANGE}")
        if self.spread == "se" and self.std is not None and self.n_runs:
            out.append(f"± SE over {self.n_runs} runs, ×√{self.n_runs} to std")
        return out


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
            extra = {c: (r[c].strip() if c in df.columns else "") for c in OPTIONAL_COLUMNS}
            if (extra["pixel_range"] and extra["pixel_range"] not in RANGES) or extra["unit"] not in UNITS \
                    or extra["spread"] not in SPREADS:
                raise BenchError(f"{path} line {int(i) + 2}: bad pixel_range / unit / spread {extra}")
            n_runs = int(r["n_runs"]) if r["n_runs"].strip() else None
            if extra["spread"] == "se" and std is not None and n_runs is None:
                raise BenchError(f"{path} line {int(i) + 2}: a standard error needs n_runs")
            rows.append(Published(r["paper"], r["table"], r["dataset"], r["model"], r["metric"], mean, std, r["note"],
                                  text, n_runs=n_runs, **extra))
    return PublishedValues(rows)
