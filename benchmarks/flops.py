"""FLOPs per training iteration and per evaluated image, counted with ``torch.utils.flop_counter`` (issue #7).

FLOP counts do not depend on the device or its load, so they are counted here (meta device or CPU) for every
(model, dataset, protocol) of each shipped paper sweep, with the sweep's own resolved configuration (width 128,
batch 64, the dataset's resolution, the paper presets), and turned into GPU-hour *estimates* by
:mod:`benchmarks.perf_report` with a stated peak and utilisation. The per-operator formulas are PyTorch's
(``torch.utils.flop_counter.flop_registry``, as ``FlopCounterMode``): matrix multiplications and convolutions,
forward and backward, 2 FLOPs per multiply-add; element-wise work is not counted, which is negligible in FLOPs
but not in time for launch-bound small models (hence the operator count, see PERFORMANCE.md).
:func:`linear_flops_check` compares the counter with the closed form of a Linear layer.

    python -m benchmarks.flops            # writes results/perf/flops.json
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from bench.data.base import Dataset, DataSpec, Split
from bench.run import RunSpec
from benchmarks.meta import header, save
from models.base import Model, RealBatches


def count_step_flops(model: Model, real: RealBatches, step: int) -> int:
    """FLOPs of one ``train_step`` (forward + backward of every update of the iteration)."""
    with Counter() as counter:
        model.train_step(real, step)
    return counter.flops


def linear_flops_check() -> tuple[int, int]:
    """(counted, closed form) for one Linear layer forward + backward: 3 × 2·B·I·O (fwd, grad-in, grad-w)."""
    b, i, o = 8, 16, 4
    lin = torch.nn.Linear(i, o)
    x = torch.randn(b, i, requires_grad=True)
    with Counter() as counter:
        lin(x).sum().backward()
    return counter.flops, 3 * 2 * b * i * o


# The real datasets of the shipped paper sweeps (shapes as bench/data/real.py builds them; train-split sizes
# from torchvision's classes, LSUN capped as in real.py) — known here without their files.
GPU_DATASETS: dict[str, tuple[tuple[int, int, int], int]] = {
    "cifar10": ((3, 32, 32), 50_000), "cifar100": ((3, 32, 32), 50_000), "svhn": ((3, 32, 32), 73_257),
    "colormnist": ((3, 32, 32), 60_000), "celeba": ((3, 64, 64), 162_770), "celeba96": ((3, 96, 96), 162_770),
    "lsun-bedroom": ((3, 64, 64), 300_000),
}


def data_spec(name: str) -> DataSpec:
    """The DataSpec of a real dataset of :data:`GPU_DATASETS` (no data needed)."""
    return DataSpec(name, "image", GPU_DATASETS[name][0])


class Counter(TorchDispatchMode):
    """FLOPs (torch.utils.flop_counter's per-operator formulas) and ATen operators dispatched.

    Written here instead of using ``FlopCounterMode`` because that mode's module-tracking hooks break
    ``torch.autograd.grad`` on a leaf (WGAN-GP's gradient penalty); the FLOP formulas are the library's own
    (``flop_registry``). The operator count is an upper bound on kernel launches per iteration (on a GPU, Adam's
    foreach path fuses its per-parameter operators)."""

    def __init__(self) -> None:
        super().__init__()
        self.ops = 0
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        self.ops += 1
        packet = func._overloadpacket
        if packet in flop_registry:
            self.flops += int(flop_registry[packet](*args, **kwargs, out_val=out))
        return out


def _fake_dataset(spec: DataSpec, n: int = 512) -> Dataset:
    g = torch.Generator().manual_seed(0)
    data = torch.randint(0, 256, (n, *spec.shape), generator=g, dtype=torch.uint8)
    return Dataset(spec, {"train": Split(data), "test": Split(data[:64])})


def iteration_cost(spec: RunSpec, data_spec: DataSpec, warmup: int = 2) -> dict[str, Any]:
    """FLOPs and dispatched operators of one iteration of the run ``spec`` (its resolved config: dataset
    defaults, protocol preset, overrides). Counted on the meta device (shapes only, no compute) when the model
    allows it, else on the CPU at batch 8 and scaled linearly to the configured batch (matmul/conv FLOPs are
    proportional to the batch). Models with a pre-training phase are counted in their adversarial phase
    (1 pre-training step), an upper bound of their average iteration."""
    from bench import config as cfgmod
    from bench.run import resolve
    from benchmarks.common import bench_overrides

    cls, cfg = resolve(spec, _fake_dataset(data_spec))
    over = {k: v for k, v in bench_overrides(cfg).items() if k not in ("width", "batch_size", "latent_dim")}
    cfg = cfgmod.override(cfg, {**over, "steps": 10**6})
    batch = cfg.batch_size
    for method in ("meta", "cpu"):
        b = batch if method == "meta" else min(8, batch)
        c = cfgmod.override(cfg, {"batch_size": b})
        torch.manual_seed(0)
        try:
            with torch.device("meta" if method == "meta" else "cpu"):
                model = cls(c, data_spec)
                model.optimizers = model.configure_optimizers()
            g = torch.Generator().manual_seed(0)

            def real(b: int = b, method: str = method, g: torch.Generator = g) -> Tensor:
                if method == "meta":
                    return torch.empty(b, *data_spec.shape, device="meta")
                return torch.rand(b, *data_spec.shape, generator=g) * 2 - 1

            for s in range(warmup):
                model.train_step(real, s)
            with Counter() as counter:
                model.train_step(real, warmup)
            scale = batch / b
            return {"flops": int(counter.flops * scale), "ops": counter.ops, "method": method,
                    "counted_batch": b, "batch": batch, "width": c.width}
        except RuntimeError:
            if method == "cpu":
                raise
    raise AssertionError("unreachable")


def sweep_costs(names: list[str] | None = None) -> dict[str, Any]:
    """Per shipped paper sweep: cells, and per (model, dataset, protocol) the iteration cost and run count."""
    from bench import sweep as sweepmod

    out: dict[str, Any] = {}
    for path in sweepmod.shipped():
        sw = sweepmod.load(path, check_names=False)
        if names is not None and sw.name not in names:
            continue
        if any(d not in GPU_DATASETS for d in sw.datasets):  # the CPU sweeps (digits) are not GPU estimates
            continue
        groups: dict[str, Any] = {}
        for cell in sw.cells():
            key = f"{cell.model}|{cell.dataset}|{cell.protocol}"
            if key not in groups:
                rs = sw.run_spec(cell)
                cost = iteration_cost(rs, data_spec(cell.dataset))
                _, cfg = _resolved(rs, data_spec(cell.dataset))
                groups[key] = {"model": cell.model, "dataset": cell.dataset, "protocol": cell.protocol, "runs": 0,
                               "steps": rs.steps if rs.steps is not None else cfg.steps, **cost}
                print(f"{sw.name}: {key}: {cost['flops'] / 1e9:.1f} GFLOP, {cost['ops']} ops ({cost['method']})", flush=True)
            groups[key]["runs"] += 1
        out[sw.name] = {"paper": sw.paper, "cells": len(sw), "metrics": sw.resolved_metrics(),
                        "eval_samples": sw.eval_samples, "groups": list(groups.values())}
    return out


def _resolved(rs: RunSpec, data_spec: DataSpec) -> Any:
    from bench.run import resolve

    return resolve(rs, _fake_dataset(data_spec, 8))


def extractor_flops() -> dict[str, int]:
    """FLOPs per image of each battery extractor's forward pass (random weights, same architectures)."""
    import torchvision

    from benchmarks.random_weights import fidelity_inception

    x32 = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    out = {}
    nets = {"inception-v3-compat (FID15 family, 299 px)": (fidelity_inception(), x32),
            "inception-v3-tv (FID16, 299 px)": (torchvision.models.inception_v3(weights=None, init_weights=False).eval(),
                                                torch.rand(2, 3, 299, 299)),
            "resnet50-tv (FRD, 224 px)": (torchvision.models.resnet50(weights=None).eval(), torch.rand(2, 3, 224, 224))}
    for name, (net, x) in nets.items():
        with torch.no_grad(), Counter() as counter:
            net(x)
        out[name] = counter.flops // len(x)
    # clean-fid's network is the same TF-2015 graph as inception-v3-compat (its resize is a CPU PIL op)
    out["clean-fid-inception (fid_clean, 299 px)"] = out["inception-v3-compat (FID15 family, 299 px)"]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.flops", description=__doc__.splitlines()[0])
    p.add_argument("--sweeps", default=None, help="comma-separated sweep names (default: every shipped GPU sweep)")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    counted, closed = linear_flops_check()
    assert counted == closed, (counted, closed)
    rec: dict[str, Any] = {**header("cpu"), "counter_check_linear": [counted, closed],
                           "extractor_flops_per_image": extractor_flops(),
                           "sweeps": sweep_costs(args.sweeps.split(",") if args.sweeps else None)}
    path = save("flops", rec, Path(args.out) if args.out else None)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
