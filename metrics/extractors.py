"""Feature extractors added to torch-fidelity's own registry (``register_feature_extractor``), so every
network of the suite is driven the same way as torch-fidelity's ``inception-v3-compat``: uint8 (N, 3, H, W)
in, a tuple of float32 features (in ``features_list`` order) out, weights read from a local file only.

- ``inception-v3-tv`` — torchvision ``inception_v3`` with IMAGENET1K_V1 weights, the port of Google's
  2016-08-28 checkpoint (FID16, IDVAE Table 1). Input resized to 299 with torch-fidelity's TF1-compatible
  bilinear resize (the same as FID15, so FID15 and FID16 differ only in the weights) and scaled to [-1, 1]
  exactly as torchvision's ``transform_input`` does for ImageNet-normalised input: 2·(x/255) − 1. Its 3 × 3
  average pools (the ``branch_pool`` of Mixed_5b–5d, 6b–6e, 7b–7c) follow TensorFlow's 'SAME' pooling of the
  original graph, which averages over the valid pixels only, instead of torchvision's zero-padded average
  (``count_include_pad=True``): :func:`tf_same_average_pools` — what pytorch-fid's ``FIDInceptionA/C/E`` do
  for the 2015 graph (without pytorch-fid's max-pool quirk in the last block, which the 2016 graph lacks).
- ``resnet50-tv`` — torchvision ``resnet50`` IMAGENET1K_V1, 2048-d global-average-pooled features (FRD,
  IDVAE Table 1); TF1-compatible bilinear resize to 224, ImageNet mean/std normalisation.
- ``clean-fid-inception`` — clean-fid's "clean" mode (Parmar et al. 2022): clean-fid's own PIL bicubic
  resize to 299 of each float image (``cleanfid.resize.build_resizer('clean')``) then clean-fid's
  ``InceptionV3W`` around the NVIDIA TorchScript ``inception-2015-12-05.pt`` (pool3, 2048-d).
- ``dinov2-vit-l-14-local`` — torch-fidelity's DINOv2 extractor (its preprocessing and forward) with the
  model built offline: ``torch.hub.load(<repo dir>, 'dinov2_vitl14', source='local', pretrained=False)`` then
  the upstream ``dinov2_vitl14_pretrain.pth`` state dict (torch-fidelity itself would fetch code and weights
  from GitHub). FD_DINOv2 after Stein et al. 2023 (ViT-L/14, 1024-d CLS features).
"""

from __future__ import annotations

import os
import sys
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch import Tensor, nn
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.feature_extractor_dinov2 import FeatureExtractorDinoV2
from torch_fidelity.helpers import vassert
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _check_input(x: Tensor) -> None:
    vassert(torch.is_tensor(x) and x.dtype == torch.uint8, "Expecting image as torch.Tensor with dtype=torch.uint8")
    vassert(x.dim() == 4 and x.shape[1] == 3, f"Input is not Bx3xHxW: {x.shape}")


def _load_state(path: str | os.PathLike[str] | None, what: str) -> dict:
    if path is None:  # torch-fidelity would download; the suite never does (see metrics.weights)
        raise ValueError(f"{what}: feature_extractor_weights_path is required (weights are never downloaded)")
    return torch.load(path, map_location="cpu", weights_only=True)


class _Frozen(FeatureExtractorBase):
    def _freeze(self) -> None:
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def can_be_compiled() -> bool:
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> Tensor:
        return (torch.rand([1, 3, 4, 4]) * 255).to(torch.uint8)


INCEPTION_AVG_POOL_BLOCKS = ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
                             "Mixed_7b", "Mixed_7c")  # torchvision InceptionA / C / E: 3x3, stride 1, padding 1


def _exclude_padding(module: nn.Module, args: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    """Forward pre-hook of a ``branch_pool`` conv: its input is torchvision's zero-padded 3 × 3 average
    (sum / 9); multiplying by 9 / (number of valid pixels in each window) turns it into TF's 'SAME' average
    (sum / valid count), i.e. ``avg_pool2d(..., count_include_pad=False)``."""
    (x,) = args
    share = nn.functional.avg_pool2d(torch.ones(1, 1, *x.shape[-2:], dtype=x.dtype, device=x.device), 3, 1, 1)
    return (x / share,)


def tf_same_average_pools(net: nn.Module) -> nn.Module:
    """Make torchvision's Inception-v3 average its 3 × 3 pools like TensorFlow 'SAME' pooling (padding
    excluded from the count); the parameters and their names are unchanged."""
    for name in INCEPTION_AVG_POOL_BLOCKS:
        getattr(net, name).branch_pool.register_forward_pre_hook(_exclude_padding)
    return net


class FeatureExtractorInceptionTV(_Frozen):
    """torchvision Inception-v3 (2016 weights) with TF 'SAME' average pools, pool3 (2048) and logits (1000):
    FID16 of IDVAE Table 1."""

    INPUT_IMAGE_SIZE = 299

    def __init__(self, name: str, features_list: list[str], feature_extractor_weights_path: str | None = None,
                 **kwargs: object) -> None:
        super().__init__(name, features_list)
        net = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=False)
        net.load_state_dict(_load_state(feature_extractor_weights_path, name))
        self.net = tf_same_average_pools(net)
        self._freeze()

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        _check_input(x)
        x = interpolate_bilinear_2d_like_tensorflow1x(x.float(), size=(self.INPUT_IMAGE_SIZE,) * 2, align_corners=False)
        x = x / 255.0 * 2.0 - 1.0  # == torchvision transform_input applied to ImageNet-normalised input
        n = self.net
        for block in (n.Conv2d_1a_3x3, n.Conv2d_2a_3x3, n.Conv2d_2b_3x3, n.maxpool1, n.Conv2d_3b_1x1, n.Conv2d_4a_3x3,
                      n.maxpool2, n.Mixed_5b, n.Mixed_5c, n.Mixed_5d, n.Mixed_6a, n.Mixed_6b, n.Mixed_6c, n.Mixed_6d,
                      n.Mixed_6e, n.Mixed_7a, n.Mixed_7b, n.Mixed_7c, n.avgpool):
            x = block(x)
        pool = torch.flatten(x, 1)
        out = {"2048": pool, "logits": n.fc(pool) if "logits" in self.features_list else None}
        return tuple(out[k].float() for k in self.features_list)

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        return "2048", "logits"

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return {"isc": "logits", "fid": "2048", "kid": "2048", "prc": "2048"}[metric]


class FeatureExtractorResNet50TV(_Frozen):
    """torchvision ResNet-50 (ImageNet) 2048-d pooled features: FRD of IDVAE Table 1."""

    INPUT_IMAGE_SIZE = 224

    def __init__(self, name: str, features_list: list[str], feature_extractor_weights_path: str | None = None,
                 **kwargs: object) -> None:
        super().__init__(name, features_list)
        net = torchvision.models.resnet50(weights=None)
        net.load_state_dict(_load_state(feature_extractor_weights_path, name))
        net.fc = nn.Identity()
        self.net = net
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0)
        self._freeze()

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        _check_input(x)
        x = interpolate_bilinear_2d_like_tensorflow1x(x.float(), size=(self.INPUT_IMAGE_SIZE,) * 2, align_corners=False)
        return (self.net((x - self.mean) / self.std).float(),)

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        return ("2048",)

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return {"fid": "2048", "kid": "2048", "prc": "2048"}[metric]


class FeatureExtractorCleanFID(_Frozen):
    """clean-fid "clean" mode: its PIL bicubic resize to 299 (float, unquantised) + its InceptionV3W (pool3)."""

    def __init__(self, name: str, features_list: list[str], feature_extractor_weights_path: str | None = None,
                 model: nn.Module | None = None, **kwargs: object) -> None:
        super().__init__(name, features_list)
        from cleanfid.inception_torchscript import InceptionV3W
        from cleanfid.resize import build_resizer

        if model is None:
            if feature_extractor_weights_path is None:
                raise ValueError(f"{name}: feature_extractor_weights_path is required (weights are never downloaded)")
            # download=False: clean-fid would otherwise fetch into the folder; the file is checked by metrics.weights
            model = InceptionV3W(str(Path(feature_extractor_weights_path).parent), download=False, resize_inside=False)
        self.model = model
        self.resize = build_resizer("clean")
        self._freeze()

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        _check_input(x)
        # clean-fid's per-image resize on HWC numpy, exactly as cleanfid.fid.get_model_features does
        imgs = x.permute(0, 2, 3, 1).cpu().numpy()
        resized = np.stack([self.resize(img).transpose((2, 0, 1)) for img in imgs])
        with torch.no_grad():
            feats = self.model(torch.from_numpy(resized).to(x.device))
        return (feats.float(),)

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        return ("2048",)

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return {"fid": "2048", "kid": "2048", "prc": "2048"}[metric]


class FeatureExtractorDinoV2Local(FeatureExtractorDinoV2):
    """torch-fidelity's DINOv2 extractor (same preprocessing and forward) built from local code and weights."""

    HUB_ENTRY = "dinov2_vitl14"

    def __init__(self, name: str, features_list: list[str], feature_extractor_weights_path: str | None = None,
                 repo_dir: str | None = None, **kwargs: object) -> None:
        FeatureExtractorBase.__init__(self, name, features_list)
        if feature_extractor_weights_path is None or repo_dir is None:
            raise ValueError(f"{name}: the weights file and the hub repository directory are both required")
        self.feature_extractor_internal_dtype = torch.float32
        os.environ["XFORMERS_DISABLED"] = "1"
        with redirect_stdout(sys.stderr), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="xFormers")
            self.model = torch.hub.load(str(repo_dir), self.HUB_ENTRY, source="local", pretrained=False)
        self.model.load_state_dict(_load_state(feature_extractor_weights_path, name))
        self.requires_grad_(False)
        self.eval()


CLASSES: dict[str, type[FeatureExtractorBase]] = {
    "inception-v3-tv": FeatureExtractorInceptionTV,
    "resnet50-tv": FeatureExtractorResNet50TV,
    "clean-fid-inception": FeatureExtractorCleanFID,
    "dinov2-vit-l-14-local": FeatureExtractorDinoV2Local,
}


def register() -> None:
    """Add the suite's extractors to torch-fidelity's registry (idempotent)."""
    for name, cls in CLASSES.items():
        if name not in FEATURE_EXTRACTORS_REGISTRY:
            register_feature_extractor(name, cls)
