"""BiGAN (Donahue et al. 2017, "Adversarial Feature Learning"; ALI, Dumoulin et al. 2017).

Encoder E: x → z (deterministic, the shared encoder block), generator G: z → x (the shared
generator block) and a joint discriminator D(x, z) built as in AVAE's Fig. 5 caption: a
two-hidden-layer MLP on z, the critic-style CNN trunk on x (LayerNorm by default, ``disc_norm``; an
MLP trunk for 2-D data), concatenated, then a two-hidden-layer MLP to one logit.

Objective (Donahue et al.'s BiGAN minimax): min_{G,E} max_D V = E_x[log D(x, E(x))] + E_z[log(1 − D(G(z), z))].
D maximises V (BCE: (x, E(x)) real, (G(z), z) fake); G and E are trained with the inverted labels
(non-saturating form, as in Donahue et al.'s and ALI's implementations): −log(1 − D(x, E(x))) −
log D(G(z), z). One forward pass, then one G/E update and one D update (simultaneous, both from
the same parameters). Reconstruction = G(E(x)).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from bench.data.base import DataSpec
from bench.errors import ConfigError
from models import blocks
from models.base import ENCODE, RECONSTRUCT, SAMPLE, Model, ModelConfig, RealBatches, bce_logits


@dataclass
class BiGANConfig(ModelConfig):
    # Hidden units of the discriminator's z-MLP and joint MLP (AVAE Fig. 5 gives no number).
    joint_hidden: int = 512
    # Normalisation in D's critic-style trunk on x. AVAE Fig. 5 says only "critic-style" (its critic
    # has BatchNorm); ALI's released discriminators (experiments/ali_cifar10.py) have none, only maxout
    # and dropout. With BatchNorm the joint D never learns to pair x with z on `digits`: E(G(z)) stays
    # uncorrelated with z and G(E(x)) has the class of x at chance, while the same runs with LayerNorm
    # invert (README, "BiGAN's discriminator"). "bn" runs the literal critic.
    disc_norm: blocks.Norm = "ln"

    def validate(self) -> None:
        super().validate()
        if self.joint_hidden <= 0:
            raise ConfigError(f"bad value for joint_hidden: {self.joint_hidden} (must be > 0)")


class JointDiscriminator(nn.Module):
    """D(x, z) of AVAE Fig. 5's caption: x → critic trunk, z → two-hidden-layer MLP, concatenate,
    two-hidden-layer MLP → one logit."""

    def __init__(self, spec: DataSpec, latent_dim: int, width: int, hidden: int, mlp_hidden: int,
                 norm: blocks.Norm) -> None:
        super().__init__()
        self.x_net = blocks.critic(spec, width, 1, norm, mlp_hidden)
        self.x_net.head = nn.Identity()  # keep only the trunk: features of x
        self.z_net = blocks.MLP(latent_dim, 1, hidden, layers=2, act="lrelu")
        self.z_net.head = nn.Identity()
        self.joint = blocks.MLP(self.x_net.feature_dim + self.z_net.feature_dim, 1, hidden, layers=2, act="lrelu")

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        return self.joint(torch.cat([self.x_net(x), self.z_net(z)], dim=1))


def discriminator_loss(d_enc: Tensor, d_gen: Tensor) -> Tensor:
    """−V of Donahue et al.'s minimax objective as BCE on logits: (x, E(x)) labelled real, (G(z), z) fake."""
    return bce_logits(d_enc, 1.0) + bce_logits(d_gen, 0.0)


def generator_encoder_loss(d_enc: Tensor, d_gen: Tensor) -> Tensor:
    """G and E's loss: Donahue et al.'s objective V with inverted labels (non-saturating):
    −log(1 − D(x, E(x))) − log D(G(z), z)."""
    return bce_logits(d_enc, 0.0) + bce_logits(d_gen, 1.0)


class BiGAN(Model):
    """E, G and the joint discriminator D(x, z); E and G share one optimiser (one player)."""

    Config = BiGANConfig
    paper = "Donahue et al. 2017 (BiGAN) / Dumoulin et al. 2017 (ALI); joint D as in AVAE Fig. 5"
    capabilities = frozenset({SAMPLE, RECONSTRUCT, ENCODE})

    def __init__(self, cfg: BiGANConfig, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.enc = blocks.encoder(spec, cfg.width, cfg.latent_dim, cfg.mlp_hidden)
        self.gen = blocks.generator(spec, cfg.latent_dim, cfg.width, cfg.mlp_hidden)
        hidden = cfg.mlp_hidden if spec.kind == "points" else cfg.joint_hidden
        self.disc = JointDiscriminator(spec, cfg.latent_dim, cfg.width, hidden, cfg.mlp_hidden, cfg.disc_norm)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"ge": self.adam(list(self.gen.parameters()) + list(self.enc.parameters())),
                "disc": self.adam(self.disc.parameters())}

    def losses(self, x: Tensor, z: Tensor | None = None) -> dict[str, Tensor]:
        """Both players' losses on batch ``x`` and prior draws ``z`` (drawn when omitted)."""
        z = self.prior(len(x)) if z is None else z
        d_enc = self.disc(x, self.encode(x))
        d_gen = self.disc(self.decode(z), z)
        return {"d_loss": discriminator_loss(d_enc, d_gen), "ge_loss": generator_encoder_loss(d_enc, d_gen)}

    def train_step(self, real: RealBatches, step: int) -> dict[str, Tensor]:
        out = self.losses(real())
        # G/E first: its backward goes through D, which is stepped only afterwards.
        self.update("ge", out["ge_loss"], retain_graph=True)
        self.update("disc", out["d_loss"])
        return {k: v.detach() for k, v in out.items()}

    def decode(self, z: Tensor) -> Tensor:
        return self.gen(z).view(-1, *self.spec.shape)

    def sample(self, n: int) -> Tensor:
        return self.decode(self.prior(n))

    def encode(self, x: Tensor) -> Tensor:
        return self.enc(x)

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))
