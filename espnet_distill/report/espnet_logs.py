"""Read the per-epoch statistics ESPnet's Trainer logs (``<N>epoch results: [train] ... [valid] ...``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Union

_EPOCH = re.compile(r"(\d+)epoch results: \[train\] (.*?), \[valid\] (.*?)(?:, \[att_plot\].*)?$", re.MULTILINE)
_STAT = re.compile(r"(\w+)=([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf)")


def parse_stats(text: str) -> Dict[str, float]:
    """``k=v, k=v`` -> floats (durations such as ``time=2 minutes`` are skipped)."""
    return {k: float(v) for k, v in _STAT.findall(text)}


def epoch_results_from_text(text: str) -> Dict[int, Dict[str, Dict[str, float]]]:
    """``{epoch: {"train": stats, "valid": stats}}`` from trainer log text.

    A resumed run logs each epoch once, in the run that trained it; if an epoch appears
    twice (logs appended across runs), the last one wins.
    """
    out: Dict[int, Dict[str, Dict[str, float]]] = {}
    for m in _EPOCH.finditer(text):
        out[int(m.group(1))] = {"train": parse_stats(m.group(2)), "valid": parse_stats(m.group(3))}
    return dict(sorted(out.items()))


def epoch_results(log: Union[str, Path]) -> Dict[int, Dict[str, Dict[str, float]]]:
    """:func:`epoch_results_from_text` of a log file."""
    return epoch_results_from_text(Path(log).read_text(errors="replace"))


def training_logs(exp_dir: Union[str, Path]) -> List[Path]:
    """The trainer logs of an experiment, oldest first: ``train.N.log`` ... ``train.1.log``
    (earlier runs, kept by espnet2.bin.launch and the recipes when a run resumes), ``train.log``."""
    exp_dir = Path(exp_dir)
    rotated = sorted(exp_dir.glob("train.*.log"), key=lambda p: -int(p.name.split(".")[1])
                     if p.name.split(".")[1].isdigit() else 0)
    rotated = [p for p in rotated if p.name.split(".")[1].isdigit()]
    return rotated + ([exp_dir / "train.log"] if (exp_dir / "train.log").is_file() else [])


def experiment_epoch_results(exp_dir: Union[str, Path]) -> Dict[int, Dict[str, Dict[str, float]]]:
    """:func:`epoch_results` over all :func:`training_logs` of an experiment (a later run's
    report of an epoch wins)."""
    out: Dict[int, Dict[str, Dict[str, float]]] = {}
    for log in training_logs(exp_dir):
        out.update(epoch_results(log))
    return dict(sorted(out.items()))
