"""Real-time factors of one student run four ways: torch fp32 / int8, ONNX Runtime fp32 / int8.

A side-by-side measurement, not a test: :func:`measure_rtf` takes a student and
:class:`SpeedSettings` and returns ``{variant: RTF}`` (processing seconds per second of
audio, the median over repeats by default; lower is faster), ready for benchmark rows such
as ``models.<name>.int8.rtf`` (``torch_int8``) and ``models.<name>.onnx.rtf`` (``onnx``).
The variants are timed in turns (one run of each, then again), so that a change in the
machine's load touches them alike; on a shared machine ``statistic="min"`` is the steadier.

Measured (random weights, 10 s, 1 thread, median of 9, AMD EPYC with AVX2, a loaded 2-core
machine: take the ratios, not the absolute values, and expect a few % of noise):

============  =======  ==========  =======  ===========
student       torch    torch_int8  onnx     onnx_int8
============  =======  ==========  =======  ===========
``dt_fbank``  0.0402   0.0313      0.0409   0.0360
``dt_cnn``    0.1296   0.1215      0.1081   0.1004
============  =======  ==========  =======  ===========

int8 speeds up the Linear layers only, so it helps the fbank student (whose time is
nearly all transformer) more than the CNN one (whose waveform CNN stays float); ONNX
Runtime's convolutions beat torch's on the CNN, its MatMuls do not beat torch's on the
transformer.

Example:
    >>> from espnet_distill.student import build_student
    >>> from espnet_distill.export.speed import SpeedSettings, measure_rtf
    >>> rtf = measure_rtf(build_student("dt_fbank"), SpeedSettings(seconds=10, threads=1))  # doctest: +SKIP
    >>> sorted(rtf)  # doctest: +SKIP
    ['onnx', 'onnx_int8', 'torch', 'torch_int8']
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import torch

from espnet_distill.common import SAMPLE_RATE, Pathlike
from espnet_distill.student import StudentModel

_LG = logging.getLogger(__name__)

#: What :func:`measure_rtf` can time.
VARIANTS = ("torch", "torch_int8", "onnx", "onnx_int8")


@dataclass
class SpeedSettings:
    """How a student is timed.

    Attributes:
        seconds: length of the (random, speech-scaled) input, batch 1.
        threads: torch intra-op threads and ONNX Runtime intra-op threads.
        repeats: timed runs per variant (after ``warmup`` untimed ones).
        warmup: untimed runs first (allocations, ORT's first-run optimisation).
        variants: a subset of :data:`VARIANTS`.
        statistic: ``"median"`` or ``"min"`` of the timed runs.
    """

    seconds: float = 10.0
    threads: int = 1
    repeats: int = 5
    warmup: int = 1
    variants: Tuple[str, ...] = VARIANTS
    statistic: str = "median"

    def __post_init__(self) -> None:
        unknown = [v for v in self.variants if v not in VARIANTS]
        if unknown:
            raise ValueError(f"SpeedSettings.variants: unknown {unknown}; choose from {', '.join(VARIANTS)}")
        if self.statistic not in ("median", "min"):
            raise ValueError(f"SpeedSettings.statistic must be 'median' or 'min', found {self.statistic!r}")
        if self.seconds * SAMPLE_RATE < 400 or self.threads < 1 or self.repeats < 1 or self.warmup < 0:
            raise ValueError(f"SpeedSettings: need seconds >= 0.025, threads >= 1, repeats >= 1, warmup >= 0; "
                             f"found {self}")


def measure_rtf(student: StudentModel, settings: Optional[SpeedSettings] = None,
                work_dir: Optional[Pathlike] = None) -> Dict[str, float]:
    """Time ``student`` (heads dropped, CPU) in each of ``settings.variants``.

    Args:
        student: the model (weights do not matter for speed; random ones are fine).
        settings: what to time (default :class:`SpeedSettings`).
        work_dir: where the ONNX files go (default: a temporary directory, removed after).

    Returns:
        ``{variant: real-time factor}`` in the order of ``settings.variants``.
    """
    settings = settings or SpeedSettings()
    with tempfile.TemporaryDirectory(prefix="espnet_distill_speed_") as tmp:
        return _measure(student.without_heads().cpu().eval(), settings, Path(work_dir or tmp))


def _measure(student: StudentModel, settings: SpeedSettings, work: Path) -> Dict[str, float]:
    from espnet_distill.student.quantize import quantize_student

    n = int(settings.seconds * SAMPLE_RATE)
    wavs = 0.1 * torch.randn(1, n, generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([n])
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    try:
        onnx_files = _onnx_files(student, work, settings.variants)
        runs = {}
        for variant in settings.variants:
            if variant.startswith("torch"):
                model = quantize_student(student) if variant == "torch_int8" else student
                runs[variant] = _torch_runner(model, wavs, lengths)
            else:
                runs[variant] = _onnx_runner(onnx_files[variant], settings.threads, wavs, lengths)
        times = _time(runs, settings)
    finally:
        torch.set_num_threads(previous_threads)
    pick = statistics.median if settings.statistic == "median" else min
    rtf = {variant: pick(t) / settings.seconds for variant, t in times.items()}
    for variant, t in times.items():
        _LG.info("%s: RTF %.4f (%s of %d runs; fastest %.4f, slowest %.4f)", variant, rtf[variant],
                 settings.statistic, len(t), min(t) / settings.seconds, max(t) / settings.seconds)
    return rtf


def _torch_runner(model, wavs, lengths) -> Callable[[], None]:
    def run():
        with torch.inference_mode():
            model(wavs, lengths)

    return run


def _onnx_files(student: StudentModel, work: Path, variants) -> Dict[str, Path]:
    """Export (and quantise) the student for the ONNX variants; files in ``work`` are overwritten."""
    from espnet_distill.export.onnx_format import export_onnx, quantize_onnx

    files: Dict[str, Path] = {}
    if any(v.startswith("onnx") for v in variants):
        files["onnx"] = export_onnx(student, work / "student.onnx")
    if "onnx_int8" in variants:
        files["onnx_int8"] = quantize_onnx(files["onnx"], work / "student.int8.onnx")
    return files


def _onnx_runner(path: Path, threads: int, wavs, lengths) -> Callable[[], None]:
    from espnet_distill.export.onnx_format import numpy_inputs, onnx_session

    session = onnx_session(path, num_threads=threads)
    feed = numpy_inputs(wavs, lengths)
    return lambda: session.run(None, feed)


def _time(runs: Dict[str, Callable[[], None]], settings: SpeedSettings) -> Dict[str, List[float]]:
    """Seconds of each timed run of each variant, the variants taking turns."""
    for run in runs.values():
        for _ in range(settings.warmup):
            run()
    times: Dict[str, List[float]] = {variant: [] for variant in runs}
    for _ in range(settings.repeats):
        for variant, run in runs.items():
            start = time.perf_counter()
            run()
            times[variant].append(time.perf_counter() - start)
    return times
