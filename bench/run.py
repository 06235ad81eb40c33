"""One run: resolve the config, train (resuming if possible), evaluate, write the run directory.

A run directory holds ``config.json`` (everything needed to re-run it, versions included),
``log.jsonl``, ``checkpoint.pt``, ``metrics.json`` (flat ``{name: value}`` + ``status`` + ``step``),
``samples.png`` and ``reconstructions.png``. All files are written atomically.
"""

from __future__ import annotations

import hashlib
import json
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from bench import config as cfgmod
from bench.atomic import write_json
from bench.data import load as load_dataset
from bench.data.base import Dataset
from bench.errors import BenchError, ConfigError
from bench.provenance import provenance
from bench.registry import models as model_registry
from models.base import RECONSTRUCT, SAMPLE, Model, ModelConfig

METRICS_FILE = "metrics.json"
CONFIG_FILE = "config.json"


@dataclass
class RunSpec:
    """Everything that defines a run (the cell of a sweep)."""

    model: str
    dataset: str
    seed: int = 0
    steps: int | None = None  # None: the model config's ``steps``
    protocol: Literal["fair", "paper"] = "fair"
    overrides: dict[str, Any] = field(default_factory=dict)
    metrics: list[str] | None = None  # None: every registered metric that applies
    eval_samples: Literal["quick", "paper"] = "quick"
    n_eval: int | None = None
    log_every: int = 50
    checkpoint_every: int = 500
    device: str = "cpu"
    data_root: str | None = None
    weights_dir: str | None = None
    # Execution options (bench/trainer.py, issue #7). precision changes results, so it is part of the
    # identity (only when not fp32, so the ids of fp32 runs are those they always had); the others are
    # execution details like the device.
    precision: Literal["fp32", "bf16"] = "fp32"
    eval_precision: Literal["fp32", "bf16"] = "fp32"  # of the metrics' feature extractors (same rule as precision)
    channels_last: bool = False
    compile: bool = False
    data_on_device: bool = False

    def identity(self) -> dict[str, Any]:
        """The fields that change results (not where data or weights live, nor the device)."""
        d = asdict(self)
        for k in ("device", "data_root", "weights_dir", "log_every", "checkpoint_every", "channels_last", "compile",
                  "data_on_device"):
            d.pop(k)
        for k in ("precision", "eval_precision"):
            if d[k] == "fp32":
                d.pop(k)
        return d

    def run_id(self) -> str:
        """Stable id: ``model-dataset-s<seed>-<hash of the identity>``."""
        digest = hashlib.sha1(json.dumps(self.identity(), sort_keys=True, default=str).encode()).hexdigest()[:8]
        return f"{self.model}-{self.dataset}-s{self.seed}-{digest}"


def resolve(spec: RunSpec, dataset: Dataset) -> tuple[type[Model], ModelConfig]:
    """Model class and config: defaults → dataset defaults → paper preset → overrides (+ steps)."""
    if spec.protocol not in cfgmod.PROTOCOLS:
        raise ConfigError(f"bad value for protocol: {spec.protocol!r} (choose from {', '.join(cfgmod.PROTOCOLS)})")
    cls: type[Model] = model_registry().get(spec.model)
    cfg = cls.Config()
    cfg = cfgmod.override(cfg, cls.dataset_defaults(dataset.spec), source="dataset defaults")
    if spec.protocol == "paper":
        cfg = cfgmod.override(cfg, {"protocol": "paper", **cls.paper_preset(dataset.spec)}, source="paper preset")
    cfg = cfgmod.override(cfg, dict(spec.overrides))
    if spec.steps is not None:
        cfg = cfgmod.override(cfg, {"steps": spec.steps}, source="--steps")
    return cls, cfg


def prepare(spec: RunSpec) -> tuple[Dataset, type[Model], ModelConfig, torch.device]:
    """Validate everything a run needs before anything is written (bad input → BenchError)."""
    from bench.registry import datasets, metrics

    datasets().entry(spec.dataset)  # unknown name → one line with the known ones
    model_registry().entry(spec.model)
    for m in spec.metrics or []:
        metrics().entry(m)
    if spec.device not in ("cpu", "cuda") and not spec.device.startswith("cuda:"):
        raise ConfigError(f"bad value for device: {spec.device!r} (cpu or cuda)")
    if spec.device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device cuda requested but no CUDA device is available")
    cfgmod.check_precision(spec.precision, "precision")
    cfgmod.check_precision(spec.eval_precision, "eval-precision")
    dataset = load_dataset(spec.dataset, spec.data_root)
    cls, cfg = resolve(spec, dataset)
    return dataset, cls, cfg, torch.device(spec.device)


def default_metrics() -> list[str]:
    """Every registered metric (each is skipped where its needs are not met)."""
    from bench.registry import metrics

    return [e.name for e in metrics() if getattr(e.load(), "default", True)]


def execute(spec: RunSpec, run_dir: str | Path, *, progress: bool = True) -> dict[str, Any]:
    """Train and evaluate one run in ``run_dir``; returns what was written to ``metrics.json``.

    Bad input raises :class:`BenchError` before ``run_dir`` is created. A diverged run is recorded
    (status ``diverged`` + step) and returned normally; an unexpected error is recorded as
    ``failed`` with its reason and re-raised.
    """
    from bench.trainer import Trainer

    dataset, cls, cfg, device = prepare(spec)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / CONFIG_FILE, {"run_id": spec.run_id(), "spec": asdict(spec), "model_config": cfgmod.to_dict(cfg),
                                       "model_class": f"{cls.__module__}.{cls.__qualname__}", "paper": cls.paper,
                                       "dataset_spec": asdict(dataset.spec), **provenance()})
    try:
        torch.manual_seed(spec.seed)
        model = cls(cfg, dataset.spec).to(device)
        trainer = Trainer(model, dataset.train, run_dir, seed=spec.seed, steps=cfg.steps, device=device,
                          log_every=spec.log_every, checkpoint_every=spec.checkpoint_every, progress=progress,
                          precision=spec.precision, channels_last=spec.channels_last, compile=spec.compile,
                          data_on_device=spec.data_on_device)
        result = trainer.fit()
        record: dict[str, Any] = {"status": result.status, "step": result.step, "resumed_from": result.resumed_from}
        if result.status == "completed":
            record.update(evaluate_model(model, dataset, spec, device))
            write_grids(model, dataset, run_dir, spec.seed)
        else:
            record["reason"] = result.reason
    except BenchError:
        raise
    except Exception as err:  # recorded so the sweep goes on; re-raised for the caller to report
        write_json(run_dir / METRICS_FILE, {"status": "failed", "reason": f"{type(err).__name__}: {err}",
                                            "traceback": traceback.format_exc(limit=8)})
        raise
    write_json(run_dir / METRICS_FILE, record)
    return record


def evaluate_model(model: Model, dataset: Dataset, spec: RunSpec, device: torch.device) -> dict[str, Any]:
    """The metric battery on the final model (sampling in the configured BatchNorm mode)."""
    from metrics.base import EvalContext, evaluate

    model.train(model.cfg.sample_mode == "train")
    names = spec.metrics or default_metrics()
    common = dict(device=device, seed=spec.seed, sample_setting=spec.eval_samples, n_override=spec.n_eval,
                  weights_dir=spec.weights_dir, extractor_precision=spec.eval_precision)
    ctx = EvalContext(dataset, sample_fn=model.sample if SAMPLE in model.capabilities else None,
                      recon_fn=model.reconstruct if RECONSTRUCT in model.capabilities else None, **common)
    out = evaluate(ctx, names)
    for suffix, fn in model.extra_recon_paths().items():
        extra = evaluate(EvalContext(dataset, recon_fn=fn, **common), names)
        out.update({f"{k.split('.')[0]}_{suffix}" + (f".{k.split('.', 1)[1]}" if "." in k else ""): v
                    for k, v in extra.items()})
    out["sample_mode"] = model.cfg.sample_mode
    return out


def evaluate_real(dataset: Dataset, names: list[str], split: str = "test", *, seed: int = 0,
                  eval_samples: str = "quick", weights_dir: str | None = None) -> dict[str, Any]:
    """Sample metrics computed on real images of ``split`` (the 'real data' reference row)."""
    from metrics.base import EvalContext, evaluate

    s = dataset.split(split)
    fakes = s.data if dataset.spec.kind == "points" else s.uint8()
    ctx = EvalContext(dataset, sample_images=fakes, seed=seed, sample_setting=eval_samples,  # type: ignore[arg-type]
                      weights_dir=weights_dir)
    return evaluate(ctx, names)


def write_grids(model: Model, dataset: Dataset, run_dir: Path, seed: int, n: int = 64) -> None:
    """``samples.png`` (a grid of samples) and ``reconstructions.png`` (test images above their
    reconstructions, alternating rows); scatter plots for 2-D data."""
    from bench.grids import save_image_grid, save_points, save_recon_grid

    g_state = torch.get_rng_state()
    torch.manual_seed(seed + 31)
    with torch.no_grad():
        if SAMPLE in model.capabilities:
            if dataset.spec.kind == "image":
                save_image_grid(model.sample(n), run_dir / "samples.png")
            else:
                save_points(dataset.test.data[:2000], model.sample(2000), run_dir / "samples.png", "samples")
        if RECONSTRUCT in model.capabilities:
            test = dataset.test
            idx = torch.arange(min(32 if dataset.spec.kind == "image" else 2000, len(test)))
            x = test.batch(idx).to(model.device)
            if dataset.spec.kind == "image":
                save_recon_grid(x, model.reconstruct(x), run_dir / "reconstructions.png")
            else:
                save_points(x, model.reconstruct(x), run_dir / "reconstructions.png", "reconstructions")
    torch.set_rng_state(g_state)
    model.train()


def read_metrics(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's ``metrics.json`` or None if it has none yet."""
    path = Path(run_dir) / METRICS_FILE
    return json.loads(path.read_text()) if path.exists() else None
