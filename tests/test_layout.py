"""The layout the design describes (issue 17, point 4): the Slurm integration is the importable ``slurm``
package, the PERFORMANCE.md renderer lives with ``benchmarks/``, and ``bench.registry`` imports none of the
packages that import it (``models``, ``metrics``, ``bench.data``)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(statement: str) -> set[str]:
    """The module names loaded by a fresh interpreter after ``statement`` (run from outside the repository,
    so only the installed packages resolve)."""
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/", env=env,
                         timeout=120).stdout
    return set(json.loads(out.splitlines()[-1]))


def _ours(modules: set[str], *packages: str) -> set[str]:
    return {m for m in modules if m.split(".")[0] in packages or any(m.startswith(p + ".") for p in packages)}


def test_bench_registry_imports_no_model_metric_or_dataset_module() -> None:
    loaded = _modules_after("import bench.registry")
    assert "bench.registry" in loaded  # the probe works: the module itself is there
    assert _ours(loaded, "models", "metrics", "bench.data", "torch") == set()


def _imported(path: Path) -> set[str]:
    """Every module an ``import`` statement of ``path`` names, at any depth (function-local imports too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_no_import_cycle_between_the_registry_and_the_registered_packages() -> None:
    """``bench.registry`` imports none of the packages that import it, even lazily, and those packages never
    import the accessors of ``bench.registries`` (which import them)."""
    project = ("bench", "models", "metrics", "slurm", "benchmarks")
    from_project = {m for m in _imported(ROOT / "bench" / "registry.py") if m.split(".")[0] in project}
    assert from_project == {"bench.errors", "bench.errors.UnknownNameError"}
    users = [p for d in ("models", "metrics", "bench/data") for p in (ROOT / d).rglob("*.py")]
    assert len(users) > 10
    for path in users:
        assert not any(m.startswith("bench.registries") for m in _imported(path)), path


def test_the_registries_are_reached_through_bench_registries() -> None:
    """The accessors moved out of ``bench.registry``; ``bench.registries`` still loads every registry."""
    loaded = _modules_after("from bench.registries import models, metrics, datasets\n"
                            "assert len(models()) and len(metrics()) and len(datasets())")
    assert {"models", "metrics", "bench.data"} <= loaded


def test_slurm_is_a_package_holding_the_slurm_executor() -> None:
    import bench.executors
    import slurm
    from slurm.worker import SlurmWorker

    assert Path(slurm.__file__).resolve() == ROOT / "slurm" / "__init__.py"  # a regular package, not a namespace
    assert slurm.SlurmWorker is SlurmWorker and issubclass(SlurmWorker, bench.executors.RunWorker)
    assert callable(slurm.submit_slurm) and callable(slurm.check_slurm_resources)
    # the Slurm-only parts left bench.executors: packing and submitit's requeue hook
    assert not hasattr(bench.executors, "submit_slurm") and not hasattr(bench.executors.RunWorker, "checkpoint")
    assert hasattr(SlurmWorker, "checkpoint")
    # `bench` itself does not import the Slurm package until a Slurm sweep needs it
    assert _ours(_modules_after("import bench.executors, bench.cli_sweep"), "slurm") == set()


def test_slurm_worker_survives_pickling_by_module_path(tmp_path: Path) -> None:
    """submitit pickles the job by reference: a new interpreter (outside the repository, as on a compute node)
    unpickles it through ``slurm.worker``, and the requeue hook returns an equal worker."""
    import cloudpickle

    from slurm.worker import SlurmWorker

    worker = SlurmWorker([], threads=3, concurrent=2)
    path = tmp_path / "job.pkl"
    path.write_bytes(cloudpickle.dumps(worker))
    code = (f"import pickle\nw = pickle.load(open({str(path)!r}, 'rb'))\n"
            "d = w.checkpoint()\n"
            "print(type(w).__module__, type(w).__name__, w.threads, w.concurrent, type(d.function).__name__, "
            "d.function.concurrent)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/",
                         timeout=120).stdout.split()
    assert out == ["slurm.worker", "SlurmWorker", "3", "2", "SlurmWorker", "2"]


def test_performance_renderer_lives_with_benchmarks() -> None:
    from bench import cli_perf
    from benchmarks import perf_report

    assert cli_perf.render is perf_report.render and cli_perf.estimate is perf_report.estimate
    source = (ROOT / "bench" / "cli_perf.py").read_text()
    assert "# Performance" not in source and len(source.splitlines()) < 60  # only the thin command is left
    assert json.dumps(cli_perf.DEFAULT.__dict__) == json.dumps(
        {"peak_tflops": 494.7, "utilisation": 0.3, "op_us": 8.0, "eval_utilisation": 0.1})
