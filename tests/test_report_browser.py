"""``report.html`` in a real browser: headless Chromium (Debian's ``chromium``) renders the page, takes a
screenshot, and every table and every embedded image is checked to have rendered.

The report is built by ``python -m bench report`` from a summary.csv in the format bench.summary writes and
run directories holding ``samples.png`` / ``reconstructions.png`` images this test draws (so the page has
tables, box plots, scatter plots and the sample mosaics). A probe script appended to a copy of the page
reports, after load, each image's decoded (natural) size, its box on the page, and each table's box and
rows (``chromium --dump-dom``); the screenshot of the whole page (``--screenshot``, 1 CSS px = 1 pixel)
is then cropped at those boxes. Checks: every ``<img>`` decoded to the size of the PNG inlined in the
HTML, is shown at a non-zero size and its pixels on the screenshot match that PNG resized to the box;
every table is visible with all its rows and its text drawn (non-blank crop).

Chromium is installed by this test's set-up with apt-get (``--no-install-recommends chromium``), like the
Slurm packages of ``slurm/cluster.sh``; the test is skipped, with the reason printed, only where it cannot
be installed (no apt-get, not root, no package mirror). Measured: ~6 s with Chromium installed; the first
install takes ~1–2 minutes.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bench.cli import main

PACKAGE = "chromium"
WIDTH = 1280
PROBE = """<script>
window.addEventListener('load', () => {
  const box = e => { const r = e.getBoundingClientRect();
    return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; };
  const out = {
    height: Math.ceil(document.documentElement.scrollHeight),
    images: [...document.images].map(i => ({complete: i.complete, w: i.naturalWidth, h: i.naturalHeight,
                                            box: box(i)})),
    tables: [...document.querySelectorAll('table')].map(t => ({rows: t.rows.length, box: box(t),
                                                                visible: t.offsetParent !== null})),
  };
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def _install() -> str | None:
    """Chromium's path, installing Debian's package if needed; ``None`` (after ``pytest.skip``) if impossible."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if shutil.which("apt-get") is None:
        pytest.skip("Chromium cannot be installed here: no apt-get")
    if os.geteuid() != 0:
        pytest.skip("Chromium cannot be installed here: apt-get needs root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=600"]
    subprocess.run(["apt-get", *lock, "update", "-qq"], capture_output=True, env=env, timeout=900)
    r = subprocess.run(["apt-get", *lock, "install", "-y", "-qq", "--no-install-recommends", PACKAGE],
                       capture_output=True, text=True, env=env, timeout=1200)
    found = shutil.which("chromium")
    if r.returncode != 0 or not found:
        pytest.skip(f"Chromium cannot be installed here: apt-get install {PACKAGE} failed: "
                    f"{(r.stderr.strip().splitlines() or ['?'])[-1]}")
    return found


@pytest.fixture(scope="module")
def chromium() -> str:
    path = _install()
    assert path is not None
    return path


def _run(chromium: str, args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1",
             "--disable-dev-shm-usage", "--no-first-run", "--allow-file-access-from-files",
             f"--user-data-dir={tmp / 'profile'}", "--virtual-time-budget=5000"]
    return subprocess.run([chromium, *flags, *args], capture_output=True, text=True, timeout=120)


def _sweep(root: Path) -> Path:
    """summary.csv of two models × three seeds on digits, and run directories with sample images."""
    rng = np.random.default_rng(0)
    rows = []
    for model, base in (("vae", 0.10), ("dcgan", 0.20)):
        for seed in range(3):
            run_id = f"{model}-digits-s{seed}-0000000{seed}"
            common = {"sweep": "browser", "run_id": run_id, "dataset": "digits", "model": model, "seed": seed,
                      "protocol": "fair", "status": "completed", "step": 100, "params": json.dumps({})}
            for metric, value in (("sharpness", base + 0.01 * seed), ("fid", 30 + 10 * base + seed)):
                rows.append({**common, "metric": metric, "value": value, "n_samples": 64})
            d = root / "runs" / run_id
            d.mkdir(parents=True)
            for name in ("samples.png", "reconstructions.png"):  # an 8×8 grid of 8-px tiles, like the runs'
                tiles = rng.integers(0, 256, (8, 8, 3)).repeat(8, 0).repeat(8, 1).astype(np.uint8)
                Image.fromarray(tiles).save(d / name)
    pd.DataFrame(rows).to_csv(root / "summary.csv", index=False)
    return root


def _blocks(a: np.ndarray, k: int = 8) -> np.ndarray:
    h, w = a.shape[0] // k * k, a.shape[1] // k * k
    return a[:h, :w].reshape(h // k, k, w // k, k, -1).mean(axis=(1, 3))


def _embedded(page: str) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(m))).convert("RGB")
            for m in re.findall(r'<img[^>]*src="data:image/png;base64,([^"]+)"', page)]


@pytest.mark.slow  # ~8 s with Chromium present; the first apt-get install adds 1–2 minutes
def test_report_renders_in_headless_chromium(chromium: str, tmp_path: Path) -> None:
    sweep = _sweep(tmp_path / "sweep")
    assert main(["report", str(sweep)]) == 0
    page = (sweep / "report" / "report.html").read_text()
    expected = _embedded(page)
    n_tables = page.count("<table")
    assert len(expected) >= 4 and n_tables >= 1  # box + scatter plots and two mosaics, the tables
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(page.replace("</body>", PROBE + "</body>"))

    dom = _run(chromium, ["--dump-dom", f"--window-size={WIDTH},1000", probe_page.as_uri()], tmp_path)
    m = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert m, f"no probe output; chromium said: {dom.stderr[-2000:]}"
    probe = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    height = min(int(probe["height"]), 16_000)
    shot = Path(os.environ.get("BENCH_SCREENSHOT", tmp_path / "report.png"))
    r = _run(chromium, [f"--screenshot={shot}", f"--window-size={WIDTH},{height}", probe_page.as_uri()], tmp_path)
    assert shot.is_file(), r.stderr[-2000:]
    screen = np.asarray(Image.open(shot).convert("RGB")).astype(np.float64)
    print(f"screenshot {screen.shape[1]}x{screen.shape[0]} px, {len(probe['images'])} images, "
          f"{len(probe['tables'])} tables")
    assert screen.std() > 10  # the page is not blank

    assert len(probe["images"]) == len(expected)
    for img, png in zip(probe["images"], expected, strict=True):
        assert img["complete"] and (img["w"], img["h"]) == png.size  # decoded at the inlined PNG's size
        x, y, w, h = (int(round(v)) for v in img["box"])
        assert w > 50 and h > 50 and y + h <= screen.shape[0], img
        crop = screen[y + 2:y + h - 2, x + 2:x + w - 2]  # inside the 1-px border
        assert crop.std() > 5, f"image at {img['box']} rendered blank"
        ref = np.asarray(png.resize((w, h), Image.BILINEAR)).astype(np.float64)[2:h - 2, 2:w - 2]
        # compared on 8×8-px blocks: sub-pixel placement moves thin lines and text by a pixel
        assert _blocks(crop).shape == _blocks(ref).shape
        diff = np.abs(_blocks(crop) - _blocks(ref)).mean()
        assert diff < 8, f"image at {img['box']} differs from its PNG (mean |Δ| {diff:.1f} per 8-px block)"
        assert np.abs(_blocks(crop) - _blocks(ref)[::-1]).mean() > diff  # the comparison can tell images apart

    assert len(probe["tables"]) == n_tables
    for t, html_rows in zip(probe["tables"], re.findall(r"<table.*?</table>", page, re.S), strict=True):
        assert t["visible"] and t["rows"] == html_rows.count("<tr")
        x, y, w, h = (int(round(v)) for v in t["box"])
        assert w > 100 and h > 15 * t["rows"], t
        if y + h <= screen.shape[0]:
            cell = screen[y:y + h, x:x + w]
            assert (cell.min(axis=2) < 100).mean() > 0.005, f"table at {t['box']} has no text drawn"
