"""The three registries, imported on demand: ``models()``, ``datasets()``, ``metrics()``.

The registry lines live beside what they register (``models/__init__.py``, ``bench/data/__init__.py``,
``metrics/__init__.py``), and those packages import :mod:`bench.registry` for the :class:`Registry` class.
These accessors are kept out of :mod:`bench.registry` so that it imports none of the packages that import
it (no import cycle); nothing under ``models/``, ``metrics/`` or ``bench/data/`` may import this module.
"""

from __future__ import annotations

from bench.registry import Registry


def models() -> Registry:
    """The model registry (its lines live in ``models/__init__.py``)."""
    from models import MODELS

    return MODELS


def datasets() -> Registry:
    """The dataset registry (its lines live in ``bench/data/__init__.py``)."""
    from bench.data import DATASETS

    return DATASETS


def metrics() -> Registry:
    """The metric registry (its lines live in ``metrics/__init__.py``)."""
    from metrics import METRICS

    return METRICS
