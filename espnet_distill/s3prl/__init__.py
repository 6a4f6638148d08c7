"""Distilled students as s3prl upstreams: expert, hub entries, registration, compat shims.

Example:
    >>> from espnet_distill.s3prl import register
    >>> register()
    ['distill_student_local', 'distill_student_url', 'distill_student_custom']
    >>> from s3prl.nn import S3PRLUpstream
    >>> "distill_student_local" in S3PRLUpstream.available_names()
    True
"""

from __future__ import annotations

import difflib
import logging
from typing import List

from espnet_distill.s3prl.compat import apply_compat, apply_import_shims
from espnet_distill.s3prl.expert import UpstreamExpert
from espnet_distill.s3prl.hubconf import ENTRIES, distill_student_custom, distill_student_local, distill_student_url

_LG = logging.getLogger(__name__)

#: The upstream names this package adds to ``s3prl.hub``.
UPSTREAM_NAMES = tuple(ENTRIES)

__all__ = [
    "UPSTREAM_NAMES",
    "UpstreamExpert",
    "apply_compat",
    "check_upstream_name",
    "distill_student_custom",
    "distill_student_local",
    "distill_student_url",
    "register",
]


def register() -> List[str]:
    """Add the student entries to ``s3prl.hub`` (attribute assignment; s3prl is not edited).

    Idempotent. Must run before an upstream is looked up, i.e. before ESPnet builds a
    model with ``frontend: s3prl`` (the entry modules and ``espnet-distill-python`` do it).

    Returns:
        The registered names.

    Raises:
        ValueError: ``s3prl.hub`` already has one of the names bound to something else.
    """
    apply_import_shims()
    import s3prl.hub as hub

    for name, entry in ENTRIES.items():
        existing = getattr(hub, name, None)
        if existing is entry:
            continue
        if existing is not None and not _same_function(existing, entry):
            raise ValueError(
                f"s3prl.hub.{name} is already bound to {_describe(existing)}; refusing to replace it "
                f"with {_describe(entry)}"
            )
        setattr(hub, name, entry)
        _LG.debug("registered s3prl upstream %s", name)
    return list(ENTRIES)


def register_hub_module(hub) -> None:
    """:func:`register` right after ``s3prl.hub`` has been imported (the import hook's call)."""
    register()


def check_upstream_name(name: str) -> None:
    """Raise a ValueError naming the choices when ``name`` is not an ``s3prl.hub`` entry.

    Call after :func:`register`.
    """
    import s3prl.hub as hub

    options = hub.options()
    if name in options:
        return
    close = difflib.get_close_matches(name, options, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise ValueError(
        f"unknown s3prl upstream {name!r}{hint}. The students are {', '.join(UPSTREAM_NAMES)} "
        f"(with a checkpoint path or URL); s3prl itself has {len(options) - len(UPSTREAM_NAMES)} more "
        "(s3prl.nn.S3PRLUpstream.available_names())"
    )


def _same_function(a, b) -> bool:
    """True for the same function from a reloaded module."""
    return getattr(a, "__module__", None) == b.__module__ and getattr(a, "__qualname__", None) == b.__qualname__


def _describe(obj) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
