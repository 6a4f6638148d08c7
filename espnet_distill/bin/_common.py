"""Shared helpers of the entry points: logging setup and a record of what was decided."""

from __future__ import annotations

import json
import logging
import platform
import sys
from pathlib import Path
from typing import Any, Dict

LOG_FORMAT = "%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s"


def setup_logging(verbose: int = 0) -> None:
    """Log to stderr (stdout stays clean for machine-readable output)."""
    level = logging.DEBUG if verbose > 0 else logging.INFO
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr, force=True)


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


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)
