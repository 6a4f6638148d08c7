"""What one benchmark run measures: device, threads, durations, batch, repeats."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import torch

from espnet_distill.benchmark.scales import SCALES

DEVICES = ("cpu", "cuda")


@dataclass
class BenchmarkSettings:
    """Settings of a benchmark run; :meth:`full` and :meth:`quick` are the two presets.

    Attributes:
        device: ``cpu`` or ``cuda`` (bf16 autocast on CUDA).
        threads: ``torch.set_num_threads`` for the whole run (the authors' speed test fixes 4).
        scale: model sizes, ``base`` (HuBERT Base and the full-size students) or ``tiny`` (CI).
        durations: utterance lengths in seconds for inference timing (batch 1).
        reference_duration: the duration of the per-model summary numbers and ratios.
        warmup: untimed inference runs per (model, duration) before timing.
        repeats: timed inference rounds; each round runs every model once per duration.
        step_seconds: utterance lengths (seconds) of the distillation-step batch.
        step_warmup: untimed distillation steps per variant.
        step_repeats: timed rounds of distillation steps (each round: every variant once).
        memory_steps: steps run in the fresh process that measures peak memory.
        max_foreign_share: a timing round during which other processes used more than this
            share of the CPUs is repeated (see ``machine.collect_rounds``).
        max_rounds: at most this many rounds per duration / for the steps (default
            ``2 * repeats``).
        quiet_wait_s: after a disturbed round, wait up to this long (per duration and for
            the steps, in all) for a quiet second before the next round.
        dt_fbank_disc_weight: lambda of L_disc in the D&T-fbank step ("w_kl" in the authors' checkpoint names).
        seed: for the random weights and waveforms.
    """

    device: str = "cpu"
    threads: int = 2
    scale: str = "base"
    durations: Tuple[float, ...] = (2.0, 5.0, 10.0, 15.0)
    reference_duration: float = 10.0
    warmup: int = 1
    repeats: int = 5
    step_seconds: Tuple[float, ...] = (4.0, 3.5, 3.0, 2.5)
    step_warmup: int = 1
    step_repeats: int = 5
    memory_steps: int = 2
    max_foreign_share: float = 0.1
    max_rounds: Optional[int] = None
    quiet_wait_s: float = 30.0
    dt_fbank_disc_weight: float = 0.4
    seed: int = 0

    def __post_init__(self) -> None:
        self.durations = tuple(float(d) for d in self.durations)
        self.step_seconds = tuple(float(s) for s in self.step_seconds)
        self.reference_duration = float(self.reference_duration)
        if self.device not in DEVICES:
            raise ValueError(f"device: expected one of {DEVICES}, found {self.device!r}")
        if self.scale not in SCALES:
            raise ValueError(f"scale: expected one of {SCALES}, found {self.scale!r}")
        for name in ("threads", "repeats", "step_repeats", "memory_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, found {value!r}")
        for name in ("warmup", "step_warmup"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ValueError(f"{name}: expected an integer >= 0, found {getattr(self, name)!r}")
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
        if not self.step_seconds or min(self.step_seconds) < 0.05:
            raise ValueError(f"step_seconds: expected seconds >= 0.05, found {self.step_seconds}")

    @classmethod
    def full(cls, device: str = "cpu", threads: int = 2) -> "BenchmarkSettings":
        """The documented run: full-size models, 2/5/10/15 s, 5 rounds, a 4-utterance (13 s) batch."""
        return cls(device=device, threads=threads)

    @classmethod
    def quick(cls, device: str = "cpu", threads: int = 2) -> "BenchmarkSettings":
        """CI: tiny models, 1 and 2 s, 2 rounds; every number is produced, none is meaningful."""
        return cls(
            device=device,
            threads=threads,
            scale="tiny",
            durations=(1.0, 2.0),
            reference_duration=2.0,
            warmup=1,
            repeats=2,
            step_seconds=(1.5, 1.0),
            step_warmup=1,
            step_repeats=2,
            memory_steps=1,
            max_rounds=2,
            quiet_wait_s=0.0,
        )

    @property
    def autocast_dtype(self) -> Optional[torch.dtype]:
        """bf16 on CUDA, none on CPU."""
        return torch.bfloat16 if self.device == "cuda" else None

    def to_dict(self) -> Dict[str, Any]:
        data = dataclasses.asdict(self)
        data["durations"] = list(self.durations)
        data["step_seconds"] = list(self.step_seconds)
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
