"""End to end: a real (tiny) sweep of vae and dcgan on digits → ``python -m bench report`` →
Markdown / LaTeX / CSV tables, statistics, PNG + PDF plots and a self-contained report.html.

The table's numbers are checked against the run directories' own ``metrics.json`` files, read
here independently of ``summary.csv`` and of the report code.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

METRICS = ["mse", "cosine", "sharpness", "sharpness_recon"]
RUNS = [("vae", 0), ("vae", 1), ("vae", 2), ("dcgan", 0), ("dcgan", 1)]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bench.run import RunSpec, execute
    from bench.summary import write_summary

    root = tmp_path_factory.mktemp("sweep")
    for model, seed in RUNS:
        spec = RunSpec(model=model, dataset="digits", seed=seed, steps=20, metrics=METRICS, n_eval=64, log_every=5,
                       checkpoint_every=1000, overrides={"width": 8, "latent_dim": 8, "batch_size": 32})
        execute(spec, root / "runs" / spec.run_id(), progress=False)
    write_summary(root / "runs", root / "summary.csv", sweep="e2e")
    return root


@pytest.fixture(scope="module")
def report(sweep: Path) -> Path:
    from bench.cli import main

    assert main(["report", str(sweep)]) == 0
    return sweep / "report"


def reference_stats(sweep: Path) -> dict[tuple[str, str], tuple[float, float, int]]:
    """mean, sample std and n per (model, metric), straight from every run's metrics.json."""
    vals: dict[tuple[str, str], list[float]] = {}
    for run in sorted((sweep / "runs").iterdir()):
        cfg = json.loads((run / "config.json").read_text())
        met = json.loads((run / "metrics.json").read_text())
        for k in METRICS:
            if k in met:
                vals.setdefault((cfg["spec"]["model"], k), []).append(met[k])
    return {key: (float(np.mean(v)), float(np.std(v, ddof=1)), len(v)) for key, v in vals.items()}


def test_tables_match_the_run_directories(sweep: Path, report: Path) -> None:
    ref = reference_stats(sweep)
    assert set(ref) == {("vae", k) for k in METRICS} | {("dcgan", "sharpness")}
    df = pd.read_csv(report / "tables" / "generic-digits.csv")
    for (model, metric), (mean, std, n) in ref.items():
        row = df[(df["model"] == model) & (df["metric"] == metric)].iloc[0]
        assert abs(row["mean"] - mean) < 1e-9 and abs(row["std"] - std) < 1e-9 and row["n"] == n
    # bold = best in the declared direction: only vae has mse/cosine; sharpness is best closest to the real
    # data's value, and this report has no real-data row, so it is not ranked (docs/protocols.md §3)
    assert set(df[df["best"] == 1]["model"] + "/" + df[df["best"] == 1]["metric"]) == {
        "vae/mse", "vae/cosine", "vae/sharpness_recon"}
    md = (report / "tables" / "generic-digits.md").read_text()
    m, s, n = ref[("vae", "mse")]
    assert f"**{m:.4f} ± {s:.4f} ({n})**" in md or f"**{m:.3f} ± {s:.3f} ({n})**" in md
    dcgan_line = next(ln for ln in md.splitlines() if ln.startswith("| dcgan |"))
    assert dcgan_line.count("—") == 3 and "nan" not in md.lower() and " 0.000 " not in dcgan_line


def test_latex_is_a_compilable_booktabs_fragment(report: Path, tmp_path: Path) -> None:
    texs = sorted((report / "tables").glob("*.tex"))
    assert texs
    for tex in texs:
        body = tex.read_text()
        assert body.startswith(r"\begin{table}") and r"\toprule" in body and r"\bottomrule" in body
        assert body.count("{") - body.count(r"\{") == body.count("}") - body.count(r"\}")
        assert all(ord(ch) < 128 for ch in body), tex.name  # every symbol became a LaTeX command
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not installed: structure checked only")
    doc = tmp_path / "doc.tex"
    doc.write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\usepackage[margin=1cm,landscape]{geometry}\n"
                   "\\begin{document}\n" + "".join(f"\\input{{{t}}}\n\\clearpage\n" for t in texs)
                   + "\\end{document}\n")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000


def test_plots_are_written_as_png_and_pdf_and_not_blank(report: Path) -> None:
    import matplotlib.image as mpimg

    pngs = sorted((report / "plots").glob("*.png"))
    stems = {p.stem for p in pngs}
    assert {"box-digits", "scatter-digits", "curves-digits", "mosaic-samples", "mosaic-reconstructions"} <= stems
    for p in pngs:
        assert p.with_suffix(".pdf").stat().st_size > 1000
        img = mpimg.imread(p)
        assert img.shape[1] >= 400 and img.shape[0] >= 300 and float(img[..., :3].std()) > 0.01, p.name


def test_html_is_self_contained(report: Path) -> None:
    page = (report / "report.html").read_text()
    n_png = len(list((report / "plots").glob("*.png")))
    assert page.count('src="data:image/png;base64,') == n_png
    assert not re.search(r'(src|href)="(https?:|/|\.\./)', page)  # nothing fetched from elsewhere
    assert page.count('<table class="result"') >= 2 and "Kendall" in page and "Welch" in page


def test_statistics_files(report: Path, sweep: Path) -> None:
    ref = reference_stats(sweep)
    pw = pd.read_csv(report / "stats" / "pairwise_welch.csv")
    assert len(pw) == 1  # only sharpness is shared by the two models
    row = pw.iloc[0]
    means = {row["a"]: row["mean_a"], row["b"]: row["mean_b"]}
    assert abs(means["vae"] - ref[("vae", "sharpness")][0]) < 1e-9
    rank = pd.read_csv(report / "stats" / "rank_agreement.csv")
    assert set(rank["source"]) >= {"IDVAE Table 1 (published): cifar10", "IDVAE Table 1 (published): celeba"}


def test_cli_errors_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], sweep: Path) -> None:
    from bench.cli import main

    assert main(["report", str(tmp_path / "missing")]) == 2
    assert main(["report", str(sweep), "--format", "docx"]) == 2
    assert main(["report", str(sweep), "--tables", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(ln.startswith("error: ") for ln in err)
    assert "docx" in err[1] and "nope" in err[2]


def test_format_selection_and_named_paper_layouts(sweep: Path, tmp_path: Path) -> None:
    from bench.cli import main

    out = tmp_path / "rep"
    assert main(["report", str(sweep), "--out", str(out), "--format", "md", "--no-plots",
                 "--tables", "generic,khan-table1"]) == 0
    names = sorted(p.name for p in (out / "tables").iterdir())
    assert names == ["generic-digits.md", "khan-table1.md"]
    assert not (out / "report.html").exists() and (out / "report.md").exists()
    khan = (out / "tables" / "khan-table1.md").read_text()
    assert "| VAE + BEGAN\\* + LSM | — | 6.80 | — |" in khan  # a named layout shows the paper alone
