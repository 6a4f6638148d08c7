"""One benchmark run, end to end: teacher files, inference timing, distillation steps."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Optional

import torch

from espnet_distill.benchmark.distill import run_distill_benchmark
from espnet_distill.benchmark.inference import run_inference_benchmark
from espnet_distill.benchmark.machine import describe_machine, load_average
from espnet_distill.benchmark.scales import get_scale
from espnet_distill.benchmark.settings import BenchmarkSettings, check_device
from espnet_distill.benchmark.upstreams import build_upstreams, write_teacher_files

_LG = logging.getLogger(__name__)


def run_benchmark(settings: BenchmarkSettings, workdir: Optional[Path] = None) -> Dict[str, Any]:
    """Run every measurement of ``settings`` and return the report (see :mod:`.report`).

    Args:
        settings: what to run.
        workdir: where the teacher checkpoints go (a temporary directory if None).

    Raises:
        RuntimeError: ``settings.device`` is ``cuda`` without a CUDA device.
    """
    device = check_device(settings.device)
    torch.set_num_threads(settings.threads)
    started = time.perf_counter()
    scale = get_scale(settings.scale)
    report: Dict[str, Any] = {"machine": describe_machine(device), "settings": settings.to_dict()}
    with tempfile.TemporaryDirectory(prefix="espnet_distill_bench_") as tmp:
        files = write_teacher_files(scale, Path(workdir) if workdir else Path(tmp), settings.seed)
        _LG.info("teacher (%s): %s", scale.name, scale.teacher.describe())
        upstreams = build_upstreams(scale, files, device)
        inference = run_inference_benchmark(upstreams, settings, device)
        del upstreams
        rounds = {"inference": inference.pop("inference_rounds")}
        report.update(inference)
        report["distill_step"] = run_distill_benchmark(scale, files, settings, device)
        rounds["distill_step"] = report["distill_step"].pop("rounds")
        report["timing_rounds"] = rounds
    report["machine"]["load_average_end"] = load_average()
    report["wall_seconds"] = time.perf_counter() - started
    return report
