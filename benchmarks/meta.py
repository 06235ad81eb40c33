"""What every performance JSON records beside its numbers: command, machine, device, library versions, load."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from bench.atomic import write_json

PERF_DIR = Path(__file__).resolve().parents[1] / "results" / "perf"
PACKAGES = ("torch", "torchvision", "torch-fidelity", "clean-fid", "numpy", "scipy", "pytest-benchmark")


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else ``platform.processor()``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def device_name(device: str | torch.device) -> str:
    """``cuda: <GPU name>`` or ``cpu: <CPU model>, <n> threads``."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(dev)}"
    return f"cpu: {cpu_model()}, {torch.get_num_threads()} torch threads"


def versions() -> dict[str, str]:
    """Python and the versions of the libraries whose code is timed."""
    out = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "absent"
    if torch.cuda.is_available():
        out["cuda"] = str(torch.version.cuda)
    return out


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).resolve().parents[1]).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def invocation() -> str:
    """This process's command line, as ``python -m benchmarks.<module> ...`` for the benchmark scripts."""
    argv0 = Path(sys.argv[0])
    head = ["python", "-m", f"benchmarks.{argv0.stem}"] if argv0.parent.name == "benchmarks" else ["python", str(argv0)]
    return " ".join(shlex.quote(a) for a in [*head, *sys.argv[1:]])


def header(device: str | torch.device = "cpu", command: str | None = None) -> dict[str, Any]:
    """The provenance block of a measurement (the load average says how busy the machine was)."""
    return {"command": command or invocation(),
            "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"host": platform.node(), "cpu": cpu_model(), "cpu_count": os.cpu_count(),
                        "load_average_1_5_15": list(os.getloadavg()), "platform": platform.platform()},
            "device": device_name(device), "versions": versions(), "git_commit": git_commit()}


def save(name: str, record: dict[str, Any], out_dir: Path | None = None) -> Path:
    """Write ``record`` atomically as ``results/perf/<name>.json``; returns the path."""
    path = (out_dir or PERF_DIR) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, record)
    return path


def sync(device: str | torch.device) -> None:
    """Wait for queued device work (so wall-clock timings include it)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
