"""LPIPS v0.1, AlexNet trunk (Zhang et al. 2018, eq. 1), test image vs its reconstruction (AVAE Table I).

Delegated to the ``lpips`` package (0.1.4): its linear-layer weights ship in the wheel; only the
AlexNet trunk (torchvision's ``alexnet-owt-7be5be79.pth``, which ``lpips`` would fetch through
torch.hub) is read from the weights directory (metrics.weights, row ``alexnet``), so nothing is
ever downloaded. The network is built with ``pnet_rand=True`` (no download) and the trunk's
``features.*`` tensors are copied into ``lpips``'s ``net.slice*`` modules, which hold the very
same layers. Inputs are uint8 images mapped to [-1, 1] (the range ``lpips`` expects); grayscale
images are repeated to three channels, the input AlexNet expects.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import Tensor

from metrics.base import IMAGES, RECONSTRUCTIONS, EvalContext, Metric, MetricUnavailable

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
MIN_SIDE = 31  # AlexNet's two 3×3/2 max-pools need ≥ 3×3 maps: conv1 (11×11/4, pad 2) of a 31 px input is 7×7


def alexnet_weights_path(weights_dir: str | None = None) -> Path:
    """Where torchvision's ImageNet AlexNet lies: the suite's weights directory (``metrics.weights``
    row ``alexnet``: ``--weights-dir`` / ``$BENCH_WEIGHTS_DIR`` / ~/.cache/hybrid-bench/weights), else
    torch.hub's own checkpoint cache (where torchvision would have put it).

    Raises :class:`MetricUnavailable` with the weights table's one-line reason when it is nowhere."""
    from bench.errors import MissingResourceError
    from metrics import weights

    try:
        return weights.ensure("alexnet", weights_dir)
    except MissingResourceError as err:
        hub = Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_FILE
        if hub.is_file():
            return hub
        raise MetricUnavailable(str(err)) from None


def build_lpips(weights_path: str | Path, device: torch.device | str = "cpu") -> torch.nn.Module:
    """``lpips.LPIPS(net="alex", version="0.1")`` with its AlexNet trunk loaded from ``weights_path``."""
    import lpips

    model = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    trunk = torch.load(weights_path, map_location="cpu", weights_only=True)
    mapped = {}
    for key in model.net.state_dict():
        m = re.fullmatch(r"slice\d+\.(\d+)\.(\w+)", key)
        if m is None:
            raise RuntimeError(f"unexpected lpips AlexNet key {key}")
        mapped[key] = trunk[f"features.{m.group(1)}.{m.group(2)}"]
    model.net.load_state_dict(mapped, strict=True)
    return model.eval().to(device)


def lpips_distance(model: torch.nn.Module, x: Tensor, y: Tensor, batch: int = 250) -> Tensor:
    """Per-pair LPIPS (Zhang et al. 2018 eq. 1) of uint8 images (N, C, H, W); grayscale → RGB."""
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for s in range(0, len(x), batch):
            a, b = (t[s:s + batch].to(device).float().div(127.5).sub(1.0) for t in (x, y))
            if a.shape[1] == 1:
                a, b = a.expand(-1, 3, -1, -1), b.expand(-1, 3, -1, -1)
            out.append(model(a, b).flatten().cpu())
    return torch.cat(out)


class LPIPS(Metric):
    """Mean LPIPS (v0.1, AlexNet) between test images and their reconstructions (AVAE Table I)."""

    name = "lpips"
    description = "LPIPS v0.1 AlexNet, test image vs reconstruction (needs alexnet-owt-7be5be79.pth)"
    paper = "AVAE Table I (Zhang et al. 2018)"
    direction = "lower"
    needs = frozenset({RECONSTRUCTIONS, IMAGES})
    n_paper, n_quick = 10_000, 500

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        side = min(ctx.dataset.spec.shape[-2:])
        if side < MIN_SIDE:
            raise MetricUnavailable(f"LPIPS (AlexNet) needs images of at least {MIN_SIDE} px, got {side} px")
        model = ctx.cache.get("lpips_alex")
        if model is None:
            model = ctx.cache["lpips_alex"] = build_lpips(alexnet_weights_path(ctx.weights_dir), ctx.device)
        x, r = ctx.reconstructions(self.n(ctx))
        return {self.name: lpips_distance(model, x, r).double().mean().item(), "__n__": len(x)}
