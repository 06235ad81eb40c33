"""``recon_class_acc`` against references computed here, not through the metric's code path: perfect
reconstructions score the classifier's accuracy on the original images (its forward pass and the split's
labels, read directly), reconstructions swapped for images of another class score near zero, and a mix
scores exactly the share the classifier gets right image by image."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import Tensor

from bench.data import load
from bench.data.base import Dataset, to_model_range, to_uint8
from metrics.base import EvalContext, evaluate
from metrics.domain import DomainClassifier, load_or_train

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny nets (tests/conftest.py)


@pytest.fixture(scope="module")
def digits16(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dataset, DomainClassifier]]:
    mp = pytest.MonkeyPatch()
    mp.setenv("BENCH_CACHE_DIR", str(tmp_path_factory.mktemp("bench_cache")))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    ds = load("digits@16")
    model, _ = load_or_train(ds)
    torch.set_num_threads(threads)
    yield ds, model
    mp.undo()


def predicted(model: DomainClassifier, images_uint8: Tensor) -> Tensor:
    with torch.no_grad():
        return model(to_model_range(images_uint8)).argmax(1)


def other_class_images(ds: Dataset, labels: Tensor) -> Tensor:
    """For each label y, a training image of class (y + 1) mod 10 (model range)."""
    train = ds.train
    first = {int(c): int(torch.nonzero(train.labels == c)[0]) for c in range(10)}  # type: ignore[operator]
    idx = torch.tensor([first[(int(y) + 1) % 10] for y in labels])
    return to_model_range(train.data[idx])


def test_perfect_reconstructions_score_the_classifier_accuracy(digits16: tuple[Dataset, DomainClassifier]) -> None:
    ds, model = digits16
    test = ds.test
    direct = (predicted(model, test.data) == test.labels).float().mean().item()
    out = evaluate(EvalContext(ds, recon_fn=lambda x: x), ["recon_class_acc"])
    assert out["recon_class_acc.n"] == len(test) == 300
    assert out["recon_class_acc"] == pytest.approx(direct, abs=1e-6)
    assert direct > 0.9  # a meaningful classifier (else the next tests prove nothing)


def test_labels_follow_an_earlier_larger_draw(digits16: tuple[Dataset, DomainClassifier]) -> None:
    """Another metric drew 250 reconstructions first; this one reads the first 100 of them."""
    ds, model = digits16
    ctx = EvalContext(ds, recon_fn=lambda x: x, n_override=100)
    ctx.reconstructions(250)
    g = torch.Generator().manual_seed(0)  # Split.subset's draw, rebuilt here: 250 of 300, sorted, first 100
    idx = torch.randperm(len(ds.test), generator=g)[:250].sort().values[:100]
    direct = (predicted(model, ds.test.data[idx]) == ds.test.labels[idx]).float().mean().item()  # type: ignore[index]
    out = evaluate(ctx, ["recon_class_acc"])
    assert out["recon_class_acc.n"] == 100 and out["recon_class_acc"] == pytest.approx(direct, abs=1e-6)


def test_wrong_class_reconstructions_score_near_zero_and_a_mix_scores_its_share(
        digits16: tuple[Dataset, DomainClassifier]) -> None:
    ds, model = digits16
    test = ds.test
    swapped = other_class_images(ds, test.labels)  # type: ignore[arg-type]

    def wrong(x: Tensor) -> Tensor:  # batches arrive in order (batch_size 250): map by position
        start = wrong.seen  # type: ignore[attr-defined]
        wrong.seen += len(x)  # type: ignore[attr-defined]
        return swapped[start:start + len(x)]

    wrong.seen = 0  # type: ignore[attr-defined]
    out = evaluate(EvalContext(ds, recon_fn=wrong), ["recon_class_acc"])
    assert out["recon_class_acc"] < 0.1

    keep = torch.arange(len(test)) % 3 == 0  # every third image reconstructed perfectly, the rest swapped
    mixed = torch.where(keep[:, None, None, None], to_model_range(test.data), swapped)
    expected = (predicted(model, to_uint8(mixed)) == test.labels).double().mean().item()
    kept_right = (predicted(model, test.data)[keep] == test.labels[keep]).double().sum().item() / len(test)  # type: ignore[index]
    wrong.seen = 0  # type: ignore[attr-defined]
    swapped = mixed
    out = evaluate(EvalContext(ds, recon_fn=wrong), ["recon_class_acc"])
    assert out["recon_class_acc"] == pytest.approx(expected, abs=1e-6)
    assert kept_right <= expected < kept_right + 0.05 and 0.3 < kept_right <= 1 / 3 + 1e-9


def test_needs_labels_and_reconstructions(digits16: tuple[Dataset, DomainClassifier]) -> None:
    ds, _ = digits16
    assert "recon_class_acc" not in evaluate(EvalContext(ds, sample_fn=lambda n: torch.zeros(n, 1, 16, 16)),
                                             ["recon_class_acc"])


# ---- fd_domain_recon ----------------------------------------------------------------------------------
def frechet_scipy(a: Tensor, b: Tensor) -> float:
    """Heusel et al. 2017 eq. 6 with scipy's matrix square root (not metrics.frechet)."""
    import numpy as np
    import scipy.linalg

    x, y = a.double().numpy(), b.double().numpy()
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_fd_domain_recon_is_zero_for_perfect_reconstructions(digits16: tuple[Dataset, DomainClassifier]) -> None:
    ds, _ = digits16
    out = evaluate(EvalContext(ds, recon_fn=lambda x: x), ["fd_domain_recon"])
    assert out["fd_domain_recon.n"] == 300 and out["fd_domain_recon.split"] == "test"
    assert abs(out["fd_domain_recon"]) < 1e-6


def test_fd_domain_recon_matches_scipy_on_the_classifier_features(digits16: tuple[Dataset, DomainClassifier]) -> None:
    """Mirror-image 'reconstructions': the distance between the features of the 300 test digits and of their
    mirror images, computed here from the classifier's features and scipy (order-invariant, so the metric's
    own subset order does not matter)."""
    ds, model = digits16
    flip = lambda x: torch.flip(x, dims=[3])  # noqa: E731
    out = evaluate(EvalContext(ds, recon_fn=flip), ["fd_domain_recon"])
    with torch.no_grad():
        x = to_model_range(ds.test.data)
        ref = frechet_scipy(model.features(x), model.features(to_model_range(to_uint8(flip(x)))))
    assert ref > 1.0  # mirrored digits are far from digits (else the comparison proves little)
    assert out["fd_domain_recon"] == pytest.approx(ref, rel=1e-4)
