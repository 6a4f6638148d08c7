"""Real-time factors of one student run four ways: torch fp32 / int8, ONNX Runtime fp32 / int8.

:func:`variant_upstreams` makes each way an :class:`~espnet_distill.benchmark.upstreams.Upstream`
of the speed benchmark, so ``python -m espnet_distill.bin.benchmark --variants ...`` times them
beside the teacher, in its rounds (rows ``models.<name>.int8``, ``models.<name>.onnx``, ...).
:func:`measure_rtf` times one student's variants alone with the same protocol
(:func:`espnet_distill.benchmark.inference.time_upstreams`: interleaved rounds, the order rotated,
rounds disturbed by other processes run again) and returns ``{variant: RTF}`` (processing seconds
per second of audio, the median over rounds by default; lower is faster).

Measured (random weights, 10 s, 1 thread, median of 9, AMD EPYC with AVX2, a loaded 2-core
machine: take the ratios, not the absolute values, and expect a few % of noise; measured when
the variants took turns in a fixed order, before they shared the benchmark's rounds):

============  =======  =======  =======  ===========
student       fp32     int8     onnx     onnx_int8
============  =======  =======  =======  ===========
``dt_fbank``  0.0402   0.0313   0.0409   0.0360
``dt_cnn``    0.1296   0.1215   0.1081   0.1004
============  =======  =======  =======  ===========

int8 speeds up the Linear layers only, so it helps the fbank student (whose time is
nearly all transformer) more than the CNN one (whose waveform CNN stays float); ONNX
Runtime's convolutions beat torch's on the CNN, its MatMuls do not beat torch's on the
transformer.

Example:
    >>> from espnet_distill.student import build_student
    >>> from espnet_distill.export.speed import SpeedSettings, measure_rtf
    >>> rtf = measure_rtf(build_student("dt_fbank"), SpeedSettings(seconds=10, threads=1))  # doctest: +SKIP
    >>> sorted(rtf)  # doctest: +SKIP
    ['fp32', 'int8', 'onnx', 'onnx_int8']
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from espnet_distill.benchmark.inference import time_upstreams
from espnet_distill.benchmark.settings import BenchmarkSettings
from espnet_distill.benchmark.upstreams import Upstream, student_upstream
from espnet_distill.common import SAMPLE_RATE, Pathlike
from espnet_distill.student import StudentModel

_LG = logging.getLogger(__name__)

#: How a student can be timed: torch fp32, torch dynamic int8, ONNX Runtime fp32 and int8.
VARIANTS = ("fp32", "int8", "onnx", "onnx_int8")
#: What the ONNX variants import (the ``export`` extra).
ONNX_MODULES = ("onnx", "onnxscript", "onnxruntime")


@dataclass
class SpeedSettings:
    """How a student is timed.

    Attributes:
        seconds: length of the (random, speech-scaled) input, batch 1.
        threads: torch intra-op threads and ONNX Runtime intra-op threads.
        repeats: timed rounds (each runs every variant once), after ``warmup`` untimed ones.
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

    def benchmark_settings(self) -> BenchmarkSettings:
        """The benchmark's protocol at the one duration ``seconds``, without waiting for a quiet machine."""
        return BenchmarkSettings(threads=self.threads, durations=(self.seconds,), reference_duration=self.seconds,
                                 warmup=self.warmup, repeats=self.repeats, quiet_wait_s=0.0)


def missing_onnx_modules() -> List[str]:
    """Those of :data:`ONNX_MODULES` that are not installed."""
    return [m for m in ONNX_MODULES if importlib.util.find_spec(m) is None]


def resolve_variants(requested: Optional[Sequence[str]], device: str = "cpu") -> Tuple[str, ...]:
    """The variants a benchmark times: ``requested``, checked, or by default all that can run here.

    Default (``requested`` is None): every one of :data:`VARIANTS` on the CPU, less the ONNX ones
    (logged as a warning) where the ``export`` extra is missing; ``fp32`` alone on CUDA.

    Raises:
        ValueError: an unknown variant, no ``fp32`` (the row the others are reported beside), or
            another variant than ``fp32`` on ``device="cuda"`` (int8 and ONNX Runtime run on the CPU).
        ImportError: an ONNX variant is requested and the ``export`` extra is missing.
    """
    from espnet_distill.export.onnx_format import INSTALL_HINT

    if requested is None:
        if device != "cpu":
            _LG.info("int8 and ONNX Runtime run on the CPU: on %s the students are timed in fp32 only", device)
            return ("fp32",)
        if missing_onnx_modules():
            _LG.warning("no ONNX rows: %s not installed; %s", ", ".join(missing_onnx_modules()), INSTALL_HINT)
            return ("fp32", "int8")
        return VARIANTS
    variants = tuple(dict.fromkeys(requested))
    listed = ",".join(variants)
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"variants {listed}: unknown {unknown}; choose from {', '.join(VARIANTS)}")
    if "fp32" not in variants:
        raise ValueError(f"variants {listed}: fp32 is needed, the others are reported beside it")
    if device != "cpu" and len(variants) > 1:
        raise ValueError(f"variants {listed}: int8 and ONNX Runtime run on the CPU; on {device} give fp32 alone")
    missing = missing_onnx_modules() if any(v.startswith("onnx") for v in variants) else []
    if missing:
        raise ImportError(f"variants {listed}: the ONNX rows need {', '.join(missing)}: {INSTALL_HINT}")
    return variants


def variant_upstreams(name: str, student: StudentModel, variants: Sequence[str], threads: int,
                      work_dir: Pathlike) -> List[Upstream]:
    """``student`` (heads dropped, on the CPU) in each of ``variants``, as upstreams of the speed benchmark.

    ``fp32`` is the torch model itself, named ``name``. Every other variant is named
    ``<name>.<variant>``, with ``of=name``: ``int8`` is :func:`~espnet_distill.student.quantize.quantize_student`,
    ``onnx`` / ``onnx_int8`` the exported graph (:func:`~espnet_distill.export.onnx_format.export_onnx`,
    :func:`~espnet_distill.export.onnx_format.quantize_onnx`) in an ONNX Runtime session of ``threads``
    intra-op threads. ONNX Runtime runs one graph, so an ONNX upstream's ``frontend`` only makes the
    input feed and its ``encoder`` runs the whole model.

    Args:
        work_dir: where the ONNX files go (``student.onnx``, ``student.int8.onnx``; overwritten).

    Returns:
        One upstream per variant, in the order of ``variants``; ``params`` is the fp32 model's.
    """
    from espnet_distill.student.quantize import quantize_student

    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"variants: unknown {unknown}; choose from {', '.join(VARIANTS)}")
    bare = student.without_heads().cpu().eval()
    files = _onnx_files(bare, Path(work_dir), variants)
    described = f"student {bare.config.name or ''}".rstrip()
    out = []
    for variant in variants:
        if variant == "fp32":
            out.append(student_upstream(name, bare, f"{described}, torch fp32"))
            continue
        if variant == "int8":
            upstream = student_upstream(name, quantize_student(bare), f"{described}, torch dynamic int8 (Linear)")
        else:
            upstream = _onnx_upstream(files[variant], threads, bare, f"{described}, ONNX Runtime {files[variant].name}")
        out.append(dataclasses.replace(upstream, name=f"{name}.{variant}", of=name, variant=variant,
                                       params=bare.count_parameters()))
    return out


def student_variants(upstreams: Sequence[Upstream], variants: Sequence[str], threads: int,
                     work_dir: Pathlike) -> List[Upstream]:
    """The ``variants`` other than fp32 of every student among ``upstreams`` (the others are left out).

    Args:
        work_dir: the ONNX files of a student go to ``work_dir/<its name>/``.
    """
    others = [v for v in variants if v != "fp32"]
    return [variant for u in upstreams if others and isinstance(u.module, StudentModel)
            for variant in variant_upstreams(u.name, u.module, others, threads, Path(work_dir, u.name))]


def measure_rtf(student: StudentModel, settings: Optional[SpeedSettings] = None,
                work_dir: Optional[Pathlike] = None) -> Dict[str, float]:
    """Time ``student`` (heads dropped, CPU) in each of ``settings.variants``, in the benchmark's rounds.

    Args:
        student: the model (weights do not matter for speed; random ones are fine).
        settings: what to time (default :class:`SpeedSettings`).
        work_dir: where the ONNX files go (default: a temporary directory, removed after).

    Returns:
        ``{variant: real-time factor}`` in the order of ``settings.variants``.
    """
    settings = settings or SpeedSettings()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    try:
        with tempfile.TemporaryDirectory(prefix="espnet_distill_speed_") as tmp:
            upstreams = variant_upstreams("student", student, settings.variants, settings.threads, work_dir or tmp)
            times, _ = time_upstreams(upstreams, settings.benchmark_settings(), torch.device("cpu"))
    finally:
        torch.set_num_threads(previous_threads)
    pick = statistics.median if settings.statistic == "median" else min
    rtf = {}
    for upstream in upstreams:
        t = [s / settings.seconds for s in times[upstream.name][settings.seconds]["total"]]
        rtf[upstream.variant] = pick(t)
        _LG.info("%s: RTF %.4f (%s of %d rounds; fastest %.4f, slowest %.4f)", upstream.variant, pick(t),
                 settings.statistic, len(t), min(t), max(t))
    return rtf


def _onnx_files(student: StudentModel, work: Path, variants) -> Dict[str, Path]:
    """Export (and quantise) the student for the ONNX variants; files in ``work`` are overwritten."""
    from espnet_distill.export.onnx_format import export_onnx, quantize_onnx

    files: Dict[str, Path] = {}
    if any(v.startswith("onnx") for v in variants):
        work.mkdir(parents=True, exist_ok=True)
        files["onnx"] = export_onnx(student, work / "student.onnx")
    if "onnx_int8" in variants:
        files["onnx_int8"] = quantize_onnx(files["onnx"], work / "student.int8.onnx")
    return files


def _onnx_upstream(path: Path, threads: int, student: StudentModel, description: str) -> Upstream:
    """An ONNX Runtime session on ``path`` as an upstream (named later by :func:`variant_upstreams`)."""
    from espnet_distill.export.onnx_format import numpy_inputs, onnx_session

    session = onnx_session(path, num_threads=threads)

    def run(feed: dict) -> list:
        return session.run(None, feed)

    return Upstream("", description, student.count_parameters(), student, numpy_inputs, run)
