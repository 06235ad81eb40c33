"""``python -m bench data check NAME``: where a dataset's files were found and how many images they hold.

Never downloads: a dataset that is not on disk is the same one line (exit 2) as an offline run's, naming
where it was looked for and how to get it (for Fashion-MNIST: ``apt-get install dataset-fashion-mnist`` or
the download command).
"""

from __future__ import annotations

from pathlib import Path

from bench.data import DATASETS, parse_sized
from bench.data.remote import BUILT_IN


def describe(name: str, data_root: str | None) -> str:
    """One line: the dataset, where its files are (or that it is built in), its split sizes, shape and classes."""
    from bench.data import layout

    DATASETS.entry(name)  # unknown name or bad NAME@SIZE: one line
    base, _ = parse_sized(name)
    err = layout.missing_offline(base, data_root)
    if err is not None:
        raise err
    ds = DATASETS.get(name)(data_root)  # parses every file: a corrupt one is its own one line
    if base == "fashion-mnist":
        from bench.data import fashion_mnist

        folder = fashion_mnist.locate(data_root)
        where = f"found in {folder} ({fashion_mnist.source_label(folder)})"  # type: ignore[arg-type]
    elif base in BUILT_IN:
        where = "built into the suite (no files)"
    else:
        where = f"found in {Path(data_root or layout.default_root()).expanduser()}"
    counts = ", ".join(f"{len(ds.splits[s]):,} {s}" for s in ("train", "val", "test") if s in ds.splits)
    classes = f", {ds.spec.n_classes} classes" if ds.spec.n_classes else ""
    shape = "x".join(str(v) for v in ds.spec.shape)
    return f"{name}: {where}: {counts} ({ds.spec.kind}s {shape}{classes})"
