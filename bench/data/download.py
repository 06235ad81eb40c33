"""Fetching upstream files: one HTTP(S) download with a progress bar, a checksum, then a rename.

Used for datasets (:mod:`bench.data.remote`) and weights (:mod:`metrics.weights`) on first use, and by
``python -m bench data download`` / ``python -m bench weights``. A file is written to a temporary name in
the target's directory, its size checked against ``Content-Length`` and its MD5 or SHA-256 (prefix)
checked against the upstream value, and only then renamed into place: an interrupted or corrupted
transfer leaves nothing that a later run could take for a good file.

``--offline`` on the command line (which sets ``BENCH_OFFLINE=1``) or ``BENCH_OFFLINE=1`` in the
environment (compute nodes without internet) forbids the network: callers then raise their one-line
"missing, fetch it with …" error instead of downloading. Every socket operation has a timeout
(``BENCH_DOWNLOAD_TIMEOUT`` seconds, default 30), so an unreachable host ends in one line, never a hang;
a URL that failed once is not tried again in the same process.

``BENCH_DOWNLOAD_BASE_URL`` (tests only) sends every request to ``BASE/<host>/<path>`` instead of
``https://<host>/<path>``, so the whole path can be exercised against a local HTTP server.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from bench.atomic import atomic_path
from bench.errors import MissingResourceError

ENV_OFFLINE = "BENCH_OFFLINE"
ENV_TIMEOUT = "BENCH_DOWNLOAD_TIMEOUT"
ENV_BASE_URL = "BENCH_DOWNLOAD_BASE_URL"
DEFAULT_TIMEOUT_S = 30.0
CHUNK = 1 << 20
USER_AGENT = "hybrid-bench"
OFFLINE_HINT = "--offline / BENCH_OFFLINE=1"

_FAILED: dict[str, str] = {}  # url → first line of the error, for this process


class DownloadError(MissingResourceError):
    """A download that failed (network, HTTP status, truncated transfer, checksum): one line with the URL."""


def offline() -> bool:
    """True when ``BENCH_OFFLINE`` is set to anything but ``""``/``0``/``false``/``no``."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() not in ("", "0", "false", "no")


def set_offline(on: bool = True) -> None:
    """Forbid (or allow) the network for this process and the processes it starts (``--offline``)."""
    if on:
        os.environ[ENV_OFFLINE] = "1"
    else:
        os.environ.pop(ENV_OFFLINE, None)


def timeout_s() -> float:
    """Seconds any socket operation may wait (``$BENCH_DOWNLOAD_TIMEOUT``, default 30)."""
    try:
        return max(0.1, float(os.environ.get(ENV_TIMEOUT, DEFAULT_TIMEOUT_S)))
    except ValueError:
        return DEFAULT_TIMEOUT_S


def effective_url(url: str) -> str:
    """``url``, or its test rewrite ``$BENCH_DOWNLOAD_BASE_URL/<host>/<path>`` when that is set."""
    base = os.environ.get(ENV_BASE_URL)
    if not base:
        return url
    parts = urlsplit(url)
    rest = parts.path + (f"?{parts.query}" if parts.query else "")
    return f"{base.rstrip('/')}/{parts.netloc}{rest}"


def file_digest(path: str | os.PathLike[str], algorithm: str) -> str:
    """Hex digest (``md5`` or ``sha256``) of a file, read in 1 MiB chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _first_line(err: BaseException) -> str:
    text = str(getattr(err, "reason", None) or err) or type(err).__name__
    return text.splitlines()[0]


def _copy(response: object, fh: object, total: int | None, label: str, progress: bool) -> int:
    from tqdm import tqdm

    n = 0
    with tqdm(total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1024, disable=not progress,
              leave=False, dynamic_ncols=True) as bar:
        while True:
            block = response.read(CHUNK)  # type: ignore[attr-defined]
            if not block:
                break
            fh.write(block)  # type: ignore[attr-defined]
            n += len(block)
            bar.update(len(block))
    return n


def fetch(url: str, dst: str | os.PathLike[str], *, md5: str | None = None, sha256_prefix: str | None = None,
          progress: bool = True, fix: str = "") -> Path:
    """Download ``url`` to ``dst`` atomically and verify it; returns ``dst``.

    Raises :class:`DownloadError` (one line: what failed, the URL, then ``fix``, the command that
    fetches it elsewhere) on any network error, HTTP error, short transfer or checksum mismatch; the
    temporary file is removed and ``dst`` is never created in that case. Never called offline."""
    dst = Path(dst)
    real_url = effective_url(url)
    suffix = f"; {fix}" if fix else ""
    if url in _FAILED:
        raise DownloadError(f"could not download {dst.name} from {url}: {_FAILED[url]} (failed earlier){suffix}")
    try:
        with atomic_path(dst) as tmp:
            request = urllib.request.Request(real_url, headers={"User-Agent": USER_AGENT})
            with urllib.request.urlopen(request, timeout=timeout_s()) as response, open(tmp, "wb") as fh:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                got = _copy(response, fh, total, dst.name, progress)
            if total is not None and got != total:
                raise DownloadError(f"truncated transfer ({got} of {total} bytes)")
            if md5 is not None and (digest := file_digest(tmp, "md5")) != md5:
                raise DownloadError(f"MD5 {digest} does not match the expected {md5}")
            if sha256_prefix is not None and not (digest := file_digest(tmp, "sha256")).startswith(sha256_prefix):
                raise DownloadError(f"SHA-256 {digest[:16]}… does not start with the expected {sha256_prefix}")
    except DownloadError as err:
        raise DownloadError(f"could not download {dst.name} from {url}: {err}{suffix}") from None
    except (OSError, http.client.HTTPException, ValueError) as err:  # refused, DNS, timeout, HTTP status, short read
        reason = _first_line(err)
        if isinstance(err, urllib.error.HTTPError):
            reason = f"HTTP {err.code} {err.reason}"
        elif isinstance(err, http.client.HTTPException):
            reason = f"truncated transfer ({type(err).__name__})"
        else:
            _FAILED[url] = reason  # the network is out: do not wait for it again in this process
        raise DownloadError(f"could not download {dst.name} from {url}: {reason}{suffix}") from None
    return dst
