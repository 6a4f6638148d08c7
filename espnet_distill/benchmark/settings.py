"""What one speed measurement runs: device, threads, durations, repeats, and how it copes with a busy machine."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import torch

DEVICES = ("cpu", "cuda")


@dataclass
class BenchmarkSettings:
    """Settings of a speed measurement; :meth:`full` and :meth:`quick` are the two presets.

    Attributes:
        device: ``cpu`` or ``cuda`` (bf16 autocast on CUDA).
        threads: ``torch.set_num_threads`` for the whole run (the authors' speed test fixes 4).
        durations: utterance lengths in seconds for inference timing (batch 1).
        reference_duration: the duration of the per-model summary numbers and ratios.
        warmup: untimed inference runs per (model, duration) before timing.
        repeats: timed inference rounds; each round runs every model once per duration.
        max_foreign_share: a timing round during which other processes used more than this
            share of the CPUs is repeated (see ``machine.collect_rounds``).
        max_rounds: at most this many rounds per duration (default ``2 * repeats``).
        quiet_wait_s: after a disturbed round, wait up to this long (per duration, in all)
            for a quiet second before the next round.
        seed: for the random waveforms.
    """

    device: str = "cpu"
    threads: int = 2
    durations: Tuple[float, ...] = (2.0, 5.0, 10.0, 15.0)
    reference_duration: float = 10.0
    warmup: int = 1
    repeats: int = 5
    max_foreign_share: float = 0.1
    max_rounds: Optional[int] = None
    quiet_wait_s: float = 30.0
    seed: int = 0

    def __post_init__(self) -> None:
        self.durations = tuple(float(d) for d in self.durations)
        self.reference_duration = float(self.reference_duration)
        if self.device not in DEVICES:
            raise ValueError(f"device: expected one of {DEVICES}, found {self.device!r}")
        for name in ("threads", "repeats"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, found {value!r}")
        if not isinstance(self.warmup, int) or self.warmup < 0:
            raise ValueError(f"warmup: expected an integer >= 0, found {self.warmup!r}")
        if not self.durations or min(self.durations) < 0.05:
            raise ValueError(f"durations: expected seconds >= 0.05, found {self.durations}")
        if self.reference_duration not in self.durations:
            raise ValueError(
                f"reference_duration {self.reference_duration} must be one of the durations {self.durations}"
            )
        if self.max_rounds is not None and (not isinstance(self.max_rounds, int) or self.max_rounds < 1):
            raise ValueError(f"max_rounds: expected None or an integer >= 1, found {self.max_rounds!r}")
        if not 0 < self.max_foreign_share <= 1:
            raise ValueError(f"max_foreign_share: expected a share in (0, 1], found {self.max_foreign_share!r}")

    @classmethod
    def full(cls, device: str = "cpu", threads: int = 2) -> "BenchmarkSettings":
        """The documented run: 2/5/10/15 s utterances, 5 rounds."""
        return cls(device=device, threads=threads)

    @classmethod
    def quick(cls, device: str = "cpu", threads: int = 2) -> "BenchmarkSettings":
        """CI: 1 and 2 s, 2 rounds, no waiting; every number is produced, none is meaningful."""
        return cls(device=device, threads=threads, durations=(1.0, 2.0), reference_duration=2.0, repeats=2,
                   max_rounds=2, quiet_wait_s=0.0)

    @property
    def autocast_dtype(self) -> Optional[torch.dtype]:
        """bf16 on CUDA, none on CPU."""
        return torch.bfloat16 if self.device == "cuda" else None

    def to_dict(self) -> Dict[str, Any]:
        """Every field (tuples as lists) and ``autocast``, for the report."""
        data = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}
        data["autocast"] = "bf16" if self.device == "cuda" else "none"
        return data


def check_device(device: str) -> torch.device:
    """The torch device for ``device``; a clear error when CUDA is asked for but absent.

    Raises:
        RuntimeError: ``device`` is ``cuda`` and ``torch.cuda.is_available()`` is False.
    """
    if device not in DEVICES:
        raise ValueError(f"device: expected one of {DEVICES}, found {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "--device cuda needs a CUDA GPU, but torch.cuda.is_available() is False "
            f"(torch {torch.__version__}, built for CUDA {torch.version.cuda or 'none'}); "
            "run with --device cpu, or on a machine with a GPU and a CUDA build of torch"
        )
    return torch.device(device)
