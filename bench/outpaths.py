"""Output paths named on the command line (``--out``, ``--json``), checked before anything is computed or
written: a path that can never be written (an existing file where a folder is needed, a folder where a file
is needed, a file on the way, a folder that is not writable) is one line and exit code 2, nothing created."""

from __future__ import annotations

import os
from pathlib import Path

from bench.errors import BenchError


class OutPathError(BenchError):
    """An output path that cannot be written as asked: nothing was computed or written."""


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(".")


def check_folder(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """``path`` as a :class:`Path` if it is a folder or can be created as one; else an :class:`OutPathError`
    naming ``option``."""
    p = Path(path).expanduser()
    found = _nearest_existing(p)
    if not found.is_dir():
        if found == p:
            raise OutPathError(f"{option} {path} is a file, not a folder: choose another {option}")
        raise OutPathError(f"{option} {path} cannot be created: {found} is a file, not a folder")
    if not os.access(found, os.W_OK | os.X_OK):
        raise OutPathError(f"{option} {path}: {found} is not writable; choose another {option}")
    return p


def check_file(path: str | os.PathLike[str], option: str) -> Path:
    """``path`` as a :class:`Path` if a file can be written there (absent, or an existing file, in a folder that
    is or can be created); else an :class:`OutPathError` naming ``option``."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise OutPathError(f"{option} {path} is a folder, not a file: give a file name (e.g. {p / 'metrics.json'})")
    found = _nearest_existing(p.parent)
    if not found.is_dir():
        raise OutPathError(f"{option} {path} cannot be written: {found} is a file, not a folder")
    if not os.access(found, os.W_OK | os.X_OK):
        raise OutPathError(f"{option} {path}: {found} is not writable; choose another {option}")
    return p
