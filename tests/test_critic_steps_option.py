"""eval.critic_steps (Study II, issue #30): a sweep sets how long critic_w's independent critic trains.

It changes results, so it is part of a run's identity when set; runs without it keep the ids they always had."""
from __future__ import annotations

import json

import pytest

from bench.errors import ConfigError
from bench.run import RunSpec, execute
from bench.sweep import from_dict


def _sweep(**ev: object) -> dict[str, object]:
    return {"name": "t", "models": ["dcgan"], "datasets": ["digits@16"], "seeds": [0], "steps": 2,
            "eval": {"metrics": ["critic_w"], "n": 20, **ev}}


def test_critic_steps_reaches_the_run_spec_and_its_identity() -> None:
    plain, longer = from_dict(_sweep()), from_dict(_sweep(critic_steps=500))
    (cp,), (cl,) = plain.cells(), longer.cells()
    assert longer.run_spec(cl).critic_steps == 500
    assert plain.run_spec(cp).critic_steps is None
    assert longer.run_spec(cl).run_id() != plain.run_spec(cp).run_id()
    # a run without the option hashes the same fields as before the option existed
    assert "critic_steps" not in plain.run_spec(cp).identity()
    assert from_dict(longer.to_dict()).critic_steps == 500
    assert "critic_steps" not in plain.to_dict()["eval"]


def test_a_bad_critic_steps_is_one_line() -> None:
    with pytest.raises(ConfigError, match="critic_steps"):
        from_dict(_sweep(critic_steps=0))


def test_the_trained_critic_takes_that_many_steps(tmp_path) -> None:
    spec = RunSpec(model="dcgan", dataset="digits@16", seed=0, steps=2, metrics=["critic_w"], n_eval=20,
                   overrides={"width": 8, "latent_dim": 4, "batch_size": 8}, critic_steps=3, log_every=1,
                   checkpoint_every=2)
    execute(spec, tmp_path / "run", progress=False)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["critic_w.steps"] == 3  # not the quick default (200)
