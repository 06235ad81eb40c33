"""critic_w (α-GAN §4): gradient penalty closed form, ≈ 0 on one distribution, monotone in a shift.
Domain classifier (α-GAN App. H.5): ≥ 95 % on digits (held-out and test), cached on disk, IS against scipy and torch-fidelity,
fd_domain ranks real test data closer to train than noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import entropy

from bench.data import load
from bench.data.base import Dataset, DataSpec, Split
from metrics.base import EvalContext, evaluate
from metrics.critic import CRITIC_STEPS_OPTION, drop_seen, gradient_penalty, negative_wasserstein
from metrics.domain import load_or_train
from metrics.inception import inception_score

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny nets (tests/conftest.py)


def test_gradient_penalty_of_a_linear_critic_is_closed_form() -> None:
    critic = torch.nn.Linear(5, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 0.0, 4.0, 0.0, 0.0]]))  # ‖∇C‖ = 5 everywhere
    real, fake = torch.randn(16, 5), torch.randn(16, 5)
    gp = gradient_penalty(critic, real, fake, torch.Generator().manual_seed(0))
    assert gp.item() == pytest.approx((5.0 - 1.0) ** 2)


def test_test_images_seen_in_critic_training_are_dropped() -> None:
    x = torch.arange(6 * 4, dtype=torch.uint8).view(6, 1, 2, 2)
    kept = drop_seen(x, torch.cat([x[4:5], x[1:2], x[1:2] + 100]))
    assert torch.equal(kept, x[[0, 2, 3, 5]])


def _digits16() -> tuple[DataSpec, torch.Tensor, torch.Tensor, torch.Tensor]:
    """digits at 16 px (a quarter of the critic's cost): spec, train, val, test (uint8)."""
    ds = load("digits")

    def small(x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x.float(), 2).round().to(torch.uint8)

    return (DataSpec("digits16", "image", (1, 16, 16), 10), small(ds.train.uint8()), small(ds.split("val").uint8()),
            small(ds.test.uint8()))


def test_critic_w_near_zero_for_one_distribution_and_decreasing_with_shift() -> None:
    spec, train, val, test = _digits16()
    pool = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(1))]
    fake_a, fake_b = pool[:400], pool[400:800]  # "samples" = other real images: the same distribution

    def shifted(x: torch.Tensor, d: int) -> torch.Tensor:
        return (x.float() + d).clamp(0, 255).to(torch.uint8)

    values = [negative_wasserstein(spec, val, shifted(fake_a, d), test, shifted(fake_b, d), steps=60, width=8,
                                   batch=32, seed=0) for d in (0, 30, 60, 120)]
    assert abs(values[0]) < 0.1, values  # −W ≈ 0 when samples and data share one distribution
    assert values[1] < -0.25, values
    assert values[0] > values[1] > values[2] > values[3], values  # strictly worse as the shift grows


def test_critic_w_metric_records_its_settings_and_uses_new_samples() -> None:
    ds = load("ring8")  # 2-D points: the shared MLP critic, cheap
    values = {}
    for shift in (0.0, 3.0):
        ctx = EvalContext(ds, sample_images=ds.train.data[:400] + shift, n_override=200, seed=0)
        ctx.cache[CRITIC_STEPS_OPTION] = 60
        out = evaluate(ctx, ["critic_w"])
        assert out["critic_w.steps"] == 60 and out["critic_w.n"] == 200  # 400 samples: 200 train + 200 new
        assert out["critic_w.n_val"] == 200 and out["critic_w.n_test"] == 200
        values[shift] = out["critic_w"]
    assert values[3.0] < -1.0 < values[0.0] - 1.0  # a shift of 3 per coordinate is far from the data


@pytest.fixture(scope="module")
def digits_classifier(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, dict]:
    cache = tmp_path_factory.mktemp("bench_cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("BENCH_CACHE_DIR", str(cache))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # module scope: set up before the per-test one-thread fixture
    model, info = load_or_train(load("digits"))
    torch.set_num_threads(threads)
    yield cache, model, info
    mp.undo()


def test_domain_classifier_accuracy_and_cache(digits_classifier: tuple[Path, object, dict]) -> None:
    cache, model, info = digits_classifier
    assert info["trained_now"] and info["heldout_accuracy"] >= 0.95
    files = list((cache / "domain").glob("digits-*.pt"))
    assert [str(f) for f in files] == [info["path"]]
    again, info2 = load_or_train(load("digits"))  # from disk this time, same weights
    assert not info2["trained_now"] and info2["heldout_accuracy"] == info["heldout_accuracy"]
    x = load("digits").test.batch(slice(0, 50))
    with torch.no_grad():
        torch.testing.assert_close(again(x), model(x))  # type: ignore[operator]
        acc = (model(load("digits").test.batch(slice(None))).argmax(1) == load("digits").test.labels).float().mean()  # type: ignore[operator]
    assert acc.item() >= 0.95  # on the test split, which it never saw (its held-out images are part of train)


def test_inception_score_matches_scipy_and_closed_form() -> None:
    """The one IS function (``is`` and ``is_domain``): scipy's KL after torch-fidelity's seeded shuffle
    (RandomState(2020)) and its i·N/splits chunks; IS = number of classes for confident, balanced logits."""
    logits = torch.randn(300, 10, generator=torch.Generator().manual_seed(0)).double() * 3
    mean, std = inception_score(logits, splits=3)
    probs = torch.softmax(logits, 1).numpy()[np.random.RandomState(2020).permutation(300)]
    ref = [np.exp(np.mean([entropy(p, part.mean(0)) for p in part])) for part in np.split(probs, 3)]
    assert mean == pytest.approx(np.mean(ref), rel=1e-9) and std == pytest.approx(np.std(ref), rel=1e-7)
    one_hot = torch.eye(10).double()[torch.arange(100) % 10] * 1e3  # confident and balanced: IS = number of classes
    assert inception_score(one_hot, splits=1)[0] == pytest.approx(10.0, rel=1e-9)


def test_is_domain_is_torch_fidelity_isc_on_the_classifier_logits(digits_classifier: tuple[Path, object, dict]) -> None:
    """Issue 16: ``is_domain`` used its own IS (no shuffle, an ε in the logs); now it is the function of ``is``."""
    from torch_fidelity.metric_isc import isc_features_to_metric

    from metrics.domain import _apply

    _, model, _ = digits_classifier
    ds = load("digits")
    x = ds.test.uint8()
    out = evaluate(EvalContext(ds, sample_images=x), ["is_domain"])
    ref = isc_features_to_metric(_apply(model, x, "forward"), splits=10)  # torch-fidelity's defaults
    assert out["is_domain"] == pytest.approx(ref["inception_score_mean"], rel=1e-12)
    assert out["is_domain_std"] == pytest.approx(ref["inception_score_std"], rel=1e-12)


def test_fd_domain_ranks_real_test_closer_than_noise(digits_classifier: tuple[Path, object, dict]) -> None:
    ds = load("digits")
    noise = torch.randint(0, 256, (300, 1, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    real = evaluate(EvalContext(ds, sample_images=ds.test.uint8()), ["fd_domain", "is_domain"])
    fake = evaluate(EvalContext(ds, sample_images=noise), ["fd_domain", "is_domain"])
    assert real["fd_domain.n"] == 300 and real["fd_domain.n_real"] == len(ds.train)
    assert 0 <= real["fd_domain"] < fake["fd_domain"] / 10
    assert real["is_domain.classifier_heldout_acc"] >= 0.95
    assert real["is_domain"] > 5.0 > fake["is_domain"]  # real digits: confident and spread over 10 classes


def test_domain_metrics_need_labels() -> None:
    data = torch.randint(0, 256, (20, 1, 32, 32), dtype=torch.uint8)
    ds = Dataset(DataSpec("unlabelled", "image", (1, 32, 32)), {"train": Split(data), "test": Split(data)})
    assert evaluate(EvalContext(ds, sample_images=data), ["is_domain", "fd_domain"]) == {}
