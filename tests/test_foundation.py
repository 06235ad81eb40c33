"""Foundation: VAE loss and KL against hand-computed values, config overrides, registries,
the real CIFAR code path on test-written files, CLI errors, reproducibility and resume."""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bench import config as cfgmod
from bench.data import DATASETS
from bench.errors import ConfigError, MissingResourceError, UnknownNameError
from bench.run import RunSpec, execute
from models.base import kl_normal
from models.vae import VAEConfig, vae_loss

ROOT = Path(__file__).resolve().parents[1]


def test_vae_loss_hand_computed_two_element_batch() -> None:
    # x, x̂: 2 examples × 2 dims; μ, log σ²: 2 × 1 latent.
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    x_hat = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    mu = torch.tensor([[1.0], [0.0]])
    logvar = torch.tensor([[0.0], [math.log(4.0)]])
    # rec: ½·(1) = 0.5 and ½·(1 + 1) = 1.0 → mean 0.75
    # KL: ½(1 + 1 − 1 − 0) = 0.5 and ½(4 + 0 − 1 − log 4) = 1.5 − log 2 → mean (2 − log 2)/2
    beta = 3.0
    loss, rec, kl = vae_loss(x, x_hat, mu, logvar, beta)
    assert rec.item() == pytest.approx(0.75)
    assert kl.item() == pytest.approx((2.0 - math.log(2.0)) / 2)
    assert loss.item() == pytest.approx(0.75 + beta * (2.0 - math.log(2.0)) / 2)


def test_kl_matches_closed_form_of_torch_distributions() -> None:
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    ref = torch.distributions.kl_divergence(q, p).sum(1)
    torch.testing.assert_close(kl_normal(mu, logvar), ref, rtol=1e-5, atol=1e-6)


def test_overrides_are_type_checked_and_name_the_key() -> None:
    cfg = cfgmod.override(VAEConfig(), {"beta": "2.5", "width": "16", "protocol": "paper", "sample_mode": "train"})
    assert (cfg.beta, cfg.width, cfg.protocol, cfg.sample_mode) == (2.5, 16, "paper", "train")
    with pytest.raises(ConfigError, match="beta"):
        cfgmod.override(VAEConfig(), {"beta": "abc"})
    with pytest.raises(ConfigError, match="width"):
        cfgmod.override(VAEConfig(), {"width": "1.5"})
    with pytest.raises(ConfigError, match="nosuch"):
        cfgmod.override(VAEConfig(), {"nosuch": "1"})
    with pytest.raises(ConfigError, match="protocol"):
        cfgmod.override(VAEConfig(), {"protocol": "unfair"})
    with pytest.raises(ConfigError, match="lr"):
        cfgmod.override(VAEConfig(), {"lr": "-1"})
    assert cfgmod.parse_assignments(["a=1", "b = x"]) == {"a": "1", "b": "x"}
    with pytest.raises(ConfigError):
        cfgmod.parse_assignments(["novalue"])


def test_registry_unknown_name_lists_known_ones() -> None:
    with pytest.raises(UnknownNameError) as err:
        DATASETS.entry("nosuch")
    assert "digits" in str(err.value) and "grid25" in str(err.value)


def test_dataset_defaults_give_avae_beta() -> None:
    from bench.data.base import DataSpec
    from models.vae import VAE

    assert VAE.dataset_defaults(DataSpec("cifar10", "image", (3, 32, 32)))["beta"] == 10.0
    assert VAE.dataset_defaults(DataSpec("svhn", "image", (3, 32, 32)))["beta"] == 20.0


def _write_cifar10(root: Path, n_train: int = 20, n_test: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """A CIFAR-10 copy in the real ``cifar-10-batches-py`` layout: 5 pickled train batches + test."""
    base = root / "cifar-10-batches-py"
    base.mkdir(parents=True)
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (n_train, 3072), dtype=np.uint8)
    test = rng.integers(0, 256, (n_test, 3072), dtype=np.uint8)
    per = n_train // 5
    for i in range(5):
        with open(base / f"data_batch_{i + 1}", "wb") as fh:
            pickle.dump({"data": train[i * per:(i + 1) * per], "labels": list(range(i * per, (i + 1) * per))}, fh)
    with open(base / "test_batch", "wb") as fh:
        pickle.dump({"data": test, "labels": [3] * n_test}, fh)
    with open(base / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, fh)
    return train, test


def test_cifar_format_directory_loads_through_torchvision(tmp_path: Path) -> None:
    from bench.data.real import cifar10

    train, test = _write_cifar10(tmp_path)
    ds = cifar10(str(tmp_path))
    assert ds.spec.shape == (3, 32, 32) and len(ds.train) == 20 and len(ds.test) == 10
    # CIFAR rows are channel-major 32×32 planes: pixel (c, h, w) = row[c*1024 + h*32 + w].
    assert torch.equal(ds.train.uint8()[3], torch.from_numpy(train[3].reshape(3, 32, 32)))
    assert ds.test.labels.tolist() == [3] * 10
    assert ds.train.batch(slice(0, 2)).min() >= -1 and ds.train.batch(slice(0, 2)).max() <= 1


def test_missing_real_dataset_is_one_line_with_the_fix(tmp_path: Path) -> None:
    from bench.data.real import cifar10

    with pytest.raises(MissingResourceError) as err:
        cifar10(str(tmp_path / "empty"))
    msg = str(err.value)
    assert "\n" not in msg and str(tmp_path / "empty") in msg and "python -m bench data download cifar10" in msg


@pytest.mark.parametrize("argv, needle", [
    (["--model", "nosuch", "--dataset", "digits"], "unknown model 'nosuch'"),
    (["--model", "vae", "--dataset", "nosuch"], "unknown dataset 'nosuch'"),
    (["--model", "vae", "--dataset", "digits", "--set", "beta=abc"], "bad value for beta"),
    (["--model", "vae", "--dataset", "cifar10", "--data-root", "{tmp}/nodata"], "not found in"),
])
def test_cli_bad_input_one_line_exit_2_no_run_dir(tmp_path: Path, argv: list[str], needle: str) -> None:
    out = tmp_path / "run"
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    proc = subprocess.run([sys.executable, "-m", "bench", "train", *argv, "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr
    assert not out.exists() and not (tmp_path / "nodata").exists()


def _spec(**kw) -> RunSpec:
    base = dict(model="vae", dataset="digits", seed=3, steps=40, overrides={"width": "8", "latent_dim": "8"},
                metrics=["mse", "cosine", "sharpness"], n_eval=64, log_every=10, checkpoint_every=20)
    base.update(kw)
    return RunSpec(**base)


def _metrics(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in ("resumed_from",)}


def test_same_seed_same_metrics_and_run_directory(tmp_path: Path) -> None:
    a = execute(_spec(), tmp_path / "a", progress=False)
    b = execute(_spec(), tmp_path / "b", progress=False)
    assert a["status"] == "completed" and a["step"] == 40
    assert _metrics(a) == _metrics(b)
    assert {"mse", "cosine", "sharpness"} <= set(a) and a["mse.n"] == 64
    for name in ("config.json", "metrics.json", "log.jsonl", "checkpoint.pt", "samples.png", "reconstructions.png"):
        assert (tmp_path / "a" / name).exists(), name
    cfg = json.loads((tmp_path / "a" / "config.json").read_text())
    assert cfg["versions"]["torch"].startswith("2.14.1") and cfg["model_config"]["width"] == 8
    c = execute(_spec(seed=4), tmp_path / "c", progress=False)
    assert c["mse"] != a["mse"]


def test_killed_run_resumes_from_checkpoint_with_same_metrics(tmp_path: Path) -> None:
    """SIGKILL a run after a checkpoint, re-run the same command: it resumes and ends identical."""
    import time

    spec = _spec(steps=120, checkpoint_every=15)
    full = execute(spec, tmp_path / "full", progress=False)
    run_dir = tmp_path / "killed"
    # the child uses this process's thread count: a different count changes float reduction order
    code = ("import json, sys, torch; from bench.run import RunSpec, execute; torch.set_num_threads(int(sys.argv[3])); "
            "execute(RunSpec(**json.loads(sys.argv[1])), sys.argv[2], progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code, json.dumps(spec.__dict__), str(run_dir),
                             str(torch.get_num_threads())], cwd=ROOT)
    ckpt, deadline = run_dir / "checkpoint.pt", time.time() + 120
    while not ckpt.exists() and time.time() < deadline:
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    assert not (run_dir / "metrics.json").exists(), "the run finished before it could be killed"
    resumed = execute(spec, run_dir, progress=False)
    assert 0 < resumed["resumed_from"] < 120
    assert _metrics(resumed) == _metrics(full)
    log = [json.loads(ln) for ln in (run_dir / "log.jsonl").read_text().splitlines()]
    assert {"step": resumed["resumed_from"], "event": "resumed"} in log
    steps = [r["step"] for r in log if "event" not in r]
    assert steps == sorted(set(steps)), "log lines after the checkpoint must not be duplicated"
