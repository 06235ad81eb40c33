"""One run: resolve the config, train (resuming if possible), evaluate, write the run directory.

A run directory holds ``config.json`` (everything needed to re-run it, versions included),
``log.jsonl``, ``checkpoint.pt``, ``metrics.json`` (flat ``{name: value}`` + ``status`` + ``step``),
``samples.png`` and ``reconstructions.png``. All files are written atomically.

A run directory belongs to one run: :func:`execute` resumes it only when its ``config.json`` names the
same run id, refuses any other run's directory or a non-empty folder that is not a run (one line, exit
code 2, nothing touched), and skips a finished run (returning its record) unless ``force`` is given.
"""

from __future__ import annotations

import copy
import hashlib
import json
import traceback
from collections.abc import Callable
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
from bench.registries import models as model_registry
from models.base import RECONSTRUCT, SAMPLE, Model, ModelConfig

METRICS_FILE = "metrics.json"
CONFIG_FILE = "config.json"
FINISHED = ("completed", "diverged")  # a run in one of these states is skipped unless forced
# Files the sweep executors write into a run directory before the run itself starts (bench/executors.py).
EXECUTOR_FILES = frozenset({".lock", "attempts.jsonl"})


class RunDirectoryError(BenchError):
    """The run directory holds another run, or files that are not a run's: nothing was written."""


def typed_value(value: Any) -> Any:
    """A typed config value in the form hashed into run ids: tuples as lists, whole floats as ints
    (``4.0`` → ``4``: a float field set to 4 in a sweep file or ``--set beta=4`` on the command line
    is the same value), everything else as is."""
    if isinstance(value, (tuple, list)):
        return [typed_value(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def typed_overrides(model: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` converted to the types of ``model``'s config fields (``"8"`` → ``8`` for an int
    field), as :func:`typed_value`. A key or value that does not fit is kept as given (it is reported by
    :func:`prepare`, with its reason, before anything runs)."""
    from bench.registries import models

    try:
        types_by_name = cfgmod.field_types(models().get(model).Config)
    except BenchError:
        return dict(overrides)
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        try:
            out[key] = typed_value(cfgmod.coerce(key, value, types_by_name[key]))
        except (KeyError, ConfigError):
            out[key] = value
    return out


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
    # torch CPU threads (None: leave the process's setting). Float reductions depend on it, so a CPU result
    # is reproducible at the same count; it is recorded in config.json (``runtime.torch_threads``).
    threads: int | None = None
    # The held-out split reconstruction metrics read (metrics.base.RECON_SPLITS): "test" (AVAE Table I) or
    # "val" (AVAE-S Table III). Part of the identity only when not "test", so existing run ids are unchanged.
    recon_split: str = "test"
    # The learning curve (#21): these metrics of the model's samples every ``curve_every`` steps, logged to
    # log.jsonl as ``curve.<name>``. Measured on a copy of the model with the RNG state restored, so the run's
    # final results are those of the same run without a curve: not part of the identity.
    curve: list[str] = field(default_factory=list)
    curve_every: int = 0
    curve_n: int | None = None  # images per curve point (None: n_eval); not part of the identity either
    # critic_w's training steps (None: the metric's quick/paper default). Changes results, so part of the identity
    # when set (the ids of runs without it are unchanged).
    critic_steps: int | None = None

    def validate(self) -> None:
        """Every run option within its range (the same checks and messages as the sweep files')."""
        cfgmod.check_run_option("seed", self.seed)
        for key in ("steps", "n_eval", "threads", "critic_steps"):
            if getattr(self, key) is not None:
                cfgmod.check_run_option(key, getattr(self, key))
        for key in ("log_every", "checkpoint_every"):
            cfgmod.check_run_option(key, getattr(self, key))
        if self.curve:
            cfgmod.check_run_option("curve_every", self.curve_every)
            if self.curve_n is not None:
                cfgmod.check_run_option("n_eval", self.curve_n)
            if self.curve_every % self.log_every:
                raise ConfigError(f"bad value for curve_every: {self.curve_every} (must be a multiple of log_every, "
                                  f"{self.log_every})")
        cfgmod.check_choice("protocol", self.protocol, cfgmod.PROTOCOLS)
        cfgmod.check_choice("eval_samples", self.eval_samples, ("quick", "paper"))
        cfgmod.check_choice("recon_split", self.recon_split, ("test", "val"))
        cfgmod.check_precision(self.precision, "precision")
        cfgmod.check_precision(self.eval_precision, "eval-precision")
        if self.steps is not None and "steps" in self.overrides:
            try:
                same = cfgmod.coerce("steps", self.overrides["steps"], int) == self.steps
            except ConfigError:
                same = False
            if not same:
                raise ConfigError(f"steps given twice: as {self.overrides['steps']} (--set steps / a sweep's set) and as "
                                  f"{self.steps} (--steps / a sweep's steps): give one")

    def identity(self) -> dict[str, Any]:
        """The fields that change results (not where data or weights live, nor the device), with the
        overrides typed by the model's config (so ``--set width=8`` and a sweep file's ``width: 8`` agree)."""
        d = asdict(self)
        for k in ("device", "data_root", "weights_dir", "log_every", "checkpoint_every", "channels_last", "compile",
                  "data_on_device", "threads", "curve", "curve_every", "curve_n"):
            d.pop(k)
        d["overrides"] = typed_overrides(self.model, self.overrides)
        for k in ("precision", "eval_precision"):
            if d[k] == "fp32":
                d.pop(k)
        if d["recon_split"] == "test":
            d.pop("recon_split")
        if d["critic_steps"] is None:
            d.pop("critic_steps")
        return d

    def run_id(self) -> str:
        """Stable id: ``model-dataset-s<seed>-<hash of the identity>``."""
        digest = hashlib.sha1(json.dumps(self.identity(), sort_keys=True, default=str).encode()).hexdigest()[:8]
        return f"{self.model}-{self.dataset}-s{self.seed}-{digest}"


def resolve(spec: RunSpec, dataset: Dataset) -> tuple[type[Model], ModelConfig]:
    """Model class and config: defaults → dataset defaults → paper preset → overrides (+ steps)."""
    spec.validate()
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
    from bench.registries import datasets, metrics

    spec.validate()
    datasets().entry(spec.dataset)  # unknown name → one line with the known ones
    model_registry().entry(spec.model)
    for m in spec.metrics or []:
        metrics().entry(m)
    if spec.device not in ("cpu", "cuda") and not spec.device.startswith("cuda:"):
        raise ConfigError(f"bad value for device: {spec.device!r} (cpu or cuda)")
    if spec.device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device cuda requested but no CUDA device is available")
    dataset = load_dataset(spec.dataset, spec.data_root)
    cls, cfg = resolve(spec, dataset)
    return dataset, cls, cfg, torch.device(spec.device)


def default_metrics() -> list[str]:
    """Every registered metric (each is skipped where its needs are not met)."""
    from bench.registries import metrics

    return [e.name for e in metrics() if getattr(e.load(), "default", True)]


def check_run_dir(spec: RunSpec, run_dir: str | Path) -> dict[str, Any] | None:
    """Whether ``run_dir`` may hold ``spec``'s run: it is absent or empty (a new run), or its
    ``config.json`` names the same run id (resumed, or finished: its ``metrics.json`` record is
    returned when the status is in :data:`FINISHED`). Anything else raises :class:`RunDirectoryError`
    (one line) without touching the folder."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        return None
    if not run_dir.is_dir():
        raise RunDirectoryError(f"run directory {run_dir} is a file, not a folder: choose another --out")
    config = run_dir / CONFIG_FILE
    if not config.is_file():
        others = sorted(p.name for p in run_dir.iterdir() if p.name not in EXECUTOR_FILES)
        if not others:
            return None
        raise RunDirectoryError(f"{run_dir} is not empty and is not a run directory (it holds {others[0]!r}"
                                f"{f' and {len(others) - 1} more' if len(others) > 1 else ''}): choose another --out")
    try:
        stored = json.loads(config.read_text()).get("run_id")
    except (OSError, ValueError, AttributeError):
        stored = None
    if stored != spec.run_id():
        what = f"run {stored}" if isinstance(stored, str) else "an unreadable config.json"
        raise RunDirectoryError(f"{run_dir} holds {what}, not {spec.run_id()} (another model, dataset, seed or "
                                f"configuration): choose another --out")
    record = read_metrics(run_dir)
    return record if record is not None and record.get("status") in FINISHED else None


def runtime(device: torch.device) -> dict[str, Any]:
    """What a CPU result also depends on besides the configuration and the library versions: the torch
    thread count (it changes the order of float reductions), the device and the determinism settings."""
    return {"torch_threads": torch.get_num_threads(), "device": str(device),
            "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
            "cudnn_deterministic": torch.backends.cudnn.deterministic, "cudnn_benchmark": torch.backends.cudnn.benchmark}


def execute(spec: RunSpec, run_dir: str | Path, *, progress: bool = True, force: bool = False) -> dict[str, Any]:
    """Train and evaluate one run in ``run_dir``; returns what was written to ``metrics.json``.

    Bad input raises :class:`BenchError` before ``run_dir`` is created or touched (a directory of another
    run or of other files is refused: :func:`check_run_dir`). A finished run (completed or diverged) is
    not run again: its record is returned as it is, unless ``force`` (then a completed run is re-evaluated
    from its final checkpoint). A diverged run is recorded (status ``diverged`` + step) and returned
    normally; an unexpected error is recorded as ``failed`` with its reason and re-raised.
    """
    dataset, cls, cfg, device = prepare(spec)
    run_dir = Path(run_dir)
    finished = check_run_dir(spec, run_dir)
    if finished is not None and not force:
        return finished
    threads_before = torch.get_num_threads()
    if spec.threads is not None:
        torch.set_num_threads(spec.threads)
    try:
        return _train_and_evaluate(spec, run_dir, dataset, cls, cfg, device, progress=progress)
    finally:  # the calling process keeps its own setting
        torch.set_num_threads(threads_before)


def _train_and_evaluate(spec: RunSpec, run_dir: Path, dataset: Dataset, cls: type[Model], cfg: ModelConfig,
                        device: torch.device, *, progress: bool) -> dict[str, Any]:
    """The body of :func:`execute`, once the inputs and the run directory are checked."""
    from bench.trainer import Trainer

    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / CONFIG_FILE, {"run_id": spec.run_id(), "spec": asdict(spec), "model_config": cfgmod.to_dict(cfg),
                                       "model_class": f"{cls.__module__}.{cls.__qualname__}", "paper": cls.paper,
                                       "dataset_spec": asdict(dataset.spec), "runtime": runtime(device),
                                       **provenance()})
    try:
        torch.manual_seed(spec.seed)
        model = cls.build(cfg, dataset.spec).to(device)
        trainer = Trainer(model, dataset.train, run_dir, seed=spec.seed, steps=cfg.steps, device=device,
                          log_every=spec.log_every, checkpoint_every=spec.checkpoint_every, progress=progress,
                          precision=spec.precision, channels_last=spec.channels_last, compile=spec.compile,
                          data_on_device=spec.data_on_device,
                          curve_fn=curve_function(model, dataset, spec, device) if spec.curve else None,
                          curve_every=spec.curve_every)
        result = trainer.fit()
        record: dict[str, Any] = {"status": result.status, "step": result.step, "resumed_from": result.resumed_from}
        if result.status == "completed":
            record.update(evaluate_model(model, dataset, spec, device, progress=progress))
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


def explain_unavailable(ctx: Any, names: list[str], out: dict[str, Any]) -> dict[str, Any]:
    """``out`` with ``name.unavailable`` (the reason) for every metric of ``names`` that has neither a
    value nor a reason: one asked for by name whose needs these inputs do not meet (e.g. ``mse`` of a
    model without reconstructions). ``train``, ``sweep`` and ``evaluate`` all record it this way."""
    from bench.registries import metrics

    for name in names:
        if name not in out and f"{name}.unavailable" not in out:
            needs = metrics().get(name).needs
            missing = sorted(n for n in needs if not ctx.provides(frozenset({n})))
            out[f"{name}.unavailable"] = f"needs {', '.join(missing)} (not available from these inputs)"
    return out


def evaluate_with_progress(ctx: Any, names: list[str], *, progress: bool, desc: str = "evaluating") -> dict[str, Any]:
    """:func:`metrics.base.evaluate` one metric at a time (same context, so the same cached images and
    values) with a progress bar naming the metric being computed."""
    from tqdm import tqdm

    from metrics.base import evaluate

    out: dict[str, Any] = {}
    with tqdm(names, desc=desc, unit="metric", disable=not progress, leave=False, dynamic_ncols=True) as bar:
        for name in bar:
            bar.set_postfix_str(name)
            out.update(evaluate(ctx, [name]))
    return out


def evaluate_model(model: Model, dataset: Dataset, spec: RunSpec, device: torch.device, *,
                   progress: bool = False) -> dict[str, Any]:
    """The metric battery on the final model (sampling in the configured BatchNorm mode). A metric asked
    for by name (``spec.metrics``) that cannot apply is recorded as ``name.unavailable`` with the reason."""
    from metrics.base import EvalContext, evaluate

    model.train(model.cfg.sample_mode == "train")
    names = spec.metrics or default_metrics()
    common = dict(device=device, seed=spec.seed, sample_setting=spec.eval_samples, n_override=spec.n_eval,
                  weights_dir=spec.weights_dir, extractor_precision=spec.eval_precision, recon_split=spec.recon_split)
    ctx = EvalContext(dataset, sample_fn=model.sample if SAMPLE in model.capabilities else None,
                      recon_fn=model.reconstruct if RECONSTRUCT in model.capabilities else None, **common)
    if spec.critic_steps is not None:
        from metrics.critic import CRITIC_STEPS_OPTION

        ctx.cache[CRITIC_STEPS_OPTION] = spec.critic_steps
    out = evaluate_with_progress(ctx, names, progress=progress)
    if spec.metrics:
        explain_unavailable(ctx, names, out)
    for suffix, fn in model.extra_recon_paths().items():
        extra = evaluate(EvalContext(dataset, recon_fn=fn, **common), names)
        out.update({f"{k.split('.')[0]}_{suffix}" + (f".{k.split('.', 1)[1]}" if "." in k else ""): v
                    for k, v in extra.items()})
    out["sample_mode"] = model.cfg.sample_mode
    return out


def curve_function(model: Model, dataset: Dataset, spec: RunSpec,
                   device: torch.device) -> Callable[[int], dict[str, float]]:
    """``fn(step)`` → ``{"curve.<metric>": value}`` for ``spec.curve``: the metrics of samples (and, for a model
    that reconstructs, reconstructions of the held-out split) of a deep copy of the model (sampling never touches
    the trained networks' BatchNorm statistics) on ``spec.curve_n`` images (default ``spec.n_eval``), with the
    global RNG state saved and restored, so training continues exactly as without a curve."""
    from metrics.base import EvalContext, evaluate

    def fn(step: int) -> dict[str, float]:
        cpu_rng = torch.get_rng_state()
        cuda_rng = torch.cuda.get_rng_state_all() if device.type == "cuda" else None
        try:
            snapshot = copy.deepcopy(model)
            snapshot.train(snapshot.cfg.sample_mode == "train")
            recon = snapshot.reconstruct if RECONSTRUCT in snapshot.capabilities else None
            ctx = EvalContext(dataset, sample_fn=snapshot.sample, recon_fn=recon, device=device, seed=spec.seed + step,
                              sample_setting=spec.eval_samples,
                              n_override=spec.curve_n if spec.curve_n is not None else spec.n_eval,
                              weights_dir=spec.weights_dir, extractor_precision=spec.eval_precision,
                              recon_split=spec.recon_split)
            with torch.no_grad():
                values = evaluate(ctx, list(spec.curve))
        finally:
            torch.set_rng_state(cpu_rng)
            if cuda_rng is not None:
                torch.cuda.set_rng_state_all(cuda_rng)
        return {f"curve.{k}": float(values[k]) for k in spec.curve if isinstance(values.get(k), (int, float))}

    return fn


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
