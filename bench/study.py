"""The study (#21): each seed-paper table's models re-run offline, and their rankings set against the papers'.

A study table is one shipped sweep file (``bench/sweeps/study_<table>.yaml``: plain data) plus how to read
the paper's ranking (:class:`StudyTable`: the published CSV rows and the offline metric that stands in for
each published one). ``python -m bench study`` runs every table's sweep into ``results/study/<table>/``
(resumable: finished runs are skipped), trains a run shared by two tables (same settings, same run id) once and
copies it, extracts the learning curves, and writes the report (:mod:`bench.report.study`).

Editions (:data:`EDITIONS`, ``python -m bench study --edition NAME``): ``digits`` (the default, above) and
``fashion`` (Study II, #30: the same tables on Fashion-MNIST at 32 px, sweeps in ``bench/sweeps/study-fashion/``,
results in ``results/study-fashion/``), whose finished runs' results are committed per run and never trained
again (:mod:`bench.study_results`).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from bench.atomic import write_with

DEFAULT_OUT = "results/study"
CURVES_FILE = "curves.csv"
FINISHED = ("completed", "diverged")


@dataclass(frozen=True)
class StudyTable:
    """One paper table's offline edition.

    ``paper``/``table`` select rows of ``results/published/*.csv``; ``metric_map`` maps each published metric to
    the suite's offline stand-in it is ranked against (FID → ``fd_domain``, IS → ``is_domain``…); ``rank_by``
    is the metric whose order the headline shows. A paper without a table (α-GAN) has no ``metric_map``: its
    stated pairwise findings are tested instead (bench.report.study.CLAIMS)."""

    key: str
    sweep: str
    title: str
    paper: str = ""
    tables: tuple[str, ...] = ()
    metric_map: dict[str, str] = field(default_factory=dict)
    rank_by: str = "fd_domain"  # the suite metric of the headline's order


# The offline stand-ins (docs/study.md): every Fréchet distance of a pretrained network (FID15, FID16, FRD,
# AVAE-S's four Inception layers) → fd_domain on the domain classifier; IS → is_domain; the rest as they are.
FD = "fd_domain"
TABLES: tuple[StudyTable, ...] = (
    StudyTable("avae_table1", "study_avae_table1", "AVAE Table I (7 models)", "AVAE (Plumerault et al.)",
               ("Table I",), {"fid": FD, "mse": "mse"}),
    StudyTable("idvae_table1", "study_idvae_table1", "IDVAE Table 1 (6 models)", "IDVAE (Munjal et al.)",
               ("Table 1",), {"fid": FD, "fid_tv16": FD, "frd": FD}),
    StudyTable("avaes_table3", "study_avaes_table3", "AVAE-S Tables II-III (4 models)", "AVAE-S (Naderi et al.)",
               ("Table III",), {"sharpness_recon": "sharpness_recon", "cosine": "cosine", "mse": "mse",
                                "fid_64_recon": "fd_domain_recon", "fid_192_recon": "fd_domain_recon",
                                "fid_768_recon": "fd_domain_recon", "fid_recon": "fd_domain_recon"},
               rank_by="fd_domain_recon"),
    StudyTable("khan_table1", "study_khan_table1", "Khan et al. Table 1 (2 models)", "Khan et al. (VAE + BEGAN* + LSM)",
               ("Table 1",), {"is": "is_domain"}, rank_by="is_domain"),
    # α-GAN reports figures (box plots over sweeps), not a table: no τ; its text's pairwise findings are tested
    StudyTable("alphagan", "study_alphagan", "α-GAN comparison (4 models)", "α-GAN (Rosca et al.)"),
)


# Study II (#30): the same five tables on Fashion-MNIST at 32 px, their sweeps in bench/sweeps/study-fashion/
# (Khan et al.'s Table 1 with DCGAN and ALI added; α-GAN's comparison over App. H's learning rates).
FASHION_SWEEPS = "study-fashion"
FASHION_TABLES: tuple[StudyTable, ...] = tuple(
    replace(t, sweep=f"{FASHION_SWEEPS}/{t.key}",
            title={"khan_table1": "Khan et al. Table 1 with DCGAN and ALI (4 models)",
                   "alphagan": "α-GAN comparison (4 models over App. H's learning rates)"}.get(t.key, t.title))
    for t in TABLES)


@dataclass(frozen=True)
class Edition:
    """One edition of the study: its tables (sweep files), its directory, the real-data reference's dataset
    and image count, and where finished runs keep their results. ``committed``: each finished run's small
    files are copied to ``<out>/<table>/results/<run_id>/`` (committed; a run with results there is never
    trained again, even on a fresh clone) and the run directories (checkpoints) live under ``<out>/_work/``
    (ignored by git); otherwise (the digits edition, as before) the run directories are ``<out>/<table>/runs/``."""

    key: str
    out: str
    tables: tuple[StudyTable, ...]
    dataset: str
    reference_n: int
    committed: bool
    description: str


EDITIONS: dict[str, Edition] = {
    "digits": Edition("digits", DEFAULT_OUT, TABLES, "digits@16", 300, False,
                      "offline 8×8 digits at 16 px, 300 images per metric (#21)"),
    "fashion": Edition("fashion", "results/study-fashion", FASHION_TABLES, "fashion-mnist@32", 10_000, True,
                       "Fashion-MNIST at 32 px, 10,000 images per metric (#30)"),
}
DEFAULT_EDITION = "digits"


def edition(name: str) -> Edition:
    """The edition named; an unknown name → one-line ConfigError."""
    from bench.errors import ConfigError

    if name not in EDITIONS:
        raise ConfigError(f"unknown study edition {name!r}; known: {', '.join(EDITIONS)}")
    return EDITIONS[name]


def table_names(tables: tuple[StudyTable, ...] = TABLES) -> list[str]:
    return [t.key for t in tables]


def select(names: list[str] | None, tables: tuple[StudyTable, ...] = TABLES) -> list[StudyTable]:
    """The tables named (all when ``names`` is empty); an unknown name → one-line ConfigError."""
    from bench.errors import ConfigError

    if not names:
        return list(tables)
    by_key = {t.key: t for t in tables}
    for n in names:
        if n not in by_key:
            raise ConfigError(f"unknown study table {n!r}; known: {', '.join(by_key)}")
    return [by_key[n] for n in names]


def sweep_of(table: StudyTable) -> Any:
    from bench import sweep as sweepmod

    return sweepmod.load(table.sweep)


def longer_text(sweep: Any) -> str:
    """The models a sweep trains for longer than its ``steps`` (``per_model.<m>.steps``), e.g. ", vae: 8000"."""
    return "".join(f", {m}: {o['steps']}" for m, o in sweep.per_model.items() if "steps" in o)


# ---- running ---------------------------------------------------------------------------------
@dataclass
class StudyPlan:
    """The union of the tables' to-do lists with each run id once (``owner``: where it is trained) and the
    copies to make afterwards (a table's run directory ← the owner's)."""

    plan: Any
    copies: list[tuple[Path, Path]]
    per_table: dict[str, int]


def make_study_plan(tables: list[StudyTable], out: str | Path, **kw: Any) -> StudyPlan:
    from bench.executors import Plan, SweepPaths, make_plan
    from bench.run import read_metrics

    todo: list[tuple[Any, Path]] = []
    owner: dict[str, Path] = {}
    copies: list[tuple[Path, Path]] = []
    finished: dict[str, int] = {}
    resumable = 0
    per_table: dict[str, int] = {}
    # finished runs of any table (trained there or copied) count for every table that shares the run id
    for t in tables:
        sweep, paths = sweep_of(t), SweepPaths.of(t.key, out)
        for cell in sweep.cells():
            run_dir = paths.runs / sweep.run_spec(cell).run_id()
            if (read_metrics(run_dir) or {}).get("status") in FINISHED:
                owner.setdefault(run_dir.name, run_dir)
    for t in tables:
        sweep, paths = sweep_of(t), SweepPaths.of(t.key, out)
        p = make_plan(sweep, paths, **kw)
        for status, n in p.finished.items():
            finished[status] = finished.get(status, 0) + n
        per_table[t.key] = len(p.todo)
        for spec, run_dir in p.todo:
            rid = spec.run_id()
            if rid in owner:
                copies.append((owner[rid], run_dir))
            else:
                owner[rid] = run_dir
                todo.append((spec, run_dir))
                resumable += (run_dir / "checkpoint.pt").exists()
    return StudyPlan(Plan(todo, finished, resumable, 0), copies, per_table)


def copy_run(src: Path, dst: Path) -> bool:
    """Copy a finished run (without its checkpoint) to another table's runs/; False if ``src`` is unfinished."""
    from bench.run import read_metrics

    if (read_metrics(src) or {}).get("status") not in FINISHED:
        return False
    tmp = dst.with_name(dst.name + ".copying")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, tmp, ignore=shutil.ignore_patterns("checkpoint.pt", "*.lock", ".claim*"))
    (tmp / "copied_from.txt").write_text(f"{src}\n")
    tmp.rename(dst)
    return True


def curves(runs_root: Path, run_ids: list[str]) -> pd.DataFrame:
    """Long-format learning curves (``model, seed, run_id, step, metric, value``) from the runs' ``log.jsonl``
    (the ``curve.<metric>`` values) and the final metrics.json values of the same metrics."""
    rows: list[dict[str, Any]] = []
    for rid in run_ids:
        d = runs_root / rid
        if not (d / "config.json").exists() or not (d / "log.jsonl").exists():
            continue
        spec = json.loads((d / "config.json").read_text())["spec"]
        for line in (d / "log.jsonl").read_text().splitlines():
            rec = json.loads(line) if line.strip() else {}
            for k, v in rec.items():
                if k.startswith("curve.") and isinstance(v, (int, float)):
                    rows.append({"model": spec["model"], "seed": spec["seed"], "run_id": rid, "step": rec["step"],
                                 "metric": k[len("curve."):], "value": float(v)})
    cols = ["model", "seed", "run_id", "step", "metric", "value"]
    return pd.DataFrame(rows, columns=cols).sort_values(["model", "seed", "step"]).reset_index(drop=True)


def write_table_outputs(table: StudyTable, out: str | Path) -> None:
    """``summary.csv`` and ``curves.csv`` of one table from its run directories (atomically)."""
    from bench import sweep as sweepmod
    from bench.executors import SweepPaths
    from bench.summary import write_summary

    sweep = sweep_of(table)
    paths = SweepPaths.of(table.key, out)
    if not paths.runs.is_dir():
        return
    ids = sweepmod.run_ids(sweep)
    write_summary(paths.runs, paths.summary, table.key, ids)
    df = curves(paths.runs, ids)
    write_with(paths.root / CURVES_FILE, lambda tmp: df.to_csv(tmp, index=False))


def run_study(tables: list[StudyTable], out: str | Path = DEFAULT_OUT, *, executor: str = "local",
              parallel: int = 2, device: str = "cpu", threads: int = 1, progress: bool = True,
              data_root: str | None = None, weights_dir: str | None = None) -> StudyPlan:
    """Train what is missing (each run id once), copy shared runs, write every table's summary and curves."""
    from bench.atomic import atomic_path
    from bench.executors import SweepPaths, expected_steps, preflight, submit_local, wait

    kw = {"device": device, "data_root": data_root, "weights_dir": weights_dir}
    sp = make_study_plan(tables, out, **kw)
    if executor == "local":
        preflight(sp.plan)
    for t in tables:
        paths = SweepPaths.of(t.key, out)
        paths.runs.mkdir(parents=True, exist_ok=True)
        with atomic_path(paths.sweep_file) as tmp:
            tmp.write_text(sweep_of(t).to_yaml())
    root = SweepPaths.of("_jobs", out)
    if executor == "local":
        jobs = submit_local(sp.plan, root, parallel, threads)
    else:
        from slurm import submit_slurm

        jobs = submit_slurm(sp.plan, root, sweep_of(tables[0]), threads)
    wait(jobs, sp.plan, steps=expected_steps(sp.plan), progress=progress)
    for src, dst in sp.copies:
        copy_run(src, dst)
    for t in tables:
        write_table_outputs(t, out)
    return sp
