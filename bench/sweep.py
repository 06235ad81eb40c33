"""Sweep files: a product of lists (models × datasets × protocols × hyper-parameter grid × seeds).

A sweep is plain data. ``cells()`` expands it in a fixed order (model, dataset, protocol, grid
point, seed — seeds innermost) and ``cell(i)`` returns the i-th cell alone, so one integer picks one
run (one Slurm array task). Every field is checked when the file is loaded; a bad one fails with
one line naming it (``SweepError``) before anything is submitted. Lists expand as a product
(the grid semantics of hydra's basic sweeper and disentanglement_lib's ``sweep`` product).

YAML layout (every key optional except ``models`` and ``datasets``)::

    name: smoke                      # default: the file's stem; results/sweeps/<name>/
    description: ...
    models: [vae, dcgan]
    datasets: [digits]
    seeds: [0, 1, 2, 3, 4]           # default: 5 seeds, 0..4
    protocol: fair                   # or a list: [fair, paper]
    steps: 200                       # or per dataset: {celeba: 200000, colormnist: 100000}
    set: {width: 16}                 # fixed overrides for every model
    grid: {beta: [1, 4]}             # lists expand as a product, for every model
    per_model:                       # model-specific fixed overrides, grids and training length
      alpha-gan: {set: {...}, grid: {lam: [1, 5, 10, 50]}}
      vae: {steps: 8000}             # replaces the sweep's steps for this model (int or per dataset)
    eval: {metrics: [mse, fid], optional_metrics: [lpips], samples: quick, n: 500, precision: fp32}
                                     # optional_metrics: used only where registered; recon_split: test (default)
                                     # or val, the split reconstruction metrics read; curve: [is_domain] with
                                     # curve_every: 250 logs a learning curve (curve.<metric> in log.jsonl),
                                     # curve_n: 1000 its images per point (default: n); critic_steps: 500 trains
                                     # critic_w's independent critic that many steps (default: the sample setting's)
    log_every: 50
    checkpoint_every: 500
    local: {parallel: 2}             # runs at a time on this machine
    slurm: {partition: gpu, gpus_per_node: 1, cpus_per_task: 8, mem_gb: 32, time_min: 240,
            qos: null, account: null, array_parallelism: 32, runs_per_job: 1, concurrent_runs: 1,
            sbatch: {constraint: a100}, setup: ["module load cuda"]}
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.config import PRECISIONS
from bench.errors import ConfigError

SWEEPS_DIR = Path(__file__).resolve().parent / "sweeps"
TOP_KEYS = {"name", "description", "paper", "models", "datasets", "seeds", "protocol", "steps", "set", "grid",
            "per_model", "eval", "log_every", "checkpoint_every", "local", "slurm"}
EVAL_KEYS = {"metrics", "optional_metrics", "samples", "n", "precision", "recon_split", "curve", "curve_every",
             "curve_n", "critic_steps"}
LOCAL_KEYS = {"parallel"}
SLURM_KEYS = {"partition", "gpus_per_node", "cpus_per_task", "mem_gb", "time_min", "qos", "account",
              "array_parallelism", "runs_per_job", "concurrent_runs", "sbatch", "setup"}


class SweepError(ConfigError):
    """A bad sweep file: the message names the field (``sweep smoke: field 'seeds': ...``)."""


@dataclass
class SlurmResources:
    """What each Slurm job asks for (submitit's SlurmExecutor parameters)."""

    partition: str | None = None
    gpus_per_node: int = 0
    cpus_per_task: int = 1
    mem_gb: float | None = None
    time_min: int = 60
    qos: str | None = None
    account: str | None = None
    array_parallelism: int = 32  # at most this many array tasks run at once (%N)
    runs_per_job: int = 1  # runs packed in one job
    concurrent_runs: int = 1  # of a job's runs, how many execute at once (separate processes sharing the GPU)
    sbatch: dict[str, Any] = field(default_factory=dict)  # extra sbatch flags: {flag: value}
    setup: list[str] = field(default_factory=list)  # shell lines run before the job (module load ...)


@dataclass(frozen=True)
class Cell:
    """One run of the sweep: its index, names, seed and hyper-parameters (fixed + grid point)."""

    index: int
    model: str
    dataset: str
    protocol: str
    seed: int
    overrides: dict[str, Any]  # fixed ``set`` values + the grid point, as passed to the model config
    hp: dict[str, Any]  # the grid point alone (what varies)


@dataclass
class Sweep:
    """A sweep file, validated. ``cells()`` is the product; ``len(sweep)`` its size."""

    name: str
    models: list[str]
    datasets: list[str]
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    protocols: list[str] = field(default_factory=lambda: ["fair"])
    steps: int | dict[str, int] | None = None
    set: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    per_model: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: list[str] | None = None  # None: the default battery
    optional_metrics: list[str] = field(default_factory=list)  # added to ``metrics`` where registered
    eval_samples: str = "quick"
    n_eval: int | None = None
    eval_precision: str = "fp32"  # of the metrics' feature extractors: fp32 (the libraries') or bf16
    recon_split: str = "test"  # the held-out split reconstruction metrics read: test or val (AVAE-S Table III)
    curve: list[str] = field(default_factory=list)  # metrics logged every ``curve_every`` steps (learning curve)
    curve_every: int = 0
    curve_n: int | None = None  # images per learning-curve point (None: ``n_eval``, as the final evaluation)
    critic_steps: int | None = None  # critic_w's training steps (None: its quick/paper default)
    log_every: int = 50
    checkpoint_every: int = 500
    parallel: int = 2
    slurm: SlurmResources = field(default_factory=SlurmResources)
    description: str = ""
    paper: str = ""

    # ---- expansion -------------------------------------------------------------------
    def grid_points(self, model: str) -> list[dict[str, Any]]:
        """The product of the global grid and ``model``'s own grid (one dict per point)."""
        grid = {**self.grid, **self.per_model.get(model, {}).get("grid", {})}
        keys = list(grid)
        return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[k] for k in keys))]

    def cells(self) -> list[Cell]:
        """Every run, in index order: model, dataset, protocol, grid point, seed (innermost)."""
        out: list[Cell] = []
        for model in self.models:
            fixed = {**self.set, **self.per_model.get(model, {}).get("set", {})}
            for dataset, protocol, hp, seed in itertools.product(self.datasets, self.protocols,
                                                                 self.grid_points(model), self.seeds):
                out.append(Cell(len(out), model, dataset, protocol, seed, {**fixed, **hp}, hp))
        return out

    def cell(self, index: int) -> Cell:
        """The ``index``-th cell (what Slurm array task ``index`` runs)."""
        cells = self.cells()
        if not 0 <= index < len(cells):
            raise SweepError(f"sweep {self.name}: cell index {index} out of range 0..{len(cells) - 1}")
        return cells[index]

    def __len__(self) -> int:
        return sum(len(self.datasets) * len(self.protocols) * len(self.grid_points(m)) * len(self.seeds)
                   for m in self.models)

    def steps_for(self, dataset: str, model: str | None = None) -> int | None:
        """Training iterations of ``model`` on ``dataset``: its ``per_model.<model>.steps`` where given (for
        that dataset), else the sweep's ``steps`` (None: the model's default)."""
        def pick(steps: int | dict[str, int] | None) -> int | None:
            return steps.get(dataset) if isinstance(steps, dict) else steps

        own = pick(self.per_model.get(model, {}).get("steps")) if model else None
        return own if own is not None else pick(self.steps)

    def resolved_metrics(self) -> list[str] | None:
        """``metrics`` + the ``optional_metrics`` that are registered here (None: the default battery)."""
        if self.metrics is None and not self.optional_metrics:
            return None
        from bench.registries import metrics

        reg = metrics()
        names = list(self.metrics or []) + [m for m in self.optional_metrics if m in reg]
        return list(dict.fromkeys(names))

    def run_spec(self, cell: Cell, *, device: str = "cpu", data_root: str | None = None,
                 weights_dir: str | None = None) -> Any:
        """The :class:`bench.run.RunSpec` of ``cell`` (its ``run_id()`` names the run directory)."""
        from bench.run import RunSpec

        return RunSpec(model=cell.model, dataset=cell.dataset, seed=cell.seed, steps=self.steps_for(cell.dataset, cell.model),
                       protocol=cell.protocol, overrides=dict(cell.overrides),  # type: ignore[arg-type]
                       metrics=self.resolved_metrics(), eval_samples=self.eval_samples,  # type: ignore[arg-type]
                       n_eval=self.n_eval, log_every=self.log_every, checkpoint_every=self.checkpoint_every,
                       device=device, data_root=data_root, weights_dir=weights_dir,
                       eval_precision=self.eval_precision, recon_split=self.recon_split,  # type: ignore[arg-type]
                       curve=list(self.curve), curve_every=self.curve_every, curve_n=self.curve_n,
                       critic_steps=self.critic_steps)

    # ---- serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The sweep in the file layout (``from_dict(to_dict(s)) == s``)."""
        d: dict[str, Any] = {"name": self.name, "description": self.description, "paper": self.paper,
                             "models": list(self.models), "datasets": list(self.datasets), "seeds": list(self.seeds),
                             "protocol": list(self.protocols), "steps": self.steps, "set": dict(self.set),
                             "grid": {k: list(v) for k, v in self.grid.items()}, "per_model": self.per_model,
                             "eval": {"metrics": self.metrics, "optional_metrics": list(self.optional_metrics),
                                      "samples": self.eval_samples, "n": self.n_eval, "precision": self.eval_precision,
                                      "recon_split": self.recon_split, "curve": list(self.curve),
                                      "curve_every": self.curve_every,
                                      **({"curve_n": self.curve_n} if self.curve_n is not None else {}),
                                      **({"critic_steps": self.critic_steps} if self.critic_steps is not None else {})},
                             "log_every": self.log_every, "checkpoint_every": self.checkpoint_every,
                             "local": {"parallel": self.parallel}, "slurm": asdict(self.slurm)}
        return d

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    # ---- validation against the registries ---------------------------------------------
    def validate_names(self) -> None:
        """Every model, dataset and (non-optional) metric is registered, and every fixed or grid
        value fits its model's config dataclass (type and ``validate()``); else one line naming the field."""
        from bench import config as cfgmod
        from bench.registries import datasets, metrics, models

        for field_name, reg, names in (("models", models(), self.models), ("datasets", datasets(), self.datasets)):
            for n in names:
                if n not in reg:
                    raise SweepError(f"sweep {self.name}: field '{field_name}': unknown {reg.kind} {n!r}; "
                                     f"known: {', '.join(reg.names())}")
        for model in self.per_model:
            if model not in self.models:
                raise SweepError(f"sweep {self.name}: field 'per_model.{model}': {model!r} is not in 'models'")
        for m in [*(self.metrics or []), *self.curve]:
            if m not in metrics():
                raise SweepError(f"sweep {self.name}: field 'eval.metrics': unknown metric {m!r}; "
                                 f"known: {', '.join(metrics().names())} (or list it under eval.optional_metrics)")
        for model in self.models:
            cls = models().get(model)
            fixed = {**self.set, **self.per_model.get(model, {}).get("set", {})}
            grid = {**self.grid, **self.per_model.get(model, {}).get("grid", {})}
            where = {k: (f"per_model.{model}.set" if k in self.per_model.get(model, {}).get("set", {}) else "set")
                     for k in fixed}
            where.update({k: (f"per_model.{model}.grid" if k in self.per_model.get(model, {}).get("grid", {})
                              else "grid") for k in grid})
            for key, value in [*fixed.items(), *((k, v) for k, vs in grid.items() for v in vs)]:
                try:  # one key at a time, so the error names its field
                    cfgmod.override(cls.Config(), {key: value}, source=f"sweep {self.name}")
                except ConfigError as err:
                    raise SweepError(f"sweep {self.name}: field '{where[key]}.{key}' (model {model}): {err}") from None
            for point in self.grid_points(model):
                try:  # the combination (a config's validate() may relate keys)
                    cfgmod.override(cls.Config(), {**fixed, **point}, source=f"sweep {self.name}")
                except ConfigError as err:
                    raise SweepError(f"sweep {self.name}: field 'grid' (model {model}, point {point}): {err}") from None
        for cell in self.cells():  # the run options of every cell, by the rule the command line uses (RunSpec)
            try:
                self.run_spec(cell).validate()
            except ConfigError as err:
                raise SweepError(f"sweep {self.name}: run {cell.index} ({cell.model} on {cell.dataset}): {err}") from None


# ---- loading ---------------------------------------------------------------------------------
def _err(name: str, fld: str, msg: str) -> SweepError:
    return SweepError(f"sweep {name}: field '{fld}': {msg}")


def _list(name: str, fld: str, value: Any, item: type | tuple[type, ...] = str, *, nonempty: bool = True) -> list[Any]:
    if not isinstance(value, list):
        raise _err(name, fld, f"expected a list, got {value!r}")
    if nonempty and not value:
        raise _err(name, fld, "expected a non-empty list")
    for v in value:
        if not isinstance(v, item) or isinstance(v, bool) and item is not bool:
            kind = item.__name__ if isinstance(item, type) else "/".join(t.__name__ for t in item)
            raise _err(name, fld, f"expected a list of {kind}, got item {v!r}")
    if len(set(map(repr, value))) != len(value):
        raise _err(name, fld, f"duplicate entries in {value!r}")
    return list(value)


def _mapping(name: str, fld: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _err(name, fld, f"expected a mapping, got {value!r}")
    return dict(value)


def _int(name: str, fld: str, value: Any, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _err(name, fld, f"expected an integer, got {value!r}")
    if value < minimum:
        raise _err(name, fld, f"must be >= {minimum}, got {value}")
    return value


def _run_option(name: str, fld: str, key: str, value: Any) -> int:
    """A run option checked by the rule the command line uses (:func:`bench.config.check_run_option`):
    the same message, prefixed with the sweep and the field."""
    from bench.config import check_run_option

    if not isinstance(value, int) or isinstance(value, bool):
        raise _err(name, fld, f"expected an integer, got {value!r}")
    try:
        return check_run_option(key, value)
    except ConfigError as err:
        raise _err(name, fld, str(err)) from None


def _steps(name: str, fld: str, steps: Any, datasets: list[str]) -> int | dict[str, int]:
    """``steps``: one count, or one per dataset of the sweep."""
    if not isinstance(steps, dict):
        return _run_option(name, fld, "steps", steps)
    for ds, v in steps.items():
        if ds not in datasets:
            raise _err(name, f"{fld}.{ds}", f"{ds!r} is not in 'datasets'")
        _run_option(name, f"{fld}.{ds}", "steps", v)
    return dict(steps)


def _keys(name: str, fld: str, d: dict[str, Any], allowed: set[str]) -> None:
    for k in d:
        if k not in allowed:
            raise _err(name, f"{fld}{k}", f"unknown key; valid keys: {', '.join(sorted(allowed))}")


def _grid(name: str, fld: str, value: Any) -> dict[str, list[Any]]:
    grid = _mapping(name, fld, value)
    for k, v in grid.items():
        _list(name, f"{fld}.{k}", v, (str, int, float, bool))
    return grid


def _scalars(name: str, fld: str, value: Any) -> dict[str, Any]:
    fixed = _mapping(name, fld, value)
    for k, v in fixed.items():
        if isinstance(v, (dict, list)) and not (isinstance(v, list) and all(isinstance(x, (int, float)) for x in v)):
            raise _err(name, f"{fld}.{k}", f"expected a single value (put lists under 'grid'), got {v!r}")
    return fixed


def parse_slurm(name: str, raw: Any) -> SlurmResources:
    """``slurm:`` section → :class:`SlurmResources`; a resource no job could get fails naming it."""
    d = _mapping(name, "slurm", raw)
    _keys(name, "slurm.", d, SLURM_KEYS)
    r = SlurmResources()
    for key in ("partition", "qos", "account"):
        if d.get(key) is not None:
            if not isinstance(d[key], str) or not d[key].strip():
                raise _err(name, f"slurm.{key}", f"expected a non-empty string, got {d[key]!r}")
            setattr(r, key, d[key])
    for key, minimum in (("gpus_per_node", 0), ("cpus_per_task", 1), ("time_min", 1), ("array_parallelism", 1),
                         ("runs_per_job", 1), ("concurrent_runs", 1)):
        if key in d:
            setattr(r, key, _int(name, f"slurm.{key}", d[key], minimum))
    if r.concurrent_runs > r.runs_per_job:
        raise _err(name, "slurm.concurrent_runs", f"must be <= runs_per_job = {r.runs_per_job}, got {r.concurrent_runs}")
    if d.get("mem_gb") is not None:
        mem = d["mem_gb"]
        if not isinstance(mem, (int, float)) or isinstance(mem, bool) or not mem > 0:
            raise _err(name, "slurm.mem_gb", f"must be a number > 0, got {mem!r}")
        r.mem_gb = float(mem)
    r.sbatch = _mapping(name, "slurm.sbatch", d.get("sbatch"))
    for k, v in r.sbatch.items():
        if isinstance(v, (dict, list)):
            raise _err(name, f"slurm.sbatch.{k}", f"expected a single value, got {v!r}")
    if "setup" in d:
        r.setup = _list(name, "slurm.setup", d["setup"], str, nonempty=False)
    return r


def from_dict(raw: Any, default_name: str = "sweep") -> Sweep:
    """Validate the structure of a sweep mapping (types, lists, ranges) → :class:`Sweep`.
    Registry names and config values are checked by :meth:`Sweep.validate_names`."""
    if not isinstance(raw, dict):
        raise SweepError(f"sweep {default_name}: expected a mapping at the top level, got {type(raw).__name__}")
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise SweepError(f"sweep {default_name}: field 'name': expected a plain name, got {name!r}")
    _keys(name, "", raw, TOP_KEYS)
    for req in ("models", "datasets"):
        if req not in raw:
            raise _err(name, req, "missing (a list is required)")
    s = Sweep(name=name, models=_list(name, "models", raw["models"]), datasets=_list(name, "datasets", raw["datasets"]))
    s.description = str(raw.get("description") or "")
    s.paper = str(raw.get("paper") or "")
    if "seeds" in raw:
        s.seeds = [_run_option(name, "seeds", "seed", x) for x in _list(name, "seeds", raw["seeds"], int)]
    if "protocol" in raw:
        prot = raw["protocol"]
        s.protocols = [prot] if isinstance(prot, str) else _list(name, "protocol", prot)
        from bench.config import PROTOCOLS

        for p in s.protocols:
            if p not in PROTOCOLS:
                raise _err(name, "protocol", f"unknown protocol {p!r} (choose from {', '.join(PROTOCOLS)})")
    if raw.get("steps") is not None:
        s.steps = _steps(name, "steps", raw["steps"], s.datasets)
    s.set = _scalars(name, "set", raw.get("set"))
    s.grid = _grid(name, "grid", raw.get("grid"))
    per_model = _mapping(name, "per_model", raw.get("per_model"))
    for model, sub in per_model.items():
        sub = _mapping(name, f"per_model.{model}", sub)
        _keys(name, f"per_model.{model}.", sub, {"set", "grid", "steps"})
        s.per_model[model] = {"set": _scalars(name, f"per_model.{model}.set", sub.get("set")),
                              "grid": _grid(name, f"per_model.{model}.grid", sub.get("grid"))}
        if sub.get("steps") is not None:
            s.per_model[model]["steps"] = _steps(name, f"per_model.{model}.steps", sub["steps"], s.datasets)
    ev = _mapping(name, "eval", raw.get("eval"))
    _keys(name, "eval.", ev, EVAL_KEYS)
    if ev.get("metrics") is not None and ev["metrics"] != "default":
        s.metrics = _list(name, "eval.metrics", ev["metrics"])
    if ev.get("optional_metrics") is not None:
        s.optional_metrics = _list(name, "eval.optional_metrics", ev["optional_metrics"], nonempty=False)
    if ev.get("samples") is not None:
        if ev["samples"] not in ("quick", "paper"):
            raise _err(name, "eval.samples", f"expected quick or paper, got {ev['samples']!r}")
        s.eval_samples = ev["samples"]
    if ev.get("n") is not None:
        s.n_eval = _run_option(name, "eval.n", "n_eval", ev["n"])
    if ev.get("critic_steps") is not None:
        s.critic_steps = _run_option(name, "eval.critic_steps", "critic_steps", ev["critic_steps"])
    if ev.get("precision") is not None:
        if ev["precision"] not in PRECISIONS:
            raise _err(name, "eval.precision", f"expected {' or '.join(PRECISIONS)}, got {ev['precision']!r}")
        s.eval_precision = ev["precision"]
    if ev.get("recon_split") is not None:
        if ev["recon_split"] not in ("test", "val"):
            raise _err(name, "eval.recon_split", f"expected test or val, got {ev['recon_split']!r}")
        s.recon_split = ev["recon_split"]
    if ev.get("curve"):
        s.curve = _list(name, "eval.curve", ev["curve"])
        if "curve_every" not in ev:
            raise _err(name, "eval.curve_every", "missing (eval.curve needs it: the steps between two points)")
        s.curve_every = _run_option(name, "eval.curve_every", "curve_every", ev["curve_every"])
        if ev.get("curve_n") is not None:
            s.curve_n = _run_option(name, "eval.curve_n", "n_eval", ev["curve_n"])
    if "log_every" in raw:
        s.log_every = _run_option(name, "log_every", "log_every", raw["log_every"])
    if "checkpoint_every" in raw:
        s.checkpoint_every = _run_option(name, "checkpoint_every", "checkpoint_every", raw["checkpoint_every"])
    loc = _mapping(name, "local", raw.get("local"))
    _keys(name, "local.", loc, LOCAL_KEYS)
    if "parallel" in loc:
        s.parallel = _int(name, "local.parallel", loc["parallel"], 1)
    s.slurm = parse_slurm(name, raw.get("slurm"))
    return s


def find(path_or_name: str | Path) -> Path:
    """A sweep file path, or the name of a shipped sweep (``smoke`` → bench/sweeps/smoke.yaml)."""
    p = Path(path_or_name)
    if p.is_file():
        return p
    shipped = SWEEPS_DIR / f"{path_or_name}.yaml"
    if shipped.is_file():
        return shipped
    known = ", ".join(sorted(q.stem for q in SWEEPS_DIR.glob("*.yaml")))
    raise SweepError(f"no sweep file {str(path_or_name)!r} (shipped sweeps: {known})")


def load(path_or_name: str | Path, *, check_names: bool = True) -> Sweep:
    """Read and validate a sweep YAML file (structure, then registry names and config values)."""
    path = find(path_or_name)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise SweepError(f"sweep file {path}{where}: not valid YAML ({getattr(err, 'problem', err)})") from None
    sweep = from_dict(raw, path.stem)
    if check_names:
        sweep.validate_names()
    return sweep


def shipped() -> list[Path]:
    """The sweep files shipped in ``bench/sweeps/``."""
    return sorted(SWEEPS_DIR.glob("*.yaml"))


def run_ids(sweep: Sweep) -> list[str]:
    """The run-directory names of every cell of ``sweep`` as it is defined now."""
    return [sweep.run_spec(cell).run_id() for cell in sweep.cells()]
