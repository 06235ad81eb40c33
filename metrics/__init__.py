"""Metric registry: one line per metric (name, ``module:Class``, description).

Each class declares its needs, direction and sample counts (see :mod:`metrics.base`).
"""

from __future__ import annotations

from bench.registry import Registry

METRICS = Registry("metric")
# --- reconstruction and pixel statistics (foundation) ---
METRICS.register("mse", "metrics.reconstruction:MSE", "MSE held-out image vs reconstruction, [0,1] pixels (AVAE, IDVAE)")
METRICS.register("cosine", "metrics.reconstruction:Cosine", "cosine similarity test image vs reconstruction (AVAE-S)")
METRICS.register("sharpness", "metrics.sharpness:Sharpness", "Laplacian-variance sharpness of samples (AVAE-S §III; WAE)")
METRICS.register("sharpness_recon", "metrics.sharpness:SharpnessRecon", "Laplacian sharpness of held-out recons (AVAE-S)")
# --- Inception family, FRD, DINOv2: one pass per (image set, extractor) (metrics A) ---
METRICS.register("fid", "metrics.fid:FID", "FID15: Inception-v3 pool3, TF 2015 weights, samples vs train (AVAE, IDVAE)")
METRICS.register("fid_clean", "metrics.fid:FIDClean", "clean-fid 'clean' FID (PIL bicubic resize; beyond the papers)")
METRICS.register("fid_tv16", "metrics.fid:FIDTV16", "FID16: Inception-v3 2016 weights, TF 'SAME' avg pools (IDVAE)")
METRICS.register("fid_64", "metrics.fid:FID64", "Fréchet distance at Inception's first max-pool, 64-d (AVAE-S)")
METRICS.register("fid_192", "metrics.fid:FID192", "Fréchet distance at Inception's second max-pool, 192-d (AVAE-S)")
METRICS.register("fid_768", "metrics.fid:FID768", "Fréchet distance at Inception's pre-aux layer, 768-d (AVAE-S)")
METRICS.register("frd", "metrics.fid:FRD", "Fréchet ResNet-50 distance, 2048-d pooled (IDVAE)")
METRICS.register("fd_dinov2", "metrics.fid:FDDinoV2", "Fréchet distance of DINOv2 ViT-L/14 features (beyond the papers)")
# the FID family on held-out reconstructions vs that split's images (AVAE-S Table III); opt-in
METRICS.register("fid_recon", "metrics.fid:FIDRecon", "FID15 of held-out reconstructions vs their split (AVAE-S Table III)")
METRICS.register("fid_64_recon", "metrics.fid:FID64Recon", "Fréchet distance, Inception 64-d, on reconstructions (AVAE-S)")
METRICS.register("fid_192_recon", "metrics.fid:FID192Recon", "Fréchet distance, Inception 192-d, on reconstructions (AVAE-S)")
METRICS.register("fid_768_recon", "metrics.fid:FID768Recon", "Fréchet distance, Inception 768-d, on reconstructions (AVAE-S)")
METRICS.register("fid_tv16_recon", "metrics.fid:FIDTV16Recon", "FID16 of held-out reconstructions vs their split")
METRICS.register("fid_clean_recon", "metrics.fid:FIDCleanRecon", "clean-fid FID of held-out reconstructions vs their split")
METRICS.register("frd_recon", "metrics.fid:FRDRecon", "FRD of held-out reconstructions vs their split")
METRICS.register("is", "metrics.inception:InceptionScore", "Inception Score, 10 splits, with is_std (Khan et al., α-GAN)")
METRICS.register("kid", "metrics.inception:KID", "Kernel Inception Distance, with kid_std (beyond the papers)")
METRICS.register("precision", "metrics.inception:Precision",
                 "improved precision, k=3, Inception pool3 (suite default; torch-fidelity's prc uses VGG-16)")
METRICS.register("recall", "metrics.inception:Recall",
                 "improved recall, k=3, Inception pool3 (suite default; torch-fidelity's prc uses VGG-16)")
METRICS.register("precision_vgg16", "metrics.inception:PrecisionVGG16",
                 "improved precision, k=3, VGG-16 fc2_relu = torch-fidelity calculate_metrics(prc=True)")
METRICS.register("recall_vgg16", "metrics.inception:RecallVGG16",
                 "improved recall, k=3, VGG-16 fc2_relu = torch-fidelity calculate_metrics(prc=True)")

# --- perceptual, diversity, independent critic, domain classifier (metrics B) ---
METRICS.register("lpips", "metrics.lpips_metric:LPIPS", "LPIPS v0.1 AlexNet, test image vs reconstruction (AVAE Table I)")
METRICS.register("ms_ssim_diversity", "metrics.diversity:MSSSIMDiversity", "1 - mean pairwise MS-SSIM of samples (alpha-GAN §4)")
METRICS.register("critic_w", "metrics.critic:CriticW", "-W of a fresh WGAN-GP critic on held-out images (alpha-GAN §4)")
METRICS.register("is_domain", "metrics.domain:DomainIS", "Inception Score of a classifier trained on the dataset (alpha-GAN §4)")
METRICS.register("fd_domain", "metrics.domain:DomainFD", "Frechet distance of domain-classifier features vs train (alpha-GAN §4)")
METRICS.register("fd_domain_recon", "metrics.domain:DomainFDRecon", "domain-feature Frechet distance, test recons vs originals")
METRICS.register("recon_class_acc", "metrics.recon_class:ReconClassAcc", "domain classifier accuracy on test reconstructions")

# --- 2-D mode coverage (model zoo I) ---
METRICS.register("modes", "metrics.modes:ModesCaptured", "modes captured, >= 1 sample within 3 sigma (2-D mixtures)")
METRICS.register("hq_share", "metrics.modes:HQShare", "share of high-quality samples, within 3 sigma of a mode (2-D mixtures)")
METRICS.register("mode_kl", "metrics.modes:ModeKL", "KL of the high-quality mode histogram to uniform (2-D mixtures)")
