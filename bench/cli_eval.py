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
from pathlib import Path
from typing import Any

from bench.cli import DATA_ROOT_HELP, arguments, command
from bench.config import check_precision, check_run_option
from bench.errors import ConfigError


def _holds(src: Any) -> str:
    """What a source holds, in words: ``2-D points (ring8)`` or ``images``."""
    if src.dataset is not None and src.dataset.spec.kind == "points":
        return f"2-D points ({src.dataset.spec.name})"
    return "images"


def read_source(path: str, option: str, *, data_root: str | None, device: str) -> Any:
    """:func:`bench.sources.load_source`, with a file that cannot be read (a corrupt or truncated .npz, a run
    directory whose ``checkpoint.pt`` is truncated or is not a checkpoint of its model) as one line."""
    import pickle
    import zipfile
    import zlib

    from bench.errors import BenchError
    from bench.sources import SourceError, load_source

    try:
        return load_source(path, data_root=data_root, device=device)
    except BenchError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, pickle.UnpicklingError, OSError, ValueError, KeyError,
            RuntimeError) as err:
        first = " ".join(str(err).split()).split(". ")[0][:160] or "no details"  # the first sentence
        if Path(path, "checkpoint.pt").is_file():
            what = "its checkpoint.pt is truncated or does not match its config.json: "
        elif Path(path).is_file():
            what = "the file is corrupt or truncated: "
        else:
            what = ""
        raise SourceError(f"cannot read {option} {path}: {what}{type(err).__name__}: {first}") from None


def run_progress(src: Any) -> dict[str, Any]:
    """``step`` (of the checkpoint evaluated) and ``status`` of a run directory given as ``--fake``: its
    ``metrics.json`` status (completed, diverged, failed) or ``unfinished`` (interrupted or still running: the
    metrics are those of the last checkpoint, not of the full schedule), with ``steps`` the schedule's length."""
    run_dir = Path(src.path)
    status = "unfinished"
    try:
        status = str(json.loads((run_dir / "metrics.json").read_text()).get("status") or "unfinished")
    except (OSError, ValueError, AttributeError):
        pass
    steps = getattr(getattr(src.model, "cfg", None), "steps", None)
    return {"step": src.info.get("step"), "steps": steps, "status": status}


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
    from bench.sources import SourceError, match_channels, rgb_dataset
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
    fake_src = read_source(fake, "--fake", data_root=data_root, device=device)
    if real is None and fake_src.kind != "run":
        raise ConfigError("--real PATH is required unless --fake is a run directory")
    real_src = read_source(real, "--real", data_root=data_root, device=device) if real is not None else fake_src
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
    if fake_src.kind == "run":  # which checkpoint was evaluated, and whether the run had finished
        out.update(run_progress(fake_src))
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
    p.add_argument("--data-root", default=None, help=DATA_ROOT_HELP)


@command("evaluate", "compute metrics of images (folder, .npz, dataset:split or a run's model) against real data")
@arguments(_evaluate_args)
def cmd_evaluate(args: argparse.Namespace) -> int:
    from bench.atomic import write_json
    from bench.outpaths import check_file

    names = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    if args.metrics is not None and not names:
        raise ConfigError("bad value for --metrics: no metric names given")
    if args.json:  # before any metric is computed (they may take minutes)
        check_file(args.json, "--json")
    out = evaluate_paths(args.fake, args.real, names, weights_dir=args.weights_dir, eval_samples=args.eval_samples,
                         n_eval=args.n_eval, seed=args.seed, device=args.device, data_root=args.data_root,
                         critic_steps=args.critic_steps, eval_precision=args.eval_precision)
    if args.json:
        write_json(args.json, out)
    print(json.dumps(out, indent=1, sort_keys=True, default=str))
    if out.get("status") == "unfinished":
        print(f"note: {args.fake} is an unfinished run (interrupted or still running): these are the metrics of its "
              f"checkpoint at step {out.get('step')} of {out.get('steps')}", file=sys.stderr)
    return 0
