"""Feature extraction + the Inception-family metric battery on N images (random-initialised upstream networks).

Timed: ``metrics.base.evaluate`` of fid, fid_64, fid_192, fid_768, is, kid, precision, recall, fid_clean,
fid_tv16 and frd on ``N`` samples against ``N`` real images, with the extractors loaded inside the timing, cold
(real statistics computed and written to the on-disk cache) and warm (read back). Asserted: every metric is a
finite number, and each extractor saw each image exactly once per evaluation (2N passes cold, N warm), which
is the design being timed. The cold battery also runs with ``extractor_precision="bf16"`` (the suite's flag);
the values of both precisions are kept in the JSON so ``bench perf report`` states the flag's effect on FID.
The side-by-side against the separate libraries is ``benchmarks/compare_eval.py``.
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


@pytest.mark.parametrize(("cache", "precision"), [("cold", "fp32"), ("warm", "fp32"), ("cold", "bf16")])
def test_eval_battery(benchmark, cache: str, precision: str, images, timing_weights: Path,  # noqa: ANN001
                      tmp_path_factory: pytest.TempPathFactory) -> None:
    fakes, ds = images
    bf16 = precision == "bf16"
    stats = tmp_path_factory.mktemp(f"stats-{cache}-{precision}")
    if cache == "warm":
        suite(fakes, ds, timing_weights, stats, "cpu", bf16)  # fills the on-disk reference cache
    before = {e: FE.PASSES[e] for e in EXTRACTORS}
    rounds = 1

    def run() -> dict:
        if cache == "cold":
            for f in stats.glob("*.pt"):
                f.unlink()
        return suite(fakes, ds, timing_weights, stats, "cpu", bf16)[0]

    values = benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=0)
    for name in BATTERY:
        assert math.isfinite(values[name]), name
    per_image = 2 if cache == "cold" else 1
    for e in EXTRACTORS:
        assert FE.PASSES[e] - before[e] == rounds * per_image * N, e
    benchmark.extra_info.update(n_fake=N, n_real=N, battery=BATTERY, cache=cache, extractor_precision=precision,
                                values={k: float(values[k]) for k in BATTERY})
