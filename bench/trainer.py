"""The generic training loop around a model's ``train_step``.

Owns: a data order that is a pure function of (seed, step), global seeding, logging every
``log_every`` steps to ``log.jsonl``, atomic checkpoints every ``checkpoint_every`` steps and
at the end (model, optimisers, RNG state), resume from the last checkpoint, and divergence
detection (any non-finite logged value → status ``diverged`` with the first bad step).

Execution options (issue #7; all off by default, and off means the code path of the plain loop):
``precision="bf16"`` runs ``train_step`` under ``torch.autocast`` (bfloat16; no loss scaling needed),
``channels_last`` converts the model and every 4-D batch to NHWC, ``compile`` compiles each of the model's
networks in place with ``torch.compile`` (``nn.Module.compile``, so state-dict keys and checkpoints are
unchanged), ``data_on_device`` keeps the uint8 training split on the device and converts each batch there.

Speed-ups (issue #29, :func:`models.base.speedups_enabled`, on unless ``BENCH_SPEEDUPS=0``): on the CPU in fp32,
the image-facing convolutions take PyTorch's native kernel where oneDNN's is the slow one
(:func:`models.base.use_native_output_convolutions`), and a model listed in
:data:`CHANNELS_LAST_FASTER` trains in ``channels_last`` even when the option is not asked for, because it was
measured faster so on the CPU (benchmarks/step_ab.py, PERFORMANCE.md); the math is unchanged (losses equal within
float tolerance, tests/test_speed_equivalence.py). Off, the trainer is the code path it was before.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from bench.atomic import append_jsonl, write_with
from bench.config import PRECISIONS
from bench.data.base import Split, to_model_range
from models.base import Model, speedups_enabled, use_native_output_convolutions

CHECKPOINT = "checkpoint.pt"
LOG = "log.jsonl"
PROBE_SIZE = 512  # examples in the fixed batch the model's diagnostics are computed on at each log step
# torch.compile backend of the ``compile`` option; tests use the cheaper "aot_eager" (no C++ code generation).
COMPILE_BACKEND = os.environ.get("BENCH_COMPILE_BACKEND", "inductor")
# Model classes whose training iteration was measured faster in channels_last than in the default NCHW layout on
# the CPU at the study's setting (digits@16, width 32, batch 32, one thread): with the speed-ups on they train in
# it. Empty: measured with the speed-ups on (benchmarks/step_ab.py --variant channels_last, results/perf/
# step_ab-cpu-channels_last.json), no model gained beyond the A/B's noise (NCHW / NHWC 0.85-1.09 per model, 0.997
# summed over the 19 configurations), so none is switched; a class name here switches one.
CHANNELS_LAST_FASTER: frozenset[str] = frozenset()


def channels_last_default(model: Model) -> bool:
    """Whether ``model`` trains in channels_last when the option is not asked for: with the speed-ups on, for a
    model of :data:`CHANNELS_LAST_FASTER` on the CPU (a GPU keeps the option as given)."""
    return speedups_enabled() and model.device.type == "cpu" and type(model).__name__ in CHANNELS_LAST_FASTER


@dataclass
class TrainResult:
    """How training ended: ``completed`` or ``diverged`` (with the step it stopped at)."""

    status: str
    step: int
    resumed_from: int = 0
    reason: str = ""


class BatchStream:
    """Real batches in an order fixed by (seed, position): epoch e is ``randperm`` seeded by
    (seed, e), so a resumed run draws exactly the batches an uninterrupted one would."""

    def __init__(self, split: Split, batch_size: int, seed: int, device: torch.device, position: int = 0) -> None:
        self.split, self.batch_size, self.seed, self.device = split, batch_size, seed, device
        self.position = position  # number of batches drawn so far
        self._epoch, self._perm = -1, torch.empty(0, dtype=torch.long)
        self.on_device: Tensor | None = None  # optional: the whole split (as stored: uint8 images) on the device
        self.memory_format: torch.memory_format | None = None  # e.g. torch.channels_last for 4-D batches

    def _perm_for(self, epoch: int) -> Tensor:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(len(self.split), generator=g)
        return self._perm

    def __call__(self) -> Tensor:
        n, bs = len(self.split), self.batch_size
        per_epoch = max(n // bs, 1)  # drop the last incomplete batch, as DataLoader(drop_last=True)
        epoch, k = divmod(self.position, per_epoch)
        idx = self._perm_for(epoch)[k * bs : (k + 1) * bs]
        self.position += 1
        if self.on_device is not None:
            # the same elementwise conversion as Split.batch, after the gather instead of before (identical values)
            x = self.on_device[idx.to(self.on_device.device)]
            x = to_model_range(x) if self.split.kind == "image" else x.float()
        else:
            x = self.split.batch(idx).to(self.device, non_blocking=True)
        if self.memory_format is not None and x.dim() == 4:
            x = x.contiguous(memory_format=self.memory_format)
        return x

    def put_on_device(self) -> None:
        """Keep the whole split on the device (as stored, uint8 for images: 4x smaller than float)."""
        self.on_device = self.split.data.to(self.device)


class Trainer:
    """Runs ``model.train_step`` for ``steps`` iterations in ``run_dir`` (resuming if a checkpoint exists)."""

    def __init__(self, model: Model, train: Split, run_dir: Path, *, seed: int, steps: int, device: torch.device,
                 log_every: int = 50, checkpoint_every: int = 500, progress: bool = True,
                 on_log: Callable[[dict[str, Any]], None] | None = None, precision: str = "fp32",
                 channels_last: bool = False, compile: bool = False, data_on_device: bool = False,
                 curve_fn: Callable[[int], dict[str, float]] | None = None, curve_every: int = 0) -> None:
        self.curve_fn, self.curve_every = curve_fn, curve_every  # learning curve: logged with the step's record
        self.model, self.run_dir, self.seed, self.steps, self.device = model, Path(run_dir), seed, steps, device
        self.log_every, self.checkpoint_every, self.progress, self.on_log = log_every, checkpoint_every, progress, on_log
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.precision, self.channels_last, self.compile = precision, channels_last, compile
        self.stream = BatchStream(train, model.cfg.batch_size, seed, device)
        # the first PROBE_SIZE training examples, fixed: Model.diagnostics (e.g. active latent units) at each log
        self.probe = train.batch(slice(0, min(PROBE_SIZE, len(train)))).to(device)
        if data_on_device:
            self.stream.put_on_device()
        if speedups_enabled() and device.type == "cpu" and precision == "fp32" and not compile:
            use_native_output_convolutions(self.model)  # the image layers' slow oneDNN kernels (models/base.py)
        channels_last = channels_last or channels_last_default(model)
        self.channels_last = channels_last
        if channels_last:
            self.model.to(memory_format=torch.channels_last)  # 4-D weights (convolutions) become NHWC
            self.stream.memory_format = torch.channels_last
        if compile:
            import torch._functorch.config as functorch_config

            # models that call update(..., retain_graph=True) (e.g. VAE/GAN) need undonated backward buffers
            functorch_config.donated_buffer = False
            for net in self.model.children():  # in place: parameters and state-dict keys stay the same
                net.compile(backend=COMPILE_BACKEND)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """bf16 autocast around a training step when ``precision == "bf16"``, else a no-op."""
        if self.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # ---- checkpoints ----------------------------------------------------------------
    def save_checkpoint(self, step: int) -> None:
        """Atomically write model, optimisers, RNG and data position at ``step``."""
        state = {
            "step": step,
            "model": self.model.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in self.model.optimizers.items()},
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None,
            "data_position": self.stream.position,
        }
        write_with(self.run_dir / CHECKPOINT, lambda tmp: torch.save(state, tmp))

    def load_checkpoint(self) -> int:
        """Restore from ``checkpoint.pt`` if present; returns the step to continue from (0 if none)."""
        path = self.run_dir / CHECKPOINT
        if not path.exists():
            return 0
        state = torch.load(path, map_location=self.device, weights_only=False)
        self.model.load_state_dict(state["model"])
        for k, o in self.model.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        torch.set_rng_state(state["rng_cpu"])
        if state.get("rng_cuda") is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        self.stream.position = state["data_position"]
        self._truncate_log(state["step"])
        return int(state["step"])

    def _truncate_log(self, step: int) -> None:
        """Drop log lines written after the checkpoint (a killed run may have logged past it)."""
        log = self.run_dir / LOG
        if not log.exists():
            return
        keep = [ln for ln in log.read_text().splitlines() if ln.strip() and json.loads(ln).get("step", 0) <= step]
        write_with(log, lambda tmp: tmp.write_text("".join(k + "\n" for k in keep)))

    # ---- loop -----------------------------------------------------------------------
    def fit(self) -> TrainResult:
        """Train to ``steps``; stop early as ``diverged`` at the first non-finite logged value."""
        from tqdm import tqdm

        self.run_dir.mkdir(parents=True, exist_ok=True)
        if not self.model.optimizers:
            self.model.optimizers = self.model.configure_optimizers()
        start = self.load_checkpoint()
        if start == 0:
            torch.manual_seed(self.seed)
        if start > 0:
            append_jsonl(self.run_dir / LOG, {"step": start, "event": "resumed"})
        window: list[dict[str, Tensor]] = []
        bar = tqdm(total=self.steps, initial=start, desc=self.run_dir.name, disable=not self.progress,
                   unit="it", dynamic_ncols=True, leave=False)
        step = start
        try:
            while step < self.steps:
                self.model.train()
                with self.autocast():
                    window.append(self.model.train_step(self.stream, step))
                step += 1
                bar.update(1)
                if step % self.log_every == 0 or step == self.steps:
                    bad = self._flush(window, step)
                    window = []
                    if bad is not None:
                        return TrainResult("diverged", bad, start, "non-finite loss")
                if step % self.checkpoint_every == 0 and step < self.steps:
                    self.save_checkpoint(step)
        finally:
            bar.close()
        if step > start:
            self.save_checkpoint(step)
        return TrainResult("completed", step, start)

    def _flush(self, window: list[dict[str, Tensor]], step: int) -> int | None:
        """Log the window's last values (and means); return the first non-finite step, if any."""
        if not window:
            return None
        keys = sorted(window[-1])
        stacked = {k: torch.stack([w[k].detach().float().reshape(()) for w in window]).cpu() for k in keys}
        first = step - len(window) + 1
        for i in range(len(window)):
            if any(not math.isfinite(stacked[k][i].item()) for k in keys):
                append_jsonl(self.run_dir / LOG, {"step": first + i, "event": "diverged",
                                                  **{k: stacked[k][i].item() for k in keys}})
                return first + i
        record = {"step": step, **{k: stacked[k][-1].item() for k in keys}, **self.model.diagnostics(self.probe)}
        if self.curve_fn is not None and self.curve_every and (step % self.curve_every == 0 or step == self.steps):
            record.update(self.curve_fn(step))
        append_jsonl(self.run_dir / LOG, record)
        if self.on_log is not None:
            self.on_log(record)
        return None
