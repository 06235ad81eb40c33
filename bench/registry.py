"""Small, explicit registries: a name maps to a lazily imported factory and a one-line description.

Each registry line names ``"module:attribute"`` so that ``bench list`` is cheap and adding
an entry never edits a central switch (the idea of torch-fidelity's ``registry.py``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bench.errors import UnknownNameError


@dataclass(frozen=True)
class Entry:
    """One registered name: where its factory lives and what it is."""

    name: str
    target: str  # "package.module:attribute"
    description: str

    def load(self) -> Any:
        """Import and return the factory (class or function)."""
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)


class Registry:
    """A validated name → factory table; unknown names fail with the known ones."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, target: str, description: str) -> None:
        """Add ``name``; registering the same name twice is a programming error."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        if ":" not in target:
            raise ValueError(f"{self.kind} {name!r}: target must be 'module:attribute'")
        self._entries[name] = Entry(name, target, description)

    def entry(self, name: str) -> Entry:
        """The entry for ``name`` or an :class:`UnknownNameError` listing the known names."""
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries))
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known {self.kind}s: {known}") from None

    def get(self, name: str) -> Any:
        """The loaded factory registered under ``name``."""
        return self.entry(name).load()

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def __len__(self) -> int:
        return len(self._entries)
