"""AVAE-S §III: VAE, AVAE, VAE-S and AVAE-S share one architecture (Table I: latent 32, base width 24).
The four models of ``bench/sweeps/avaes_table3.yaml`` are built exactly as the sweep builds them
(``paper`` protocol, presets, the sweep's own ``set`` values) and their encoders and decoders must have
the same parameter shapes, those of Table I."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from bench import sweep as sweepmod
from bench.data.base import DataSpec
from bench.run import resolve
from models.blocks_avaes import TableIDecoder, TableIEncoder
from models.vae import VAE

CELEBA96 = DataSpec("celeba96", "image", (3, 96, 96))


def _shapes(net: torch.nn.Module) -> list[tuple[int, ...]]:
    return [tuple(p.shape) for p in net.parameters()]


def test_the_four_models_share_table_i_networks() -> None:
    sweep = sweepmod.load(sweepmod.SWEEPS_DIR / "avaes_table3.yaml")
    assert sweep.protocols == ["paper"] and set(sweep.models) == {"vae", "avae-ft", "vae-s", "avae-s"}
    table_i_enc = _shapes(TableIEncoder(3, 96, 24, 2 * 32))
    table_i_dec = _shapes(TableIDecoder(32, 3, 96, 24))
    for model in sweep.models:
        cell = next(c for c in sweep.cells() if c.model == model)
        cls, cfg = resolve(sweep.run_spec(cell), SimpleNamespace(spec=CELEBA96))
        torch.manual_seed(0)
        net = cls(cfg, CELEBA96)
        assert (_shapes(net.enc), _shapes(net.dec)) == (table_i_enc, table_i_dec), model


def test_vae_table_i_with_learned_sigma_keeps_the_x_independent_head() -> None:
    """``arch=avaes`` with ``sigma_z=learned``: Table I's encoder with a dim(z) head (μ only) and one
    log σ per latent dim, initialised at σ = 1, so log σ² = 0 for every input."""
    torch.manual_seed(0)
    net = VAE(VAE.Config(arch="avaes", width=24, latent_dim=32, sigma_z="learned"), CELEBA96)
    assert _shapes(net.enc) == _shapes(TableIEncoder(3, 96, 24, 32))
    mu, logvar = net.posterior(torch.randn(2, 3, 96, 96))
    assert mu.shape == logvar.shape == (2, 32) and torch.equal(logvar, torch.zeros(2, 32))
