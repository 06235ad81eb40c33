"""Dataset registry: one line per dataset (name, loader ``module:function``, description).

Every loader takes ``data_root`` and returns a :class:`bench.data.base.Dataset`.
"""

from __future__ import annotations

from functools import lru_cache

from bench.data.base import Dataset, DataSpec, Split, to_model_range, to_uint8
from bench.registry import Registry

DATASETS = Registry("dataset")
# offline built-ins (no download)
DATASETS.register("ring8", "bench.data.toys:ring8", "8 Gaussians on a circle, 2-D (offline)")
DATASETS.register("grid25", "bench.data.toys:grid25", "25 Gaussians on a 5x5 grid, 2-D (offline)")
DATASETS.register("avae-toy", "bench.data.toys:avae_toy", "AVAE §V-A toy: 2-D points from two factors (offline)")
DATASETS.register("digits", "bench.data.offline_images:digits", "scikit-learn 8x8 digits up-sampled to 32 px, 1 ch (offline)")
DATASETS.register("shapes", "bench.data.offline_images:shapes", "procedural coloured shapes, 32 px, 12 modes (offline)")
# real data through torchvision, from --data-root
DATASETS.register("cifar10", "bench.data.real:cifar10", "CIFAR-10, 32 px (torchvision, --data-root)")
DATASETS.register("cifar100", "bench.data.real:cifar100", "CIFAR-100, 32 px (torchvision, --data-root)")
DATASETS.register("svhn", "bench.data.real:svhn", "SVHN, 32 px (torchvision, --data-root)")
DATASETS.register("mnist", "bench.data.real:mnist", "MNIST, 28 px, 1 ch (torchvision, --data-root)")
DATASETS.register("colormnist", "bench.data.real:colormnist", "stacked ColorMNIST, 32 px, 1000 modes (from MNIST)")
DATASETS.register("celeba", "bench.data.real:celeba", "CelebA, 70% centre crop, 64 px (torchvision, --data-root)")
DATASETS.register("celeba96", "bench.data.real:celeba96", "CelebA, 70% centre crop, 96 px (AVAE-S)")
DATASETS.register("lsun-bedroom", "bench.data.real:lsun_bedroom", "LSUN bedroom, 64 px (torchvision LSUN, --data-root)")
DATASETS.register("ffhq", "bench.data.real:ffhq", "FFHQ as an image folder DATA_ROOT/ffhq, 64 px")
DATASETS.register("folder", "bench.data.real:folder", "any folder of images at --data-root, 64 px")


@lru_cache(maxsize=8)
def load(name: str, data_root: str | None = None) -> Dataset:
    """Load dataset ``name`` (cached per process)."""
    return DATASETS.get(name)(data_root)


__all__ = ["DATASETS", "DataSpec", "Dataset", "Split", "load", "to_model_range", "to_uint8"]
