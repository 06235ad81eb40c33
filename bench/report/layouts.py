"""Table layouts: the shapes of the papers' result tables, and a generic model × metric table.

A layout names which axis runs along the rows, the columns and (optionally) sections, and which
models / metrics / datasets it shows in which order; :func:`bench.report.tables.build_table`
fills it from a sweep's results and the published numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.report import published as pub

Axis = str  # "model" | "metric" | "dataset"


@dataclass(frozen=True)
class Layout:
    """The shape of one table."""

    name: str
    title: str
    caption: str
    rows: tuple[Axis, ...]
    cols: Axis
    section: Axis | None = None
    models: tuple[str, ...] | None = None  # None: every model of the sweep
    metrics: tuple[str, ...] | None = None  # None: every metric of the sweep
    datasets: tuple[str, ...] | None = None  # the paper's datasets; falls back to the sweep's own
    paper: str | None = None  # published values only from this paper (None: any)
    model_labels: dict[str, str] = field(default_factory=dict)
    metric_labels: dict[str, str] = field(default_factory=dict)
    metric_scale: dict[str, float] = field(default_factory=dict)  # display multiplier (hq_share → %)

    def model_label(self, model: str) -> str:
        return self.model_labels.get(model, model)

    def metric_label(self, metric: str) -> str:
        return self.metric_labels.get(metric, metric)


AVAE_TABLE1 = Layout(
    "avae-table1", "AVAE Table I",
    "Reconstruction errors (MSE, LPIPS on test-split reconstructions) and FID of samples; "
    "rows model × metric, datasets as columns (Plumerault et al., Table I). Our MSE is on [0, 1] pixels, "
    "the paper's on [-1, 1] (inferred, §V-C): its MSE is shown converted (÷ 4) and Δ compares the converted value.",
    rows=("model", "metric"), cols="dataset",
    models=("vae", "dcgan", "vae-gan", "bigan", "avae-xi-a", "avae-a", "avae"),
    metrics=("mse", "lpips", "fid"),
    datasets=("lsun-bedroom", "celeba", "cifar10", "cifar100", "svhn"),
    paper=pub.AVAE,
    model_labels={"dcgan": "GAN (dcgan)", "vae-gan": "VAE/GAN", "avae-xi-a": "AVAE with ξ, L_Z^a",
                  "avae-a": "AVAE without ξ, L_Z^a", "avae": "AVAE without ξ, L_Z^b"},
)

IDVAE_TABLE1 = Layout(
    "idvae-table1", "IDVAE Table 1",
    "Fréchet distances with three feature extractors: FID15 (Inception 2015 weights), FID16 "
    "(Inception 2016 weights) and FRD (ResNet-50); one section per dataset, a 'true data' row "
    "from real-vs-real rows of the sweep (Munjal et al., Table 1).",
    rows=("model",), cols="metric", section="dataset",
    models=("real", "idvae", "idvae-r", "vae-gan", "vae", "age", "alpha-gan"),
    metrics=("fid", "fid_tv16", "frd"),
    datasets=("cifar10", "celeba"),
    paper=pub.IDVAE,
    model_labels={"real": "true data", "idvae-r": "IDVAE(R)", "vae-gan": "VAE-GAN", "alpha-gan": "α-GAN"},
    metric_labels={"fid": "FID15 (fid)", "fid_tv16": "FID16 (fid_tv16)", "frd": "FRD (frd)"},
)

AVAES_TABLE3 = Layout(
    "avaes-table3", "AVAE-S Table III",
    "Evaluation scores on validation reconstructions (sharpness, cosine similarity, MSE) and FID of the "
    "validation reconstructions at four Inception layers (§III: \"on the reconstructions of the validation "
    "set\"); metrics as rows, models as columns (Naderi et al., Table III).",
    rows=("metric",), cols="model", section="dataset",
    models=("real", "vae", "avae-ft", "vae-s", "avae-s"),
    metrics=("sharpness_recon", "cosine", "mse", "fid_64_recon", "fid_192_recon", "fid_768_recon", "fid_recon"),
    datasets=("celeba96",),
    paper=pub.AVAES,
    model_labels={"real": "ground truth", "avae-ft": "AVAE (avae-ft)"},
    metric_labels={"sharpness_recon": "sharpness (Laplace)", "cosine": "cosine similarity", "mse": "MSE",
                   "fid_64_recon": "FID d=64 (recon)", "fid_192_recon": "FID d=192 (recon)",
                   "fid_768_recon": "FID d=768 (recon)", "fid_recon": "FID d=2048 (recon)"},
)

KHAN_TABLE1 = Layout(
    "khan-table1", "Khan et al. Table 1",
    "Inception Score of samples on CIFAR-10 (Khan et al., Table 1); the semi-supervised and "
    "real-image rows are references.",
    rows=("model",), cols="dataset",
    models=("dcgan", "improved-gan", "bigan", "mix-wgan", "pixelcnn++", "as-vae-g", "began", "began-lsm",
            "vae-began", "improved-gan-ss", "real"),
    metrics=("is",),
    datasets=("cifar10",),
    paper=pub.KHAN,
    model_labels={"bigan": "ALI (bigan)", "began-lsm": "BEGAN* + LSM", "vae-began": "VAE + BEGAN* + LSM",
                  "improved-gan-ss": "Improved GAN (semi-sup.)", "real": "real images"},
)

MODE_METRICS = ("modes", "hq_share", "mode_kl")
MODE_LABELS = {"modes": "modes", "hq_share": "HQ samples (%)", "mode_kl": "mode KL"}


def _toy_layout(name: str, title: str, caption: str, models: tuple[str, ...], paper: str,
                labels: dict[str, str]) -> Layout:
    """Mode coverage on ring8 / grid25 beside a published toy table (``hq_share`` shown in %)."""
    return Layout(name, title, caption, rows=("model",), cols="metric", section="dataset", models=models,
                  metrics=MODE_METRICS, datasets=("ring8", "grid25"), paper=paper,
                  model_labels={"dcgan": "GAN (dcgan)", "bigan": "ALI (bigan)", **labels}, metric_labels=MODE_LABELS,
                  metric_scale={"hq_share": 100.0})


VEEGAN_TABLE1 = _toy_layout(
    "veegan-table1", "VEEGAN Table 1",
    "Mode coverage on the 2-D ring (8 modes) and grid (25 modes): modes captured and share of high-quality "
    "samples (within 3σ) of 2,500 samples; VEEGAN's numbers are means of 5 runs of its own networks "
    "(Srivastava et al., Table 1). GAN = the suite's dcgan, ALI = bigan.",
    ("dcgan", "bigan", "unrolled-gan", "veegan"), pub.VEEGAN, {"unrolled-gan": "Unrolled GAN", "veegan": "VEEGAN"})

PACGAN_TABLE1 = _toy_layout(
    "pacgan-table1", "PacGAN Table 1",
    "Mode coverage on the 2-D ring and grid: modes, high-quality samples and the KL of the mode histogram "
    "to uniform (PacGAN's 'reverse KL'); PacGAN's ± is a standard error over 10 runs, shown converted to a "
    "sample std (×√10) like ours (Lin et al., Table 1). GAN = the suite's dcgan, ALI = bigan.",
    ("dcgan", "bigan", "pacgan2"), pub.PACGAN, {"pacgan2": "PacGAN2"})

PAPER_LAYOUTS: dict[str, Layout] = {lay.name: lay for lay in (AVAE_TABLE1, IDVAE_TABLE1, AVAES_TABLE3, KHAN_TABLE1,
                                                                VEEGAN_TABLE1, PACGAN_TABLE1)}


def generic(dataset: str) -> Layout:
    """Model × metric for one dataset: every model and metric of the sweep (any paper's values)."""
    return Layout(f"generic-{dataset}", f"All models and metrics on {dataset}",
                  f"Every model (rows) and metric (columns) of the sweep on {dataset}.",
                  rows=("model",), cols="metric", datasets=(dataset,), model_labels={"real": "real data"})
