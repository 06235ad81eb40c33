"""``python -m bench evaluate``: the metric battery on any image set or run directory.

``--fake PATH`` and ``--real PATH`` are read by :mod:`bench.sources` (image folder, .npz with a
uint8 ``images`` array, ``dataset:split``, or a run directory whose checkpoint is sampled). The
real side supplies the splits the metrics read: a dataset gives its own train / val / test splits,
with the named split (default ``test``) as the held-out reference; a folder or .npz is used as
every split (``val`` is a seeded half of it, see ``Dataset.held_out``) and has no labels. A run directory as
``--fake`` also gives reconstructions (so ``mse``, ``cosine``, ``lpips`` apply) and, without
``--real``, its own dataset. :func:`evaluate_paths` is the same thing as a function for callers.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bench.cli import arguments, command
from bench.config import check_precision, check_run_option
from bench.errors import ConfigError


def _holds(src: Any) -> str:
    """What a source holds, in words: ``2-D points (ring8)`` or ``images``."""
    if src.dataset is not None and src.dataset.spec.kind == "points":
        return f"2-D points ({src.dataset.spec.name})"
    return "images"


def _real_dataset(src: Any) -> Any:
    """The Dataset a real-side source stands for (named split → the ``test`` reference)."""
    from bench.data.base import Dataset
    from bench.sources import images_dataset

    if src.kind == "run":
        return src.dataset
    if src.kind == "dataset":
        ds = src.dataset
        if ds.spec.kind != "image":
            raise ConfigError(f"dataset {ds.spec.name} holds 2-D points: bench evaluate compares images")
        if src.split == "test":
            return ds
        ds.split("val")  # materialise the seeded val slice before copying the split table
        return Dataset(ds.spec, {**ds.splits, "test": ds.split(src.split)})
    from pathlib import Path

    return images_dataset(src.images, Path(src.path).stem or "custom", labels=src.labels)


def evaluate_paths(fake: str, real: str | None = None, metrics: list[str] | None = None, *,
                   weights_dir: str | None = None, eval_samples: str = "quick", n_eval: int | None = None,
                   seed: int = 0, device: str = "cpu", data_root: str | None = None,
                   critic_steps: int | None = None, eval_precision: str = "fp32") -> dict[str, Any]:
    """Compute ``metrics`` (default: every registered one that applies) of ``fake`` against ``real``.

    Returns the flat ``{name: value, name.n: images, name.unavailable: reason}`` dict of
    :func:`metrics.base.evaluate`, plus ``fake``, ``real`` and ``eval_samples``. Bad input raises a
    one-line :class:`bench.errors.BenchError`."""
    import torch

    from bench.registries import metrics as metric_registry
    from bench.run import default_metrics, evaluate_with_progress, explain_unavailable
    from bench.sources import SourceError, load_source, match_channels, rgb_dataset
    from metrics.base import EvalContext
    from metrics.critic import CRITIC_STEPS_OPTION
    from models.base import RECONSTRUCT, SAMPLE

    if eval_samples not in ("quick", "paper"):
        raise ConfigError(f"bad value for eval-samples: {eval_samples!r} (quick or paper)")
    if n_eval is not None:
        check_run_option("n_eval", n_eval)
    check_precision(eval_precision, "eval-precision")
    if critic_steps is not None:
        check_run_option("critic_steps", critic_steps)
    names = metrics or default_metrics()
    for name in names:
        metric_registry().entry(name)  # unknown name → one line listing the known ones
    fake_src = load_source(fake, data_root=data_root, device=device)
    if real is None and fake_src.kind != "run":
        raise ConfigError("--real PATH is required unless --fake is a run directory")
    real_src = load_source(real, data_root=data_root, device=device) if real is not None else fake_src
    if _holds(fake_src) != _holds(real_src) and "images" in (_holds(fake_src), _holds(real_src)):
        raise SourceError(f"cannot compare --fake {fake} ({_holds(fake_src)}) with --real {real} ({_holds(real_src)}): "
                          "bench evaluate compares images with images, or a 2-D run with its own dataset")
    dataset = _real_dataset(real_src)
    rshape, fshape = tuple(dataset.spec.shape), fake_src.shape
    if rshape[1:] != fshape[1:]:
        raise SourceError(f"fake images are {fshape[2]}x{fshape[1]} px but real images are {rshape[2]}x{rshape[1]} px")

    sample_fn = recon_fn = None
    fakes = None
    if fake_src.kind == "run":
        model = fake_src.model
        if rshape != fshape:
            raise SourceError(f"the run's model makes {fshape} images but the real set is {rshape}")
        sample_fn = model.sample if SAMPLE in model.capabilities else None
        recon_fn = model.reconstruct if RECONSTRUCT in model.capabilities else None
    else:
        fakes = fake_src.images
        if fshape[0] == 1 and rshape[0] == 3:
            fakes = match_channels(fakes, 3)
        elif fshape[0] == 3 and rshape[0] == 1:
            dataset = rgb_dataset(dataset)

    ctx = EvalContext(dataset, sample_fn=sample_fn, recon_fn=recon_fn, device=torch.device(device), seed=seed,
                      sample_setting=eval_samples, n_override=n_eval, weights_dir=weights_dir,  # type: ignore[arg-type]
                      sample_images=fakes, extractor_precision=eval_precision)  # type: ignore[arg-type]
    if critic_steps is not None:
        ctx.cache[CRITIC_STEPS_OPTION] = critic_steps
    # a progress bar naming the metric being computed, on a terminal (a metric may take minutes)
    out: dict[str, Any] = evaluate_with_progress(ctx, names, progress=sys.stderr.isatty())
    if metrics:  # say why an explicitly requested metric has no value (as train and sweep do)
        explain_unavailable(ctx, names, out)
    out.update({"fake": fake, "real": real if real is not None else f"{fake} (its dataset)",
                "eval_samples": eval_samples, "eval_precision": eval_precision})
    return out


def _evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fake", required=True, help="image folder, .npz (uint8 'images' N,H,W,C), dataset:split or run dir")
    p.add_argument("--real", default=None, help="image folder, .npz, dataset[:split] (default: the run's dataset)")
    p.add_argument("--metrics", default=None, help="comma-separated metric names (default: all that apply)")
    p.add_argument("--weights-dir", default=None, help="pretrained weights (default $BENCH_WEIGHTS_DIR)")
    p.add_argument("--json", default=None, metavar="OUT", help="also write the result to this JSON file (atomic)")
    p.add_argument("--eval-samples", default="quick", choices=["quick", "paper"], help="metric sample counts")
    p.add_argument("--n-eval", type=int, default=None, help="use exactly this many images for every metric")
    p.add_argument("--critic-steps", type=int, default=None, help="critic_w training steps (default 200 quick, 2000 paper)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-precision", default="fp32",
                   help="fp32 (default, as torch-fidelity/clean-fid) or bf16 autocast for the feature networks")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--data-root", default=None, help="where real datasets live (default $BENCH_DATA_ROOT)")


@command("evaluate", "compute metrics of images (folder, .npz, dataset:split or a run's model) against real data")
@arguments(_evaluate_args)
def cmd_evaluate(args: argparse.Namespace) -> int:
    from bench.atomic import write_json

    names = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    if args.metrics is not None and not names:
        raise ConfigError("bad value for --metrics: no metric names given")
    out = evaluate_paths(args.fake, args.real, names, weights_dir=args.weights_dir, eval_samples=args.eval_samples,
                         n_eval=args.n_eval, seed=args.seed, device=args.device, data_root=args.data_root,
                         critic_steps=args.critic_steps, eval_precision=args.eval_precision)
    if args.json:
        write_json(args.json, out)
    print(json.dumps(out, indent=1, sort_keys=True, default=str))
    return 0
