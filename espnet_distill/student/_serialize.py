"""Dataclass <-> plain-dict conversion for the student configuration.

YAML is only the serialised form of the config dataclasses: :func:`to_plain` turns a
(nested) dataclass into dicts, lists and scalars, and :func:`from_plain` builds it
back, rejecting unknown keys (with a "did you mean" hint) and values of the wrong
kind before the dataclasses' own ``__post_init__`` checks run.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from typing import Any, Dict, Mapping, Type, TypeVar

T = TypeVar("T")


def to_plain(obj: Any) -> Any:
    """Nested dataclasses, tuples and lists -> dicts, lists and scalars (YAML/JSON-safe)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    return obj


def from_plain(cls: Type[T], data: Any, where: str = "") -> T:
    """Build dataclass ``cls`` from a mapping, recursing into nested dataclass fields.

    Args:
        cls: the dataclass type.
        data: a mapping of field name -> value (nested mappings for nested configs).
        where: dotted path of ``data`` inside the whole config, for error messages.

    Raises:
        ValueError: ``data`` is not a mapping, has unknown keys, or a nested section
            is not a mapping.
    """
    label = where or cls.__name__
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise ValueError(f"{label}: expected a mapping of {cls.__name__} fields, found {type(data).__name__} {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise ValueError(_unknown_message(label, unknown, sorted(fields)))
    hints = typing.get_type_hints(cls)
    kwargs: Dict[str, Any] = {}
    for key, value in data.items():
        sub = _dataclass_in(hints[key])
        path = f"{where}.{key}" if where else key
        kwargs[key] = from_plain(sub, value, path) if sub is not None and value is not None else value
    return cls(**kwargs)


def _dataclass_in(hint: Any) -> Any:
    """The dataclass type in ``X`` or ``Optional[X]``, else ``None``."""
    if dataclasses.is_dataclass(hint):
        return hint
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is typing.Union and len(args) == 1 and dataclasses.is_dataclass(args[0]):
        return args[0]
    return None


def _unknown_message(label: str, unknown, expected) -> str:
    parts = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), expected, n=1)
        parts.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    return f"{label}: unknown key(s) {', '.join(parts)}; expected some of: {', '.join(expected)}"
