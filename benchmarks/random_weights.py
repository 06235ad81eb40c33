"""Random-initialised feature-extractor weights under the upstream file names (timing only, issue #7).

Timing needs the real networks' architectures, not their trained values, and no weights can be downloaded
here, so each file of :data:`metrics.weights.TABLE` used by the Inception-family battery is written with
random (Kaiming-normal, so activations stay O(1) through the depth, as in tests/test_metrics_fid_family.py)
parameters:

- ``inception-v3-compat``: torch-fidelity's ``FeatureExtractorInceptionV3`` state dict (the TF-2015 graph port);
- ``inception-v3-tv`` / ``resnet50``: torchvision ``inception_v3`` / ``resnet50`` state dicts;
- ``clean-fid-inception``: a TorchScript file with clean-fid's interface (a ``layers`` sub-module mapping
  (N, 3, 299, 299) in [-1, 1] to (N, 2048, 1, 1)) whose ``layers`` is the same TF-2015 Inception trunk as
  torch-fidelity's, traced — so clean-fid's path costs what NVIDIA's real TorchScript file costs.

Values computed with these weights are meaningless as image quality; only times (and agreement between the
suite and the libraries on the same weights) are.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from unittest import mock

import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn

from metrics import weights as W

INCEPTION_BLOCKS = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "MaxPool_1", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
                    "MaxPool_2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d",
                    "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c")


def kaiming(module: nn.Module) -> nn.Module:
    """Kaiming-normal conv/linear weights (He et al. 2015), so deep random nets give O(1) features."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    return module


def fidelity_inception() -> nn.Module:
    """torch-fidelity's FeatureExtractorInceptionV3 (TF-2015 architecture) with random weights."""
    import torch_fidelity.feature_extractor_inceptionv3 as fi

    with mock.patch.object(fi, "load_state_dict_from_url", lambda *a, **k: None), \
            mock.patch.object(fi.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None):
        net = fi.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    return kaiming(net).eval()


class _Trunk(nn.Module):
    """The TF-2015 Inception trunk (299 px input in [-1, 1]) → pool3 as (N, 2048, 1, 1), clean-fid's ``layers``."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([getattr(net, b) for b in INCEPTION_BLOCKS])

    def forward(self, x: Tensor) -> Tensor:
        for b in self.blocks:
            x = b(x)
        return F.adaptive_avg_pool2d(x, 1)


class _CleanFIDFile(nn.Module):
    def __init__(self, trunk: nn.Module) -> None:
        super().__init__()
        self.layers = trunk

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


def write_random_weights(d: Path, seed: int = 0) -> Path:
    """Write the four battery weights files into ``d`` (skipping files already there); returns ``d``."""
    d.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    p = d / W.TABLE["inception-v3-compat"].file
    if not p.exists():
        torch.save(fidelity_inception().state_dict(), p)
    p = d / W.TABLE["inception-v3-tv"].file
    if not p.exists():
        torch.save(kaiming(torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False)).state_dict(), p)
    p = d / W.TABLE["resnet50"].file
    if not p.exists():
        torch.save(torchvision.models.resnet50(weights=None).state_dict(), p)
    p = d / W.TABLE["clean-fid-inception"].file
    if not p.exists():
        outer = _CleanFIDFile(_Trunk(fidelity_inception())).eval()
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(outer, torch.zeros(1, 3, 299, 299))
        torch.jit.save(traced, str(p))
    return d
