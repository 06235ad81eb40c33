"""``python -m bench weights``: fill the weights directory (run on a machine with internet).

Every pretrained file the metrics use is fetched under its upstream file name into ``--weights-dir``
(default ``$BENCH_WEIGHTS_DIR``, else ``~/.cache/hybrid-bench/weights``); files already there are kept.
``--list`` only reports what is present. Offline jobs then read the same directory and never download.
"""

from __future__ import annotations

import argparse

from bench.cli import arguments, command


def _weights_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights-dir", default=None, help="target directory (default $BENCH_WEIGHTS_DIR or ~/.cache/...)")
    p.add_argument("--only", default=None, help="comma-separated subset of the table's names")
    p.add_argument("--list", action="store_true", help="show each file, whether it is present and who uses it")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


@command("weights", "download every pretrained weights file into the weights directory (needs internet)")
@arguments(_weights_args)
def cmd_weights(args: argparse.Namespace) -> int:
    from metrics import weights as W

    names = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else list(W.TABLE)
    for name in names:
        W.entry(name)  # unknown name → one line, exit 2
    d = W.resolve_dir(args.weights_dir)
    if args.list:
        present = W.status(args.weights_dir)
        for name in names:
            w = W.TABLE[name]
            print(f"{'ok     ' if present[name] else 'missing'}  {w.file:<45}  {', '.join(w.used_by)}  ({w.loader})")
        print(f"weights directory: {d}")
        return 0
    fetched = W.download(names, args.weights_dir, progress=not args.quiet)
    for p in fetched:
        print(f"fetched {p.name}")
    print(f"{len(names) - len(fetched)} already present, {len(fetched)} fetched; weights directory: {d}")
    return 0
