"""Follow a running ESPnet Trainer through its ``train.log`` and show a progress bar.

ESPnet's Trainer reports to its log (``<E>epoch:train:<a>-<b>batch: k=v, ...`` every few
batches, ``<E>epoch results: ...`` after each epoch) and writes the resolved ``config.yaml``
into its output directory first. A recipe that sends the trainer's output to a file still
wants to see how far a 15-minute stage has got: :func:`follow_training` turns those lines into
a tqdm bar over all ``max_epoch x num_iters_per_epoch`` updates (whole epochs when the config
has no ``num_iters_per_epoch``), starting from where a resumed run already is.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Optional, TextIO, Union

import yaml

from espnet_distill.report.espnet_logs import parse_stats

logger = logging.getLogger(__name__)

_BATCH = re.compile(r"(\d+)epoch:train:(\d+)-(\d+)batch: (.*)$", re.MULTILINE)
_RESULTS = re.compile(r"(\d+)epoch results: ", re.MULTILINE)


@dataclass
class TrainingPlan:
    """What the trainer will do, from its ``config.yaml``: ``max_epoch`` epochs of
    ``iters_per_epoch`` updates (None: epochs run over the whole data, length unknown)."""

    max_epoch: int
    iters_per_epoch: Optional[int]

    @classmethod
    def from_config(cls, path: Union[str, Path]) -> "TrainingPlan":
        with open(path) as f:
            conf = yaml.safe_load(f) or {}
        try:
            max_epoch = int(conf["max_epoch"])
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path}: expected an ESPnet training config with an integer max_epoch") from err
        iters = conf.get("num_iters_per_epoch")
        return cls(max_epoch, int(iters) if iters else None)

    @property
    def total(self) -> int:
        """Length of the bar: updates, or epochs when ``iters_per_epoch`` is None."""
        return self.max_epoch * (self.iters_per_epoch or 1)


@dataclass
class TrainingPosition:
    """How far the log says training has got. ``epoch`` counts from 1 (0: nothing logged yet);
    ``batches`` are the updates of that epoch done so far; ``finished`` tells whether its
    ``results`` line was written; ``stats`` are the newest ``k=v`` values of a batch line."""

    epoch: int = 0
    batches: int = 0
    finished: bool = False
    stats: Dict[str, float] = field(default_factory=dict)

    def done(self, plan: TrainingPlan) -> int:
        """Position on the bar of ``plan`` (updates, or finished epochs)."""
        if plan.iters_per_epoch is None:
            return self.epoch if self.finished else max(self.epoch - 1, 0)
        if self.finished:
            return self.epoch * plan.iters_per_epoch
        return max(self.epoch - 1, 0) * plan.iters_per_epoch + min(self.batches, plan.iters_per_epoch)


def training_position(text: str) -> TrainingPosition:
    """The newest position in trainer log text (logs appended over resumed runs: the last line wins)."""
    last_batch = max(_BATCH.finditer(text), key=lambda m: m.start(), default=None)
    last_results = max(_RESULTS.finditer(text), key=lambda m: m.start(), default=None)
    pos = TrainingPosition(stats=parse_stats(last_batch.group(4)) if last_batch else {})
    if last_batch is not None and (last_results is None or last_batch.start() > last_results.start()):
        pos.epoch, pos.batches = int(last_batch.group(1)), int(last_batch.group(3))
    elif last_results is not None:
        pos.epoch, pos.finished = int(last_results.group(1)), True
    return pos


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def follow_training(
    output_dir: Union[str, Path],
    alive: Callable[[], bool],
    desc: str = "training",
    log_offset: Optional[int] = None,
    poll: float = 2.0,
    stream: Optional[TextIO] = None,
    show: tuple = ("loss",),
) -> TrainingPosition:
    """Show a tqdm bar for the trainer writing ``output_dir/train.log`` while ``alive()`` is true.

    ``log_offset``: bytes of ``train.log`` that earlier runs wrote (a resumed run appends); the
    bar starts after the last epoch they finished. None: the log's size when this is called.
    Waits for ``config.yaml`` to learn the plan; returns the last position seen.
    """
    from tqdm import tqdm

    output_dir = Path(output_dir)
    log, config = output_dir / "train.log", output_dir / "config.yaml"
    stream = stream or sys.stderr
    old = log.read_bytes() if log.is_file() else b""
    old = old[: len(old) if log_offset is None else log_offset]
    plan = None
    while plan is None:
        running = alive()
        try:
            plan = TrainingPlan.from_config(config)
        except (OSError, yaml.YAMLError, ValueError):
            if not running:
                if config.is_file():
                    raise
                return TrainingPosition()
            time.sleep(poll)  # not written yet, or being written
    unit = "update" if plan.iters_per_epoch else "epoch"
    interactive = hasattr(stream, "isatty") and stream.isatty()
    last = max(_RESULTS.finditer(old.decode(errors="replace")), key=lambda m: m.start(), default=None)
    start = TrainingPosition(epoch=int(last.group(1)), finished=True) if last else TrainingPosition()
    pos, offset, text = start, len(old), ""
    bar = tqdm(total=plan.total, initial=min(start.done(plan), plan.total), desc=desc, unit=unit, file=stream,
               dynamic_ncols=True, mininterval=1.0 if interactive else 60.0)
    try:
        while True:
            running = alive()
            if log.is_file():
                with open(log, "rb") as f:
                    f.seek(offset)
                    chunk = f.read().decode(errors="replace")
                    offset = f.tell()
                # the newest lines are enough: the position needs the last batch and results lines
                text = (text + chunk)[-200_000:]
                new = training_position(text)
                if new.epoch:
                    pos = new
            done = min(pos.done(plan), plan.total)
            postfix = {"epoch": f"{pos.epoch}/{plan.max_epoch}"}
            postfix.update({k: f"{pos.stats[k]:.3g}" for k in show if k in pos.stats})
            bar.set_postfix(postfix, refresh=False)
            bar.update(done - bar.n)
            if not running:
                return pos
            time.sleep(poll)
    finally:
        bar.close()
