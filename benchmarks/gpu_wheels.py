"""Prepare ``.gpu-wheels/``: the wheels ``make gpu-check`` installs on a GPU machine that has its own PyTorch but
no network and none of the suite's other libraries (``pip download --no-deps``, the versions installed here).

    python -m benchmarks.gpu_wheels            # where PyPI is reachable; ~1 MB, ignored by git

Only pure-Python wheels (``py3-none-any``): they install on whatever Python the GPU machine runs. Compiled
packages (numpy, scipy, pandas, matplotlib, PyYAML, Pillow) must come with that machine's Python;
``benchmarks.gpu_check`` names any that are missing in one line before it starts.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

from benchmarks.gpu_check import BUNDLED, WHEELS_DIR


def pins() -> list[str]:
    """``dist==version`` for every bundled distribution, at the version installed in this environment."""
    return [f"{dist}=={metadata.version(dist)}" for dist in BUNDLED.values()]


def main(argv: list[str] | None = None) -> int:
    out = Path(argv[0]) if argv else WHEELS_DIR
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--platform", "any",
           "--python-version", "3.10", "--implementation", "py", "--abi", "none", "-d", str(out), *pins()]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"error: pip download failed: {(r.stderr.strip().splitlines() or ['?'])[-1]}", file=sys.stderr)
        return 2
    wheels = sorted(out.glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels)
    print(f"{len(wheels)} wheels, {size / 2**20:.1f} MiB in {out}: " + ", ".join(w.name for w in wheels))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
