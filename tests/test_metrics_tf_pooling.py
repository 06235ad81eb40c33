"""FID16's Inception averages its 3 × 3 pools like TensorFlow's 'SAME' pooling (padding excluded from the
count), not like torchvision (zero padding counted, ``count_include_pad=True``). The reference here is a
direct computation: the sum of the valid pixels of each 3 × 3 window divided by how many there are, written
with shifted slices (no ``avg_pool2d``). Before issue 16 the extractor ran torchvision's pooling: the
patched-vs-direct assertions fail on that code (the border outputs differ by the 9/6 and 9/4 factors)."""

from __future__ import annotations

import copy
from unittest import mock

import pytest
import torch
import torch.nn.functional as F
import torchvision

from metrics.extractors import INCEPTION_AVG_POOL_BLOCKS, tf_same_average_pools

pytestmark = pytest.mark.usefixtures("one_thread")


def tf_same_avg_pool_3x3(x: torch.Tensor) -> torch.Tensor:
    """TF ``avg_pool(ksize 3, strides 1, padding='SAME')``: mean over the in-image pixels of each window."""
    h, w = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1))
    valid = F.pad(torch.ones(1, 1, h, w, dtype=x.dtype), (1, 1, 1, 1))
    total = sum(padded[..., i:i + h, j:j + w] for i in range(3) for j in range(3))
    count = sum(valid[..., i:i + h, j:j + w] for i in range(3) for j in range(3))
    return total / count


def direct_pool(x: torch.Tensor, kernel_size: int, stride: int, padding: int, **kwargs: object) -> torch.Tensor:
    assert (kernel_size, stride, padding) == (3, 1, 1) and not kwargs  # torchvision's only avg_pool2d call form
    return tf_same_avg_pool_3x3(x)


def test_direct_tf_same_pool_by_hand() -> None:
    x = torch.arange(9.0).view(1, 1, 3, 3)
    got = tf_same_avg_pool_3x3(x)[0, 0]
    assert got[0, 0].item() == pytest.approx((0 + 1 + 3 + 4) / 4)  # corner: 4 valid pixels
    assert got[0, 1].item() == pytest.approx((0 + 1 + 2 + 3 + 4 + 5) / 6)  # edge: 6
    assert got[1, 1].item() == pytest.approx(36 / 9)  # centre: 9
    assert F.avg_pool2d(x, 3, 1, 1)[0, 0, 0, 0].item() == pytest.approx(8 / 9)  # torchvision's: zeros counted


@pytest.fixture(scope="module")
def inception() -> torchvision.models.Inception3:
    torch.manual_seed(0)
    return torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=True).eval()


@pytest.mark.parametrize(("block", "channels", "size"), [("Mixed_5b", 192, 6), ("Mixed_6c", 768, 5), ("Mixed_7b", 1280, 4)])
def test_patched_blocks_equal_tf_same_pooling(inception: torchvision.models.Inception3, block: str, channels: int,
                                              size: int) -> None:
    x = torch.randn(2, channels, size, size, generator=torch.Generator().manual_seed(1))
    module = getattr(inception, block)
    with torch.no_grad():
        plain = module(x)  # torchvision: count_include_pad=True
        with mock.patch("torchvision.models.inception.F.avg_pool2d", direct_pool):
            direct = module(x)
    assert (plain - direct).abs().max() > 1e-3  # the two poolings differ at the border
    patched = tf_same_average_pools(copy.deepcopy(inception))
    with torch.no_grad():
        ours = getattr(patched, block)(x)
    torch.testing.assert_close(ours, direct, rtol=1e-5, atol=1e-5)
    assert set(patched.state_dict()) == set(inception.state_dict())  # parameters and names unchanged
    assert INCEPTION_AVG_POOL_BLOCKS == ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6b", "Mixed_6c", "Mixed_6d",
                                         "Mixed_6e", "Mixed_7b", "Mixed_7c")


def test_every_average_pool_of_torchvision_inception_is_in_a_patched_block(inception: torchvision.models.Inception3) -> None:
    """Counted by running the net: each avg_pool2d call must come from one of the nine patched blocks."""
    calls: list[str] = []
    current: list[str] = []
    hooks = [getattr(inception, n).register_forward_pre_hook(lambda m, a, n=n: current.append(n))
             for n in INCEPTION_AVG_POOL_BLOCKS]

    def spy(x: torch.Tensor, *args: object, **kwargs: object) -> torch.Tensor:
        calls.append(current[-1] if current else "outside")
        return F.max_pool2d(x, 3, 1, 1)  # any same-shape op: only the call sites matter

    with torch.no_grad(), mock.patch("torchvision.models.inception.F.avg_pool2d", spy):
        inception(torch.zeros(1, 3, 75, 75))
    for h in hooks:
        h.remove()
    assert calls == list(INCEPTION_AVG_POOL_BLOCKS)
