"""Pictures of a run: sample grids, reconstruction grids, 2-D scatter plots (atomic PNG writes)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from bench.atomic import write_with


def save_image_grid(x: Tensor, path: Path, nrow: int = 8) -> None:
    """Save model-range images ([-1, 1]) as one PNG grid."""
    from torchvision.utils import save_image

    img = x.detach().cpu().clamp(-1, 1).add(1).div(2)
    write_with(path, lambda tmp: save_image(img, tmp, nrow=nrow, padding=2, format="png"))


def save_recon_grid(x: Tensor, r: Tensor, path: Path, per_row: int = 8) -> None:
    """Rows alternate: ``per_row`` test images, then their reconstructions below them."""
    rows = []
    for start in range(0, len(x), per_row):
        rows += [x[start : start + per_row], r[start : start + per_row]]
    save_image_grid(torch.cat(rows), path, nrow=per_row)


def save_points(real: Tensor, fake: Tensor, path: Path, label: str) -> None:
    """Scatter of real points (grey) and model points (blue) for 2-D data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    r, f = real.detach().cpu().numpy(), fake.detach().cpu().numpy()
    ax.scatter(r[:, 0], r[:, 1], s=2, c="0.6", label="real")
    ax.scatter(f[:, 0], f[:, 1], s=2, c="tab:blue", label=label)
    ax.legend(loc="upper right", fontsize=7, markerscale=4)
    ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    write_with(path, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)
