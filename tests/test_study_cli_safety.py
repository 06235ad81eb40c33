"""#28 points 2-4 for ``python -m bench study``: a subset report never overwrites the combined report, a failed
``--report-only`` leaves nothing behind, and an existing file as ``--out`` is one line and exit code 2. Every
file that was there before is compared by its sha256 afterwards."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def study(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", "study", *args], cwd=ROOT, capture_output=True, text=True)


def committed_study(tmp_path: Path) -> Path:
    """results/study as a fresh clone has it (no run directories)."""
    out = tmp_path / "study"
    shutil.copytree(ROOT / "results" / "study", out,
                    ignore=shutil.ignore_patterns("runs", "submitit", "_jobs", "subset-*", "*.pdf"))
    return out


@pytest.mark.slow
def test_a_subset_report_leaves_the_combined_report_as_it_is(tmp_path: Path) -> None:
    """#28.2: ``--report-only --tables khan_table1`` replaced the combined report.md, report.html, summary.csv and
    agreement.csv with one table's. Now every file is byte-identical and the subset report is written apart."""
    out = committed_study(tmp_path)
    before = hashes(out)
    r = study("--report-only", "--tables", "khan_table1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    after = hashes(out)
    assert {k: after.get(k) for k in before} == before  # nothing that was there changed
    new = sorted(set(after) - set(before))
    assert new and all(k.startswith("subset-khan_table1/") for k in new)
    sub = (out / "subset-khan_table1" / "report.md").read_text()
    assert "## Khan et al. Table 1" in sub and "## AVAE Table I" not in sub
    assert "## AVAE Table I" in (out / "report.md").read_text()
    assert not list(out.glob(".subset-*"))  # no staging folder left


@pytest.mark.parametrize("exists", [False, True])
def test_report_only_without_results_leaves_nothing(tmp_path: Path, exists: bool) -> None:
    """#28.3: ``--report-only --out NEW_DIR`` wrote NEW_DIR/reference.json (after ~11 s), then failed. The inputs
    are checked first: one line, exit 2, and NEW_DIR is not created (or stays empty)."""
    new = tmp_path / "new"
    if exists:
        new.mkdir()
    r = study("--report-only", "--out", str(new))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert "no study results under" in r.stderr
    assert (new.is_dir() and not any(new.iterdir())) if exists else not new.exists()


@pytest.mark.parametrize("args", [["--report-only"], ["--report-only", "--tables", "khan_table1"],
                                  ["--tables", "khan_table1", "--quiet"], ["--edition", "fashion", "--report-only"]])
def test_an_existing_file_as_out_is_one_line(tmp_path: Path, args: list[str]) -> None:
    """#28.4: an existing file as ``--out`` gave a traceback (after computing the real-data reference). Now one
    line, exit 2, and the file is byte-identical."""
    f = tmp_path / "notes.txt"
    f.write_bytes(b"a user's file\n")
    r = study(*args, "--out", str(f))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert "is a file, not a study directory" in r.stderr
    assert f.read_bytes() == b"a user's file\n" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
