"""Small things every layer shares: atomic file writes, JSON, checksums, package versions.

Nothing here imports torch, ESPnet or another module of this package, so any module
(the library, the entry points under :mod:`espnet_distill.bin`, the recipes' helpers) may
import it without creating a cycle.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Any, Callable, Dict, Union

Pathlike = Union[str, Path]
#: Sampling rate of every model here (HuBERT-family teachers and their students), in Hz.
SAMPLE_RATE = 16000


def atomic_write(path: Pathlike, write: Callable[[Path], Any]) -> Path:
    """Create ``path`` by calling ``write(tmp)`` on a temporary file in the same directory and
    renaming it, so a reader (or a run killed mid-write) never sees a partial file. The only
    atomic write of the package: every file it writes goes through here."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}{path.suffix}")  # writers may look at the suffix
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_bytes(path: Pathlike, data: bytes) -> Path:
    """:func:`atomic_write` of ``data``."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: Pathlike, text: str) -> Path:
    """:func:`atomic_write_bytes` of UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: Pathlike, data: Any) -> Path:
    """Write ``data`` as indented JSON (non-JSON values as ``str``), atomically."""
    return atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def sha256_file(path: Pathlike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def package_versions() -> Dict[str, str]:
    """Versions of the packages a result depends on."""
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for dist in ("espnet-distill", "espnet", "espnet-s3prl", "torch", "torchaudio", "numpy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions
