"""Shared helpers of the entry points: logging setup and a record of what was decided."""

from __future__ import annotations

import logging
import sys

from espnet_distill.common import package_versions, write_json  # noqa: F401  (re-exported)

LOG_FORMAT = "%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s"


def setup_logging(verbose: int = 0) -> None:
    """Log to stderr (stdout stays clean for machine-readable output)."""
    level = logging.DEBUG if verbose > 0 else logging.INFO
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr, force=True)


