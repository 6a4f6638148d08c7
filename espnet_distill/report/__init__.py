"""Reports of recipe runs: what was trained, how well, how fast."""

from espnet_distill.report.build import build_report

__all__ = ["build_report"]
