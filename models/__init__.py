"""Model registry: one line per model (name, ``module:Class``, description with its paper).

Adding a model = one file in ``models/`` (a :class:`models.base.Model` subclass) + one line here.
"""

from __future__ import annotations

from bench.registry import Registry

MODELS = Registry("model")
# --- baselines (foundation + model zoo I) ---
MODELS.register("vae", "models.vae:VAE", "VAE, β-weighted KL (Kingma & Welling 2014; AVAE eq. 9)")
MODELS.register("dcgan", "models.dcgan:DCGAN", "DCGAN, non-saturating loss (Radford et al. 2016)")
MODELS.register("wgan-gp", "models.wgan_gp:WGANGP", "WGAN-GP, λ = 10, 5 critic steps, Adam(0.5, 0.9) (Gulrajani et al. 2017)")
MODELS.register("vae-gan", "models.vae_gan:VAEGAN", "VAE/GAN, Dis_l feature likelihood + GAN (Larsen et al. 2015)")
MODELS.register("bigan", "models.bigan:BiGAN", "BiGAN/ALI, joint discriminator D(x, z) (Donahue et al. 2017; AVAE Fig. 5)")
# --- hybrids: AVAE, IDVAE, AGE, alpha-GAN (model zoo II) ---
MODELS.register("avae", "models.avae:AVAE", "AVAE without xi, L_Z^b (Plumerault et al. 2020, AVAE §IV-B eq. 16)")
MODELS.register("avae-a", "models.avae:AVAEA", "AVAE without xi, L_Z^a (Plumerault et al. 2020, AVAE §IV-B eq. 12)")
MODELS.register("avae-xi-a", "models.avae:AVAEXiA", "AVAE with xi, L_Z^a (Plumerault et al. 2020, AVAE §IV-B eq. 12)")
MODELS.register("idvae", "models.idvae:IDVAE", "IDVAE, shared encoder/discriminator trunk (Munjal et al. 2019, Alg. 1)")
MODELS.register("idvae-r", "models.idvae:IDVAER", "IDVAE(R), decoder also minimises pixel L_recons (Munjal et al. 2019)")
MODELS.register("age", "models.age:AGE", "AGE, adversarial generator-encoder (Ulyanov et al. 2018; as in alpha-GAN App. D, H)")
MODELS.register("alpha-gan", "models.alpha_gan:AlphaGAN", "alpha-GAN with code discriminator (Rosca et al. 2017, Alg. 1)")
MODELS.register("alpha-gan-ekl", "models.alpha_gan:AlphaGANEKL", "alpha-GAN, empirical KL (eq. 18) (Rosca et al. 2017)")
# --- hybrids: BEGAN*-LSM, VAE-S, AVAE-S (model zoo II) ---
MODELS.register("vae-began", "models.began:VAEBEGAN", "VAE + BEGAN* + LSM, PID-controlled k_t (Khan et al. 2018, paper 001)")
MODELS.register("began-lsm", "models.began:BEGANLSM", "BEGAN* + LSM ablation, no VAE (Khan et al. 2018, paper 001, Table 1)")
MODELS.register("vae-s", "models.vae_s:VAES", "VAE-S: structure-aware loss + KL + TC (Naderi et al., AVAE-S eqs. 5-10)")
MODELS.register("avae-ft", "models.avae_s:AVAEFineTuned", "AVAE: VAE pre-trained, then fine-tuned adversarially (Naderi, Alg. 1)")
MODELS.register("avae-s", "models.avae_s:AVAES", "AVAE-S: VAE-S pre-trained, adversarially fine-tuned (Naderi et al., Alg. 1)")
