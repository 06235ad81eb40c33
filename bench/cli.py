"""Command line: ``python -m bench <command>``.

Every user error (unknown name, bad value, missing data or weights) prints one line to stderr
and exits with code 2; no traceback. Sub-commands register themselves in ``COMMANDS`` with a
function that adds their arguments and one that runs them, so new commands never edit ``main``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

from bench.errors import BenchError

Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
COMMANDS: list[Command] = []
# Where real datasets live unless --data-root or $BENCH_DATA_ROOT says otherwise (bench.data.layout.default_root).
DATA_ROOT_HELP = "where real datasets live (default $BENCH_DATA_ROOT, else ~/.cache/hybrid-bench/data)"


def command(name: str, help_text: str) -> Callable:
    """Decorator pair: ``@command(name, help)`` on a ``run(args)`` whose ``.arguments`` adds options."""

    def wrap(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS.append((name, lambda p: getattr(fn, "arguments", lambda _: None)(p), fn))
        fn.help = help_text  # type: ignore[attr-defined]
        return fn

    return wrap


def arguments(fn_args: Callable[[argparse.ArgumentParser], None]) -> Callable:
    def attach(fn: Callable) -> Callable:
        fn.arguments = fn_args  # type: ignore[attr-defined]
        return fn

    return attach


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse's own convention)
        self.exit(2, f"{self.prog}: error: {message}\n")


# ---- list ------------------------------------------------------------------------------
def _list_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", choices=["models", "datasets", "metrics"])


@command("list", "list registered models, datasets or metrics")
@arguments(_list_args)
def cmd_list(args: argparse.Namespace) -> int:
    from bench import registries

    reg = {"models": registries.models, "datasets": registries.datasets, "metrics": registries.metrics}[args.what]()
    width = max(len(e.name) for e in reg)
    for e in reg:
        print(f"{e.name:<{width}}  {e.description}")
    return 0


# ---- train -----------------------------------------------------------------------------
def add_run_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``train`` and the sweep commands."""
    from bench.config import DEFAULT_THREADS

    p.add_argument("--data-root", default=None, help=DATA_ROOT_HELP)
    p.add_argument("--weights-dir", default=None, help="pretrained weights (default $BENCH_WEIGHTS_DIR)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                   help=f"torch CPU threads per run (default {DEFAULT_THREADS}; results are reproducible at the same "
                        "count, recorded in config.json)")


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="training iterations (default: the model's)")
    p.add_argument("--protocol", default="fair", help="fair (shared DCGAN blocks) or paper (each paper's own)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    p.add_argument("--metrics", default=None, help="comma-separated metric names (default: all that apply)")
    p.add_argument("--eval-samples", default="quick", choices=["quick", "paper"],
                   help="metric sample counts: quick (CPU) or the papers' (e.g. 50k for FID)")
    p.add_argument("--n-eval", type=int, default=None, help="use exactly this many images for every metric")
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--out", default=None, help="run directory (default results/runs/single/<run id>); resumed only "
                   "if it holds this same run")
    p.add_argument("--force", action="store_true", help="re-evaluate a finished run (default: report it and skip)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--precision", default="fp32", help="fp32 (default) or bf16 autocast for training")
    p.add_argument("--channels-last", action="store_true", help="channels_last memory format (GPU speed)")
    p.add_argument("--compile", action="store_true", help="torch.compile the networks (slower on the CPU: PERFORMANCE.md)")
    p.add_argument("--data-on-device", action="store_true", help="keep the training split on the device")
    p.add_argument("--eval-precision", default="fp32",
                   help="fp32 (default, as torch-fidelity/clean-fid) or bf16 autocast for the metrics' feature networks")
    add_run_options(p)


@command("train", "train and evaluate one model on one dataset (one run directory)")
@arguments(_train_args)
def cmd_train(args: argparse.Namespace) -> int:
    import json

    from bench.config import parse_assignments
    from bench.run import RunSpec, check_run_dir, execute

    spec = RunSpec(model=args.model, dataset=args.dataset, seed=args.seed, steps=args.steps, protocol=args.protocol,
                   overrides=parse_assignments(args.set),
                   metrics=args.metrics.split(",") if args.metrics else None, eval_samples=args.eval_samples,
                   n_eval=args.n_eval, log_every=args.log_every, checkpoint_every=args.checkpoint_every,
                   device=args.device, data_root=args.data_root, weights_dir=args.weights_dir,
                   precision=args.precision, channels_last=args.channels_last, compile=args.compile,
                   data_on_device=args.data_on_device, eval_precision=args.eval_precision, threads=args.threads)
    out = Path(args.out) if args.out else Path("results/runs/single") / spec.run_id()
    finished = check_run_dir(spec, out)  # (execute checks it again, after the values)
    if finished is not None and not args.force:
        print(f"run {spec.run_id()} is already finished ({finished.get('status')} at step {finished.get('step')}) "
              f"in {out}: skipped (--force re-evaluates it)", file=sys.stderr)
    record = execute(spec, out, progress=not args.quiet, force=args.force)
    shown = {k: v for k, v in record.items() if not k.endswith((".n", ".unavailable"))}
    print(json.dumps(shown, indent=1, default=str))
    for line in unavailable_lines(record):
        print(line)
    print(f"run directory: {out}")
    return 0


MISSING_WEIGHTS = re.compile(r"^missing weights file (?P<file>\S+) in (?P<dir>.+?); fetch with: (?P<fix>.+)$")


def unavailable_lines(record: dict[str, object]) -> list[str]:
    """One line per distinct reason of the record's ``name.unavailable`` entries, naming its metrics;
    missing weights files are said once, with the one command that fetches them all (``metrics.json``
    keeps every entry)."""
    by_reason: dict[str, list[str]] = {}
    weights: dict[tuple[str, str], tuple[list[str], list[str]]] = {}  # (dir, fix) → (metrics, files)
    for key, why in record.items():
        if not key.endswith(".unavailable"):
            continue
        name, text = key[: -len(".unavailable")], str(why)
        missing = MISSING_WEIGHTS.match(text)
        if missing:
            names, files = weights.setdefault((missing["dir"], missing["fix"]), ([], []))
            names.append(name)
            files += [] if missing["file"] in files else [missing["file"]]
        else:
            by_reason.setdefault(text, []).append(name)
    lines = [f"unavailable: {', '.join(names)}: missing weights ({', '.join(files)}) in {folder}; fetch them "
             f"with: {fix}" for (folder, fix), (names, files) in weights.items()]
    return lines + [f"unavailable: {', '.join(names)}: {why}" for why, names in by_reason.items()]


# ---- data ------------------------------------------------------------------------------
def _data_args(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", required=True, parser_class=_Parser, metavar="ACTION")
    download = actions.add_parser("download", help="download a real dataset into the data root",
                                  description="Download a real dataset with torchvision into the data root "
                                              "(needs internet: run it on a login node).")
    download.add_argument("name", help="dataset name (python -m bench list datasets)")
    download.add_argument("--data-root", default=None, help="where real datasets live (default $BENCH_DATA_ROOT)")
    download.add_argument("--offline", action="store_true", default=argparse.SUPPRESS,
                          help="never use the network (as BENCH_OFFLINE=1)")
    check = actions.add_parser("check", help="say where a dataset's files are and how many images they hold",
                               description="Say where a dataset's files were found (data root, or Debian's "
                                           "/usr/share/datasets for fashion-mnist) and its split sizes; never "
                                           "downloads (missing: one line, exit 2).")
    check.add_argument("name", help="dataset name (python -m bench list datasets)")
    check.add_argument("--data-root", default=None, help="where real datasets live (default $BENCH_DATA_ROOT)")


@command("data", "download a real dataset with torchvision (needs internet: run on a login node), or check one")
@arguments(_data_args)
def cmd_data(args: argparse.Namespace) -> int:
    from bench.data import real
    from bench.registries import datasets

    if args.action == "check":
        from bench.data.check import describe

        print(describe(args.name, args.data_root))
        return 0
    datasets().entry(args.name)
    root = args.data_root or real.default_root()
    print(real.download(args.name, root))
    return 0


def build_parser() -> argparse.ArgumentParser:
    _load_plugins()
    from bench import __version__

    parser = _Parser(prog="python -m bench", description="hybrid-bench: VAE/GAN hybrid benchmark suite (real "
                     "datasets are read from --data-root, default $BENCH_DATA_ROOT, else ~/.cache/hybrid-bench/data)")
    parser.add_argument("--version", action="version", version=f"hybrid-bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, add, fn in COMMANDS:
        p = sub.add_parser(name, help=getattr(fn, "help", ""), description=getattr(fn, "help", ""))
        add(p)
        p.add_argument("--offline", action="store_true",
                       help="never use the network (as BENCH_OFFLINE=1): missing data or weights is one error line")
        p.set_defaults(func=fn)
    return parser


# Modules that add commands with @command (evaluate, sweep, status, report, weights...).
PLUGINS = ("bench.cli_eval", "bench.cli_sweep", "bench.cli_bench", "bench.cli_report", "bench.cli_perf",
           "bench.cli_weights", "bench.cli_study")


def _load_plugins() -> None:
    import importlib
    import importlib.util

    for mod in PLUGINS:
        if importlib.util.find_spec(mod) is not None:
            importlib.import_module(mod)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "offline", False):
        from bench.data.download import set_offline

        set_offline()
    try:
        return int(args.func(args) or 0)
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
