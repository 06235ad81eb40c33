"""``python -m bench perf report|estimate``: PERFORMANCE.md from the measurements in ``results/perf/``, and the
GPU-hour estimates of the shipped paper sweeps. The rendering and the estimate (its formula and assumptions)
live in :mod:`benchmarks.perf_report`, beside the scripts that produce the measurements."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from bench.cli import arguments, command
from bench.errors import BenchError
from benchmarks.perf_report import PERF_DIR, Assumptions, estimate, render

DEFAULT = Assumptions()


def _perf_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["report", "estimate"])
    p.add_argument("--perf-dir", default=str(PERF_DIR), help="where the measurement JSON files are (results/perf)")
    p.add_argument("--out", default="PERFORMANCE.md", help="report: the Markdown file written")
    p.add_argument("--peak-tflops", type=float, default=DEFAULT.peak_tflops, help="estimate: peak TFLOP/s assumed")
    p.add_argument("--utilisation", type=float, default=DEFAULT.utilisation, help="estimate: fraction of peak assumed (training)")
    p.add_argument("--op-us", type=float, default=DEFAULT.op_us, help="estimate: µs per dispatched operator (launch bound)")
    p.add_argument("--eval-utilisation", type=float, default=DEFAULT.eval_utilisation,
                   help="estimate: fraction of peak assumed (evaluation)")


@command("perf", "performance: render PERFORMANCE.md from results/perf, or estimate the paper sweeps' GPU-hours")
@arguments(_perf_args)
def cmd_perf(args: argparse.Namespace) -> int:
    """``report``: write PERFORMANCE.md; ``estimate``: print GPU-hours per shipped sweep."""
    from bench.outpaths import check_file

    perf_dir = Path(args.perf_dir)
    if args.action == "report":  # before anything is read or rendered
        check_file(args.out, "--out")
    for k in ("peak_tflops", "utilisation", "op_us", "eval_utilisation"):
        if not getattr(args, k) > 0:
            raise BenchError(f"bad value for --{k.replace('_', '-')}: {getattr(args, k)} (must be > 0)")
    assumed = Assumptions(peak_tflops=args.peak_tflops, utilisation=args.utilisation, op_us=args.op_us,
                          eval_utilisation=args.eval_utilisation)
    rows = estimate(perf_dir, **dataclasses.asdict(assumed))
    if args.action == "estimate":
        print(f"{'sweep':<16}{'runs':>6}{'train GPU-h':>13}{'eval GPU-h':>12}{'total':>9}  basis")
        for r in rows:
            print(f"{r['sweep']:<16}{r['runs']:>6}{r['train_gpu_h']:>13.1f}{r['eval_gpu_h']:>12.1f}{r['total_gpu_h']:>9.1f}  "
                  f"{r['basis']}")
        return 0
    from bench.atomic import atomic_path

    text = render(perf_dir, rows, assumed)
    with atomic_path(args.out) as tmp:
        tmp.write_text(text)
    print(f"wrote {args.out}")
    return 0
