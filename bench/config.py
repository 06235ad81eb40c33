"""Typed configuration: dataclass defaults, ``--set key=value`` overrides, protocols.

Resolution order for a model config (later wins): the dataclass defaults (the paper's
values), the model's per-dataset defaults (e.g. AVAE §V's β per dataset), the ``paper``
protocol preset when asked for, then the user's ``--set`` overrides.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from bench.errors import ConfigError

PROTOCOLS = ("fair", "paper")
PRECISIONS = ("fp32", "bf16")  # of training (autocast) and of the metrics' feature extractors


def check_precision(value: object, key: str) -> str:
    """``value`` if it is one of :data:`PRECISIONS`, else a one-line :class:`ConfigError` naming ``key``."""
    if value not in PRECISIONS:
        raise ConfigError(f"bad value for {key}: {value!r} (fp32 or bf16)")
    return str(value)

T = TypeVar("T")

# Lower bounds of the run options (RunSpec fields, ``train`` options and sweep-file keys), checked by
# :func:`check_run_option` for the command line and the sweep files alike (one rule, one message).
# torch CPU threads per run, the one default of ``train`` and of every sweep executor: a CPU result is
# reproducible at the same thread count (it sets the order of float reductions); config.json records it.
DEFAULT_THREADS = 1
RUN_OPTION_MINIMUM: dict[str, int] = {"seed": 0, "steps": 1, "n_eval": 1, "log_every": 1, "checkpoint_every": 1,
                                      "threads": 1, "parallel": 1, "critic_steps": 1, "curve_every": 1}


def check_run_option(key: str, value: Any) -> int:
    """``value`` as an int if it is an integer >= the option's minimum, else a one-line :class:`ConfigError`:
    ``bad value for log_every: 0 (must be >= 1)``."""
    number = coerce(key, value, int)
    minimum = RUN_OPTION_MINIMUM[key]
    if number < minimum:
        raise ConfigError(f"bad value for {key}: {value!r} (must be >= {minimum})")
    return number


def check_choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``, else a one-line :class:`ConfigError` naming ``key``."""
    if value not in choices:
        raise ConfigError(f"bad value for {key}: {value!r} (choose from {', '.join(choices)})")
    return str(value)


def bounded(default: Any, *, ge: float | None = None, gt: float | None = None, le: float | None = None,
            lt: float | None = None) -> Any:
    """A dataclass field with declared bounds, checked by :func:`override` for every source of values
    (``--set``, sweep files, dataset defaults, presets): ``beta: float = bounded(1.0, ge=0)``."""
    bounds = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt)) if v is not None}
    return dataclasses.field(default=default, metadata={"bounds": bounds})


_BOUND_TEXT = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
_BOUND_OK = {"ge": lambda v, b: v >= b, "gt": lambda v, b: v > b, "le": lambda v, b: v <= b, "lt": lambda v, b: v < b}


def check_fields(cfg: Any) -> None:
    """Generic checks of a config dataclass: every float is finite (NaN or inf would only surface as a
    diverged run at step 1) and every field declared with :func:`bounded` is within its bounds."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        numbers = value if isinstance(value, tuple) else (value,)
        for v in numbers:
            if isinstance(v, float) and not math.isfinite(v):
                raise ConfigError(f"bad value for {f.name}: {v} (must be a finite number)")
        for kind, limit in f.metadata.get("bounds", {}).items():
            if isinstance(value, (int, float)) and not _BOUND_OK[kind](value, limit):
                raise ConfigError(f"bad value for {f.name}: {value} (must be {_BOUND_TEXT[kind]} {limit})")


def parse_assignments(items: list[str] | None, option: str = "--set") -> dict[str, str]:
    """``["a=1", "b=x"]`` → ``{"a": "1", "b": "x"}``; a malformed item or a key given twice
    (``--set width=8 --set width=16``: which one was meant?) is a :class:`ConfigError` naming ``option``."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} expects key=value, got {item!r}")
        key = key.strip()
        if key in out:
            raise ConfigError(f"{option} {key} given twice ({key}={out[key]} and {key}={value.strip()}): give it once")
        out[key] = value.strip()
    return out


def coerce(key: str, text: Any, annotation: Any) -> Any:
    """Convert ``text`` to ``annotation`` (int, float, bool, str, Literal, tuple, Optional).

    Raises a :class:`ConfigError` naming ``key`` when the value does not fit the type.
    Non-string values (from YAML sweeps) are checked the same way.
    """
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if text is None or (isinstance(text, str) and text.lower() in ("none", "null")):
            return None
        errors = []
        for arg in args:
            try:
                return coerce(key, text, arg)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0])
    if origin is Literal:
        choices = get_args(annotation)
        value = text if not isinstance(text, str) else text
        for choice in choices:
            if str(choice) == str(value):
                return choice
        raise ConfigError(f"bad value for {key}: {text!r} (choose from {', '.join(map(str, choices))})")
    if origin is tuple:
        args = get_args(annotation)
        parts = text if isinstance(text, (list, tuple)) else [p for p in str(text).strip("()[] ").split(",") if p.strip()]
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(coerce(key, p, args[0]) for p in parts)
        if len(parts) != len(args):
            raise ConfigError(f"bad value for {key}: {text!r} (expected {len(args)} comma-separated values)")
        return tuple(coerce(key, p, a) for p, a in zip(parts, args, strict=True))
    if annotation is bool:
        if isinstance(text, bool):
            return text
        low = str(text).lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"bad value for {key}: {text!r} (expected true or false)")
    if annotation is int:
        if isinstance(text, bool):
            raise ConfigError(f"bad value for {key}: {text!r} (expected an integer)")
        try:
            as_float = float(text)
        except (TypeError, ValueError):
            raise ConfigError(f"bad value for {key}: {text!r} (expected an integer)") from None
        if not as_float.is_integer():
            raise ConfigError(f"bad value for {key}: {text!r} (expected an integer)")
        return int(as_float)
    if annotation is float:
        if isinstance(text, bool):
            raise ConfigError(f"bad value for {key}: {text!r} (expected a number)")
        try:
            return float(text)
        except (TypeError, ValueError):
            raise ConfigError(f"bad value for {key}: {text!r} (expected a number)") from None
    if annotation is str:
        return str(text)
    raise ConfigError(f"{key}: cannot set a value of type {annotation}")


def field_types(cls: type) -> dict[str, Any]:
    """Resolved annotations of a dataclass, by field name."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def override(cfg: T, values: dict[str, Any], *, source: str = "--set") -> T:
    """Return a copy of dataclass ``cfg`` with ``values`` applied, each type-checked.

    An unknown key is a :class:`ConfigError` naming it and the valid keys.
    """
    types_by_name = field_types(type(cfg))
    changes: dict[str, Any] = {}
    for key, text in values.items():
        if key not in types_by_name:
            known = ", ".join(sorted(types_by_name))
            raise ConfigError(f"unknown key {key!r} in {source} for {type(cfg).__name__}; valid keys: {known}")
        changes[key] = coerce(key, text, types_by_name[key])
    new = dataclasses.replace(cfg, **changes)
    check_fields(new)
    validate = getattr(new, "validate", None)
    if callable(validate):
        validate()
    return new


def to_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-ready dict of a dataclass (tuples become lists)."""
    return dataclasses.asdict(cfg)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild dataclass ``cls`` from :func:`to_dict` output, type-checking each field."""
    return override(cls(), data, source="config.json")
