"""A study edition whose per-run results are committed (Study II, #30): resumable across sessions and clones.

Layout of such an edition's directory (``results/study-fashion/``)::

    <table>/results/<run_id>/   config.json, metrics.json, log.jsonl (losses and curve points),
                                samples.png, reconstructions.png: each finished run's small files (committed)
    <table>/summary.csv, curves.csv, sweep.yaml, mosaic-*.png, curves-*.png
                                rebuilt from <table>/results/ (committed)
    _work/<table>/runs/<run_id>/  the run directories, with their checkpoints (ignored by git)
    _jobs/                       the local executor's logs (ignored by git)

A run counts as done when its results exist in any table of the edition (``metrics.json`` completed or
diverged): it is never trained again, even on a fresh clone without ``_work/``; a run two tables share is
trained once and its results copied to both. While the study runs, every run's results are copied out the
moment it finishes (so that whatever has finished can be committed while the rest trains), and one progress
line is printed per finished run and every few minutes (runs done / total, ETA): readable in a ``nohup`` log.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.study import CURVES_FILE, FINISHED, Edition, StudyTable, curves, sweep_of

RESULTS = "results"  # <out>/<table>/results/<run_id>/
WORK = "_work"  # <out>/_work/<table>/runs/<run_id>/
JOBS = "_jobs"
RESULT_FILES = ("config.json", "metrics.json", "log.jsonl", "samples.png", "reconstructions.png")
HEARTBEAT_S = 300.0  # a progress line at least this often while runs train


# ---- where things live --------------------------------------------------------------------------
def results_root(out: str | Path, table: StudyTable) -> Path:
    return Path(out).resolve() / table.key / RESULTS


def work_paths(out: str | Path, table: StudyTable) -> Any:
    """The table's :class:`bench.executors.SweepPaths` of its run directories (``<out>/_work/<table>/``)."""
    from bench.executors import SweepPaths

    return SweepPaths(Path(out).resolve() / WORK / table.key)


def finished_status(run_dir: Path) -> str | None:
    """``completed`` or ``diverged`` from ``run_dir/metrics.json``; None otherwise (absent, running, failed)."""
    path = run_dir / "metrics.json"
    try:
        status = json.loads(path.read_text()).get("status") if path.is_file() else None
    except (OSError, ValueError, AttributeError):
        return None
    return status if status in FINISHED else None


def export_run(src: Path, dst: Path) -> bool:
    """Copy a finished run's small files (:data:`RESULT_FILES`, never the checkpoint) from ``src`` (a run
    directory or another table's results) to ``dst`` atomically (a folder renamed into place); False if
    ``src`` is not finished. An existing ``dst`` is replaced only when its files differ."""
    if finished_status(src) is None:
        return False
    names = [n for n in RESULT_FILES if (src / n).is_file()]
    if dst.is_dir() and all((dst / n).is_file() and (dst / n).read_bytes() == (src / n).read_bytes() for n in names):
        return True
    tmp = dst.with_name(f".{dst.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for n in names:
        shutil.copy2(src / n, tmp / n)
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        dst.rename(old)
        tmp.rename(dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(dst)
    return True


# ---- planning ----------------------------------------------------------------------------------
@dataclass
class EditionPlan:
    """What one invocation does: ``plan.todo`` (each run id once, trained in its first table's ``_work``),
    ``targets`` (run id → every results folder that wants it), ``copies`` (results folders to fill now from
    results or finished run directories that already exist), ``per_table`` (runs still missing per table)."""

    plan: Any
    targets: dict[str, list[Path]]
    copies: list[tuple[Path, Path]]
    per_table: dict[str, int]
    total: int  # distinct runs of the selected tables
    done: int  # of which already have results
    names: dict[str, str] = field(default_factory=dict)  # run id → "model seed s (table)" for progress lines


def make_edition_plan(ed: Edition, tables: list[StudyTable], out: str | Path, *, device: str = "cpu",
                      data_root: str | None = None, weights_dir: str | None = None) -> EditionPlan:
    """Sort the selected tables' runs into done (results in any table of the edition, or a finished run
    directory whose results are still to be copied) and to train (each run id once)."""
    from bench.executors import Plan

    have: dict[str, Path] = {}  # run id → a source of its results (results folder first, then a run dir)
    for t in ed.tables:  # results committed by any table of the edition count for every table
        root = results_root(out, t)
        if root.is_dir():
            for d in sorted(root.iterdir()):
                if finished_status(d) is not None:
                    have.setdefault(d.name, d)
    for t in ed.tables:
        runs = work_paths(out, t).runs
        if runs.is_dir():
            for d in sorted(runs.iterdir()):
                if finished_status(d) is not None:
                    have.setdefault(d.name, d)
    todo: list[tuple[Any, Path]] = []
    targets: dict[str, list[Path]] = {}
    copies: list[tuple[Path, Path]] = []
    per_table: dict[str, int] = {}
    names: dict[str, str] = {}
    resumable = 0
    kw = {"device": device, "data_root": data_root, "weights_dir": weights_dir}
    for t in tables:
        sweep, runs = sweep_of(t), work_paths(out, t).runs
        per_table[t.key] = 0
        for cell in sweep.cells():
            spec = sweep.run_spec(cell, **kw)  # type: ignore[arg-type]
            rid = spec.run_id()
            dst = results_root(out, t) / rid
            if finished_status(dst) is not None:
                continue
            if rid in have:
                copies.append((have[rid], dst))
                continue
            per_table[t.key] += 1
            if rid not in targets:
                targets[rid] = []
                todo.append((spec, runs / rid))
                resumable += (runs / rid / "checkpoint.pt").exists()
                hp = "".join(f" {k}={v}" for k, v in cell.hp.items())
                names[rid] = f"{cell.model}{hp} seed {cell.seed} ({t.key})"
            targets[rid].append(dst)
    ids = {rid for t in tables for rid in _run_ids(t)}
    done = len(ids) - len(targets)
    return EditionPlan(Plan(todo, {"with results": done} if done else {}, resumable, 0), targets, copies, per_table,
                       len(ids), done, names)


def _run_ids(table: StudyTable) -> list[str]:
    from bench import sweep as sweepmod

    return sweepmod.run_ids(sweep_of(table))


# ---- progress ----------------------------------------------------------------------------------
def duration(seconds: float) -> str:
    """``3 h 05 min``, ``12 min``, ``40 s``."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 60} min" if s >= 60 else f"{s} s"


def progress_line(done: float, total: int, elapsed: float, start_done: float) -> str:
    """``runs done/total`` and the ETA from this invocation's rate (fraction of runs per second)."""
    rate = (done - start_done) / elapsed if elapsed > 0 else 0.0
    eta = "ETA unknown" if rate <= 0 else f"ETA {duration((total - done) / rate)}"
    return f"[study] {done:.1f}/{total} runs done, {duration(elapsed)} elapsed, {eta}"


def watch(jobs: list[Any], ep: EditionPlan, *, steps: dict[str, int], progress: bool = True,
          poll_s: float = 2.0, heartbeat_s: float = HEARTBEAT_S) -> dict[str, str]:
    """Wait for ``jobs``; the moment a run finishes, copy its results to every table that has it and print a
    progress line (a diverged run: its step; a failed one: its reason, and the study goes on). Returns
    ``{run_id: status}`` of the runs that ended; raises :class:`bench.executors.ExecutorError` naming a
    crashed job (not a failed run: that is recorded)."""
    from bench.executors import TERMINAL, ExecutorError, last_step, run_status

    ended: dict[str, str] = {}
    start, last_beat = time.monotonic(), time.monotonic()
    total = ep.total

    def say(text: str) -> None:
        if progress:
            print(text, flush=True)

    while True:
        all_done = all(j.done() for j in jobs)
        partial = 0.0
        for spec, d in ep.plan.todo:
            rid = spec.run_id()
            status = run_status(d)
            if status in TERMINAL and rid not in ended:
                ended[rid] = str(status)
                for dst in ep.targets.get(rid, []):
                    export_run(d, dst)
                record = json.loads((d / "metrics.json").read_text())
                reason = " ".join(str(record.get("reason", "")).split())[:160]
                what = {"diverged": f"diverged at step {record.get('step')}",
                        "failed": f"failed ({reason})"}.get(str(status), str(status))
                say(f"[study] {ep.names.get(rid, rid)}: {what}; "
                    + progress_line(ep.done + len(ended), total, time.monotonic() - start, ep.done)[8:])
            elif status not in TERMINAL:
                partial += min(last_step(d) / max(steps.get(rid, 1), 1), 0.99)
        now = time.monotonic()
        if now - last_beat >= heartbeat_s and not all_done:
            last_beat = now
            say(progress_line(ep.done + len(ended) + partial, total, now - start, ep.done))
        if all_done:
            break
        time.sleep(poll_s)
    crashed = [f"job {j.job_id}: {' '.join(str(e).split())[-200:]}" for j in jobs if (e := j.exception()) is not None]
    if crashed:
        raise ExecutorError("; ".join(crashed) + f" (logs: {Path(jobs[0].paths.stdout).parent})")
    return ended


# ---- running -------------------------------------------------------------------------------------
def run_edition(ed: Edition, tables: list[StudyTable], out: str | Path, *, executor: str = "local", parallel: int = 2,
                device: str = "cpu", threads: int = 1, progress: bool = True, data_root: str | None = None,
                weights_dir: str | None = None) -> EditionPlan:
    """Train what has no results yet (each run id once), copy results to every table that shares a run,
    and rebuild every selected table's summary and curves from its results."""
    from bench.atomic import atomic_path
    from bench.executors import SweepPaths, expected_steps, preflight, submit_local

    ep = make_edition_plan(ed, tables, out, device=device, data_root=data_root, weights_dir=weights_dir)
    if executor == "local":
        preflight(ep.plan)
    for src, dst in ep.copies:
        export_run(src, dst)
    for t in tables:
        root = Path(out).resolve() / t.key
        root.mkdir(parents=True, exist_ok=True)
        with atomic_path(root / "sweep.yaml") as tmp:
            tmp.write_text(sweep_of(t).to_yaml())
    if ep.plan.todo:
        for _, d in ep.plan.todo:
            d.parent.mkdir(parents=True, exist_ok=True)
        if progress:
            print(f"[study] {ep.total} runs, {ep.done} with results; training {len(ep.plan.todo)} "
                  f"({ep.plan.resumable} resumed from a checkpoint) with {min(parallel, len(ep.plan.todo))} "
                  f"worker(s); results go to {Path(out)}/<table>/{RESULTS}/", flush=True)
        root = SweepPaths(Path(out).resolve() / JOBS)
        if executor == "local":
            jobs = submit_local(ep.plan, root, parallel, threads)
        else:
            from slurm import submit_slurm

            jobs = submit_slurm(ep.plan, root, sweep_of(tables[0]), threads)
        watch(jobs, ep, steps=expected_steps(ep.plan), progress=progress)
    for t in tables:
        write_table_outputs(t, out)
    return ep


def write_table_outputs(table: StudyTable, out: str | Path) -> None:
    """``summary.csv`` and ``curves.csv`` of one table from its committed results (atomically)."""
    from bench.atomic import write_with
    from bench.summary import write_summary

    root = results_root(out, table)
    if not root.is_dir():
        return
    ids = _run_ids(table)
    write_summary(root, root.parent / "summary.csv", table.key, ids)
    df = curves(root, ids)
    write_with(root.parent / CURVES_FILE, lambda tmp: df.to_csv(tmp, index=False))


# ---- the report ------------------------------------------------------------------------------------
def write_mosaics(table: StudyTable, out: str | Path) -> list[Path]:
    """The sample and reconstruction mosaics of a table, drawn from its committed results' pictures."""
    from bench.report.load import aggregate, read_summary
    from bench.report.plots import mosaic

    root = Path(out) / table.key
    if not (root / "summary.csv").exists() or not (root / RESULTS).is_dir():
        return []
    res = aggregate(read_summary(root / "summary.csv"))
    paths: list[Path] = []
    for image in ("samples.png", "reconstructions.png"):
        paths += mosaic(res, root / RESULTS, image, root / f"mosaic-{image[:-4]}", side_by_side=True)
    return paths


def write_edition_report(ed: Edition, out: str | Path, tables: list[StudyTable] | None = None) -> list[Path]:
    """The edition's report through the study's report (:func:`bench.report.study.write_report`, so it has the
    same statistics), from the tables' committed results: every table's summary and curves rebuilt first (a
    table's report may borrow another's models), the reported tables' mosaics, the real-data reference computed
    once on the edition's dataset; then α-GAN's learning-rate box plots."""
    from bench.report.study import real_reference, write_report

    out = Path(out)
    tables = list(tables or ed.tables)
    if ed.committed:
        for t in ed.tables:
            write_table_outputs(t, out)
        for t in tables:
            write_mosaics(t, out)
    real_reference(out, ed.dataset, ed.reference_n)
    if ed.committed:  # a pre-registered edition (#30): the plan's report (docs/study-plan.md §5-§8)
        from bench.report.study_fashion import write_fashion_report

        return write_fashion_report(out, tables, list(ed.tables))
    paths = write_report(out, tables)
    alpha = next((t for t in tables if t.key == "alphagan"), None)
    if alpha is not None and (out / alpha.key / "summary.csv").exists():
        from bench.report.sweep_boxplot import write_lr_sweep

        paths += write_lr_sweep(out / alpha.key / "summary.csv", out / alpha.key)
    return paths


def report_inputs(tables: list[StudyTable], out: str | Path, committed: bool) -> list[StudyTable]:
    """The tables of ``tables`` that have something to report under ``out`` (a summary, or results)."""
    root = Path(out)
    return [t for t in tables if (root / t.key / "summary.csv").is_file()
            or committed and (root / t.key / RESULTS).is_dir() and any((root / t.key / RESULTS).iterdir())]
