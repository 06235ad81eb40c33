"""``precision_vgg16`` / ``recall_vgg16`` equal torch-fidelity's ``calculate_metrics(prc=True)`` with its defaults
(VGG-16 ``fc2_relu``, k = 3), on random-initialised VGG-16 weights saved under the upstream file name (no
download; tens of images at 16 px). ``precision`` / ``recall`` stay on Inception pool3 (test_metrics_fid_family)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from test_metrics_fid_family import _Images
from torch import nn

from bench.data.base import Dataset, DataSpec, Split
from metrics import features as F
from metrics import weights as W
from metrics.base import EvalContext, evaluate

pytestmark = pytest.mark.usefixtures("one_thread")


def test_vgg16_precision_recall_equal_torch_fidelity_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from torch_fidelity import calculate_metrics
    from torch_fidelity.feature_extractor_vgg16 import FeatureExtractorVGG16

    monkeypatch.setenv(F.ENV_STATS, str(tmp_path / "stats"))
    monkeypatch.setitem(W.TABLE, "vgg16", W.TABLE.get("vgg16", F.VGG16_WEIGHTS))  # the row metrics/weights.py needs
    # one class serves both sides; 64 px instead of 224 (VGG's adaptive pool takes it) keeps the test ~10x cheaper
    monkeypatch.setattr(FeatureExtractorVGG16, "INPUT_IMAGE_SIZE", 64)
    weights = tmp_path / "weights"
    weights.mkdir()
    torch.manual_seed(0)
    vgg = torchvision.models.vgg16(weights=None)
    for m in vgg.modules():  # keep fc2 activations O(1) so the neighbourhoods are not degenerate
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    wpath = weights / W.TABLE["vgg16"].file
    torch.save(vgg.state_dict(), wpath)
    assert W.TABLE["vgg16"].file == torchvision.models.VGG16_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1]

    g = torch.Generator().manual_seed(3)
    train = torch.randint(0, 256, (12, 3, 16, 16), generator=g, dtype=torch.uint8)
    noise = torch.randint(0, 256, (5, 3, 16, 16), generator=g, dtype=torch.uint8)
    fake = torch.cat([train[:5], noise])  # five copies of real images, five new ones
    ds = Dataset(DataSpec("tiny", "image", (3, 16, 16)), {"train": Split(train), "test": Split(train[:4])})
    out = evaluate(EvalContext(ds, sample_images=fake, weights_dir=str(weights)),
                   ["precision_vgg16", "recall_vgg16", "precision"])
    assert "precision.unavailable" in out  # the Inception pair needs other weights: the two are kept apart
    assert (out["precision_vgg16.n"], out["precision_vgg16.n_real"], out["recall_vgg16.ref"]) == (10, 12, "train")
    ref = calculate_metrics(input1=_Images(fake), input2=_Images(train), prc=True, feature_extractor_weights_path=str(wpath),
                            cuda=False, cache=False, verbose=False)  # no feature_extractor: torch-fidelity picks vgg16
    assert out["precision_vgg16"] == pytest.approx(ref["precision"], abs=1e-9)
    assert out["recall_vgg16"] == pytest.approx(ref["recall"], abs=1e-9)
    # not degenerate: recall strictly inside (0, 1) (measured: precision 1.0, recall 11/12)
    assert 0 < out["recall_vgg16"] < 1 and out["precision_vgg16"] > 0, (out["precision_vgg16"], out["recall_vgg16"])


def test_vgg16_metrics_without_a_weights_row_are_unavailable_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(W.TABLE, "vgg16", raising=False)
    data = torch.zeros(4, 3, 16, 16, dtype=torch.uint8)
    ds = Dataset(DataSpec("tiny", "image", (3, 16, 16)), {"train": Split(data), "test": Split(data)})
    out = evaluate(EvalContext(ds, sample_images=data), ["precision_vgg16"])
    assert out == {"precision_vgg16.unavailable": "no weights row 'vgg16' in metrics/weights.py TABLE (needed by vgg16)"}
