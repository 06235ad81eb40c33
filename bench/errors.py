"""User-facing errors: one clear line, exit code 2 (see bench.cli)."""

from __future__ import annotations


class BenchError(Exception):
    """A problem with the user's input or environment (unknown name, bad value,
    missing data or weights). The CLI prints ``str(err)`` on one line and exits 2."""

    exit_code = 2


class UnknownNameError(BenchError, KeyError):
    """A name that is not in a registry; the message lists the known names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class ConfigError(BenchError, ValueError):
    """A bad configuration key or value; the message names the key."""


class MissingResourceError(BenchError, FileNotFoundError):
    """Data or weights not on disk; the message names the path and the command that fetches it."""

    def __str__(self) -> str:
        return str(self.args[0])
