"""hybrid-bench: a benchmark and evaluation suite for VAE/GAN hybrid image generators."""

__version__ = "0.1.0"
