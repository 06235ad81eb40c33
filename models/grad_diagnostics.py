"""Per-term gradient norms on the decoder's output x̃ (issue #26, Fidelity IV §2).

A hybrid's decoder is driven by several terms (pixel reconstruction, a feature reconstruction in a critic's
layer, an adversarial term). Which one drives it is read from the gradient each term sends into x̃ = Dec(z):
for a term L = (1/B) Σ_i ℓ_i (a batch mean), B·∂L/∂x̃_i is the gradient of example i's own term, and the
diagnostic is its Euclidean norm averaged over the examples, ``mean_i ‖B ∂L/∂x̃_i‖₂``. Terms are passed
already weighted as they enter the decoder's loss (λ·L^dis, ω·L_GAN, γ·L_pixel…), so the numbers compare
directly.

The diagnostics run on a fixed probe batch at each log step; :func:`preserving_state` restores every buffer
(BatchNorm running statistics) and the RNG state, so computing them never changes training.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

GRAD_PROBE_SIZE = 64  # examples of the probe batch the gradient diagnostics use (issue #26: 64 images)


@contextmanager
def preserving_state(model: nn.Module, train_mode: bool = True) -> Iterator[None]:
    """Run a block in ``train_mode`` (BatchNorm on batch statistics, as in training) with gradients enabled,
    then restore the model's mode, every buffer (BatchNorm running mean/var, counters) and the RNG state."""
    was_training = model.training
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    rng = torch.get_rng_state()
    model.train(train_mode)
    try:
        with torch.enable_grad():
            yield
    finally:
        model.train(was_training)
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])
        torch.set_rng_state(rng)
        for p in model.parameters():
            p.grad = None


def term_grad_norms(x_tilde: Tensor, terms: dict[str, Tensor]) -> dict[str, float]:
    """``{"grad_<name>": mean_i ‖B ∂term/∂x̃_i‖₂}`` for each (weighted, batch-mean) term; ``x_tilde`` must be
    a leaf that requires grad and that every term was computed from. A term that does not depend on x̃ gives 0."""
    n = len(x_tilde)
    out: dict[str, float] = {}
    for name, term in terms.items():
        (g,) = torch.autograd.grad(term, x_tilde, retain_graph=True, allow_unused=True)
        out[f"grad_{name}"] = 0.0 if g is None else float((n * g).flatten(1).norm(dim=1).mean())
    return out


def decoder_grad_shares(norms: dict[str, float]) -> dict[str, float]:
    """Each term's share of the summed per-term gradient norms, ``{"share_<name>": …}`` (a scale-free reading of
    which term drives the decoder; the norms of a sum are not additive, so this is a share of magnitudes)."""
    total = sum(norms.values())
    return {k.replace("grad_", "share_", 1): (v / total if total > 0 else 0.0) for k, v in norms.items()}


def probe_terms(model: nn.Module, probe: Tensor, terms_fn: Callable[[Tensor], tuple[Tensor, dict[str, Tensor]]]
                ) -> dict[str, float]:
    """Gradient norms on x̃ of the terms ``terms_fn(x)`` returns (``(x̃ leaf, {name: weighted term})``) on the
    first :data:`GRAD_PROBE_SIZE` examples of ``probe``, in training mode with state preserved."""
    x = probe[:GRAD_PROBE_SIZE]
    with preserving_state(model):
        x_tilde, terms = terms_fn(x)
        return term_grad_norms(x_tilde, terms)
