"""Feature extraction + the Inception-family metric battery on N images (random-initialised upstream networks).

Timed: ``metrics.base.evaluate`` of fid, fid_64, fid_192, fid_768, is, kid, precision, recall, fid_clean,
fid_tv16 and frd on ``N`` samples against ``N`` real images, with the extractors loaded inside the timing, cold
(real statistics computed and written to the on-disk cache) and warm (read back). Asserted: every metric is a
finite number, and each extractor saw each image exactly once per evaluation (2N passes cold, N warm), which
is the design being timed. The side-by-side against the separate libraries is ``benchmarks/compare_eval.py``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks.compare_eval import BATTERY, image_sets, suite
from metrics import features as FE

N = 16
EXTRACTORS = ("inception-v3-compat", "inception-v3-tv", "resnet50-tv", "clean-fid-inception")


@pytest.fixture(scope="module")
def images():  # noqa: ANN201
    return image_sets(N)


@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_eval_battery(benchmark, cache: str, images, timing_weights: Path, tmp_path_factory: pytest.TempPathFactory) -> None:  # noqa: ANN001
    fakes, ds = images
    stats = tmp_path_factory.mktemp(f"stats-{cache}")
    if cache == "warm":
        suite(fakes, ds, timing_weights, stats, "cpu")  # fills the on-disk reference cache
    before = {e: FE.PASSES[e] for e in EXTRACTORS}
    rounds = 1

    def run() -> dict:
        if cache == "cold":
            for f in stats.glob("*.pt"):
                f.unlink()
        return suite(fakes, ds, timing_weights, stats, "cpu")[0]

    values = benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=0)
    for name in BATTERY:
        assert math.isfinite(values[name]), name
    per_image = 2 if cache == "cold" else 1
    for e in EXTRACTORS:
        assert FE.PASSES[e] - before[e] == rounds * per_image * N, e
    benchmark.extra_info.update(n_fake=N, n_real=N, battery=BATTERY, cache=cache)
