"""No optimiser setting is silently ignored (issue 19): every registered model, built under ``fair``,
creates optimisers whose learning rate and betas are the config's ``lr``, ``beta1`` and ``beta2`` (set
here to values no model uses, as ``--set`` would), and every model-specific ``lr_*`` field that
replaces ``lr`` for one network reaches an optimiser when it is set."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from bench import config as cfgmod
from bench.data.base import DataSpec
from bench.errors import ConfigError
from bench.registries import models as model_registry

IMAGE = DataSpec("tiny", "image", (3, 32, 32))
POINTS = DataSpec("toy", "points", (2,))
ODD = {"lr": 3.3e-4, "beta1": 0.31, "beta2": 0.97}  # no model's default


def _optimisers(name: str, spec: DataSpec, values: dict[str, object]) -> dict[str, torch.optim.Optimizer]:
    cls = model_registry().get(name)
    cfg = cfgmod.override(cls.Config(), {"width": 8, "latent_dim": 8, "mlp_hidden": 16, **values})
    assert cfg.protocol == "fair"
    torch.manual_seed(0)
    return cls(cfg, spec).configure_optimizers()


def _settings(opts: dict[str, torch.optim.Optimizer]) -> dict[str, set[tuple[float, tuple[float, float]]]]:
    return {k: {(g["lr"], tuple(g.get("betas", ()))) for g in o.param_groups} for k, o in opts.items()}


@pytest.mark.parametrize("spec", [IMAGE, POINTS], ids=["image", "points"])
@pytest.mark.parametrize("name", model_registry().names())
def test_optimisers_use_the_config_lr_and_betas(name: str, spec: DataSpec) -> None:
    settings = _settings(_optimisers(name, spec, ODD))
    assert settings, f"{name} creates no optimiser"
    wrong = {k: v for k, v in settings.items() if v != {(ODD["lr"], (ODD["beta1"], ODD["beta2"]))}}
    assert not wrong, f"{name}: optimisers ignore --set lr/beta1/beta2: {wrong}"


@pytest.mark.parametrize("name", model_registry().names())
def test_own_learning_rate_fields_reach_an_optimiser(name: str) -> None:
    """A field ``lr_<net>`` (e.g. α-GAN's ``lr_disc``) must change exactly the optimisers it names, or be
    refused with a one-line error where the model has no such network (``alpha-gan-ekl``'s ``lr_code``)."""
    fields = [f.name for f in dataclasses.fields(model_registry().get(name).Config) if f.name.startswith("lr_")]
    for field in fields:
        try:
            opts = _optimisers(name, IMAGE, {**ODD, field: 7.7e-4})
        except ConfigError as err:
            assert field in str(err) and "\n" not in str(err)
            continue
        settings = _settings(opts)
        changed = {k for k, v in settings.items() if {lr for lr, _ in v} == {7.7e-4}}
        assert changed, f"{name}: --set {field}= reaches no optimiser"
        assert all({lr for lr, _ in settings[k]} == {ODD["lr"]} for k in set(settings) - changed)
