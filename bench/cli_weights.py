"""``python -m bench weights``: fill the weights directory (run on a machine with internet).

Every pretrained file the metrics use is fetched under its upstream file name into ``--weights-dir``
(default ``$BENCH_WEIGHTS_DIR``, else ``~/.cache/hybrid-bench/weights``); files already there, or in the
libraries' own caches (torch.hub's ``checkpoints/``…, see :func:`metrics.weights.candidates`), are kept.
``--list`` reports each name (what ``--only`` takes), its file and where it was found. Runs fetch a
missing file on first use anyway; offline jobs (``--offline`` / ``BENCH_OFFLINE=1``) never download.
"""

from __future__ import annotations

import argparse

from bench.cli import arguments, command


def _weights_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights-dir", default=None, help="target directory (default $BENCH_WEIGHTS_DIR or ~/.cache/...)")
    p.add_argument("--only", default=None, help="comma-separated names, as --list shows them (e.g. inception-v3-compat,alexnet)")
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
        width = max(len(n) for n in names)
        for name in names:
            w, found = W.TABLE[name], W.find(name, args.weights_dir)
            where = f"at {found}" if found is not None and found.parent != d else ""
            print(f"{'ok     ' if found else 'missing'}  {name:<{width}}  {w.file:<45}  {', '.join(w.used_by)}  "
                  f"({w.loader}) {where}".rstrip())
        print(f"weights directory: {d}")
        return 0
    fetched = W.download(names, args.weights_dir, progress=not args.quiet)
    for p in fetched:
        print(f"fetched {p.name}")
    print(f"{len(names) - len(fetched)} already present, {len(fetched)} fetched; weights directory: {d}")
    return 0
