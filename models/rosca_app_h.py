"""α-GAN's training protocol (Rosca et al. 2017, paper 004, App. H), shared by the models it ran.

App. H: "We used the Adam optimizer with β1 = 0.5 and β2 = 0.9 and a batch size of 64 for all our
experiments … We trained all ColorMNIST models for 100000 iterations, and CelebA and CIFAR-10 models
for 200000 iterations", with fixed learning rates swept per model (Table 2). These values feed the
``paper`` presets of ``alpha-gan``, ``alpha-gan-ekl``, ``age`` and ``wgan-gp`` (as run in α-GAN).
"""

from __future__ import annotations

from typing import Any

from bench.data.base import DataSpec

ADAM_BETAS = (0.5, 0.9)  # App. H, every model
BATCH_SIZE = 64  # App. H, every model
ITERATIONS = {"colormnist": 100_000, "celeba": 200_000, "cifar10": 200_000}  # App. H
# Table 2: learning-rate sweeps (generator/encoder; discriminator; code discriminator).
LR_SWEEP = {
    "dcgan": (1e-4, 2e-4, 3e-4),
    "wgan-gp": (1e-4, 2e-4, 3e-4),
    "alpha-gan": (1e-4, 5e-4),  # generator and encoder; both discriminators 5e-4
    "age": (1e-4, 2e-4, 5e-4),
}
ALPHA_GAN_DISC_LR = 5e-4  # Table 2: data and code discriminators
ALPHA_GAN_LAMBDA_SWEEP = (1.0, 5.0, 10.0, 50.0)  # App. H.1, encoder's and generator's λ, each


def iterations(spec: DataSpec) -> int:
    """App. H's iteration count for ``spec``'s dataset: 100k for ColorMNIST, 200k for CelebA and
    CIFAR-10; any other dataset gets the 200k of the natural-image datasets."""
    return ITERATIONS.get(spec.name, 200_000)


def preset(spec: DataSpec) -> dict[str, Any]:
    """The settings every model shares under App. H: Adam(0.5, 0.9), batch 64 and, on images, the
    iteration count (App. H ran no 2-D data; there the run length stays the model's default)."""
    out: dict[str, Any] = {"beta1": ADAM_BETAS[0], "beta2": ADAM_BETAS[1], "batch_size": BATCH_SIZE}
    if spec.kind == "image":
        out["steps"] = iterations(spec)
    return out
