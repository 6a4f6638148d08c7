"""Command-line entry points, run as ``python -m espnet_distill.bin.<verb>``."""
