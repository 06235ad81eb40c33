"""This machine's fp32 limit for the shapes that matter (issue #29): a large sgemm and the study models' own
convolutions (forward and backward, each distinct shape), at 1 and 2 torch threads.

The convolution shapes are collected from one training iteration of each of the study's 19 configurations
(benchmarks/step_ab.py's list; every ``aten.convolution`` and ``aten.convolution_backward`` the iteration
dispatches, with its output mask), then each distinct call is timed alone (best of several repeats: the least
disturbed by other processes on a shared machine) and turned into GFLOP/s with PyTorch's FLOP formulas
(``torch.utils.flop_counter``, 2 FLOPs per multiply-add). ``conv_mix_gflops`` is, per configuration, the rate its
own convolution mix would run at if every call ran at its alone-timed speed (total conv FLOPs / total alone time):
the attainable rate for that model's convolutions, beside the sgemm peak.

    python -m benchmarks.peak          # → results/perf/peak-cpu.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from benchmarks.meta import header, save

CONV = torch.ops.aten.convolution.default
CONV_BWD = torch.ops.aten.convolution_backward.default


class ConvRecorder(TorchDispatchMode):
    """Records every convolution forward/backward call: a hashable key of its shapes and arguments → count."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[tuple[Any, ...], int] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        if func in (CONV, CONV_BWD):
            key = (func.__name__,) + tuple(tuple(a.shape) if isinstance(a, torch.Tensor) else
                                           (tuple(a) if isinstance(a, list) else a) for a in args)
            self.calls[key] = self.calls.get(key, 0) + 1
        return func(*args, **kwargs)


def _args(key: tuple[Any, ...]) -> list[Any]:
    """Tensors (random, contiguous) and arguments of a recorded call."""
    name, *rest = key
    if name.startswith("convolution_backward"):
        grad, inp, weight, bias_sizes, stride, padding, dilation, transposed, out_pad, groups, mask = rest
        return [torch.randn(grad), torch.randn(inp), torch.randn(weight), list(bias_sizes) if bias_sizes else None,
                list(stride), list(padding), list(dilation), transposed, list(out_pad), groups, list(mask)]
    inp, weight, bias, stride, padding, dilation, transposed, out_pad, groups = rest
    return [torch.randn(inp), torch.randn(weight), torch.randn(bias) if bias is not None else None, list(stride),
            list(padding), list(dilation), transposed, list(out_pad), groups]


def time_best(fn: Callable[[], Any], repeats: int = 7, min_s: float = 0.02) -> float:
    """Best seconds per call over ``repeats`` blocks (each ≥ ``min_s`` long)."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-6)
    n = max(1, int(min_s / one))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def conv_call(key: tuple[Any, ...]) -> tuple[Callable[[], Any], int]:
    """(a function that runs the recorded call, its FLOPs)."""
    args = _args(key)
    op = CONV_BWD if key[0].startswith("convolution_backward") else CONV
    out = op(*args)
    packet = op._overloadpacket
    flops = int(flop_registry[packet](*args, out_val=out))
    return (lambda: op(*args)), flops


def sgemm(n: int) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / time_best(lambda: a @ b, repeats=5, min_s=0.2) / 1e9


def describe(key: tuple[Any, ...]) -> str:
    name, *rest = key
    if name.startswith("convolution_backward"):
        grad, inp, weight, *_, transposed, _op, _g, mask = rest
        what = "+".join(w for w, m in zip(("dinput", "dweight", "dbias"), mask, strict=True) if m)
        return f"{'convT' if transposed else 'conv'} bwd({what}) in {inp} w {weight}"
    inp, weight, *_, transposed, _op, _g = rest
    return f"{'convT' if transposed else 'conv'} fwd in {inp} w {weight}"


def collect() -> dict[str, dict[tuple[Any, ...], int]]:
    """Per study configuration: its convolution calls of one main iteration."""
    from benchmarks.step_ab import build_arm, run_steps, study_configs

    out = {}
    for config in study_configs():
        trainer = build_arm(config.spec, on=True)
        start = max(config.steps // 2, 3)
        torch.manual_seed(0)
        run_steps(trainer, start - 3, 3)
        with ConvRecorder() as rec:
            run_steps(trainer, start, 1)
        out[config.label] = rec.calls
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.peak", description=__doc__.split("\n\n")[0])
    p.add_argument("--sgemm", type=int, default=2048, help="matrix size of the sgemm (default 2048)")
    args = p.parse_args(argv)
    if args.sgemm < 64:
        print("error: --sgemm must be >= 64", file=sys.stderr)
        return 2
    record: dict[str, Any] = {**header("cpu"), "threads": {}}
    torch.set_num_threads(1)
    per_config = collect()
    keys = sorted({k for calls in per_config.values() for k in calls}, key=str)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        shapes = {}
        for key in keys:
            fn, flops = conv_call(key)
            s = time_best(fn)
            shapes[str(key)] = {"what": describe(key), "flops": flops, "seconds": s, "gflops": flops / s / 1e9}
        mix = {}
        for label, calls in per_config.items():
            fl = sum(shapes[str(k)]["flops"] * n for k, n in calls.items())
            sec = sum(shapes[str(k)]["seconds"] * n for k, n in calls.items())
            mix[label] = {"conv_gflop_per_iteration": fl / 1e9, "conv_seconds_alone": sec, "conv_mix_gflops": fl / sec / 1e9}
        best = max(shapes.values(), key=lambda r: r["gflops"])
        record["threads"][str(threads)] = {
            "sgemm_n": args.sgemm, "sgemm_gflops": sgemm(args.sgemm), "conv_shapes": shapes,
            "best_conv": best, "per_config": mix, "load_average_1": os.getloadavg()[0]}
        r = record["threads"][str(threads)]
        print(f"{threads} thread(s): sgemm {r['sgemm_gflops']:.1f} GFLOP/s, best conv {best['gflops']:.1f} "
              f"({best['what']}), load {r['load_average_1']:.1f}", flush=True)
    torch.set_num_threads(1)
    record["load_average_end_1_5_15"] = list(os.getloadavg())
    print(save("peak-cpu", record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
