"""Our presets and our distillation step against s3prl's DistilHuBERT: inference speed, step time, peak memory.

Usage (from the root of a source checkout, with the package installed):
    python benchmarks/compare_s3prl.py --threads 2 --json exp/bench/cpu.json
    python benchmarks/compare_s3prl.py --quick --json /tmp/bench.json      # CI: tiny models, every key
    python benchmarks/compare_s3prl.py --device cuda --json exp/bench/gpu.json

Inference is timed with the package's speed protocol (:mod:`espnet_distill.benchmark`) on a random
HuBERT Base teacher, the four student presets and s3prl's DistilHuBERT; a full distillation step of
our ``DistillModel`` is timed against s3prl's pre-training step, and their peak memory measured in
fresh processes. Prints the markdown tables on stdout (progress and logs go to stderr), writes the
JSON report (``--json``) and a PNG chart (``--png``, default: the JSON path with ``.png``).
What is measured and how: ``docs/benchmarks.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: import the harness from the checkout (not from benchmarks/ itself)
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import dataclasses
import logging
import math
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple

import torch

from benchmarks.distill import run_distill_benchmark
from benchmarks.models import build_upstreams, write_teacher_files
from benchmarks.report import REQUIRED_KEYS, lookup, markdown, plot
from benchmarks.scales import SCALES, get_scale
from espnet_distill.benchmark import BenchmarkSettings, check_device
from espnet_distill.benchmark.inference import run_inference_benchmark
from espnet_distill.benchmark.machine import describe_machine, load_average
from espnet_distill.bin._common import setup_logging, write_json
from espnet_distill.bin.benchmark import add_speed_options, build_settings

_LG = logging.getLogger(__name__)

#: every speed-up is given over the teacher and over D&T-CNN, the CNN model of the authors' speed test
BASELINES = ("teacher", "dt_cnn")


@dataclasses.dataclass
class ComparisonSettings(BenchmarkSettings):
    """:class:`~espnet_distill.benchmark.BenchmarkSettings` plus the models and the distillation step.

    Attributes:
        scale: model sizes, ``base`` (HuBERT Base and the full-size students) or ``tiny`` (CI).
        step_seconds: utterance lengths (seconds) of the distillation-step batch.
        step_warmup: untimed distillation steps per variant.
        step_repeats: timed rounds of distillation steps (each round: every variant once).
        memory_steps: steps run in the fresh process that measures peak memory.
        dt_fbank_disc_weight: lambda of L_disc in the D&T-fbank step ("w_kl" in the authors' checkpoint names).
    """

    scale: str = "base"
    step_seconds: Tuple[float, ...] = (4.0, 3.5, 3.0, 2.5)
    step_warmup: int = 1
    step_repeats: int = 5
    memory_steps: int = 2
    dt_fbank_disc_weight: float = 0.4

    def __post_init__(self) -> None:
        super().__post_init__()
        self.step_seconds = tuple(float(s) for s in self.step_seconds)
        if self.scale not in SCALES:
            raise ValueError(f"scale: expected one of {SCALES}, found {self.scale!r}")
        for name, least in (("step_repeats", 1), ("memory_steps", 1), ("step_warmup", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < least:
                raise ValueError(f"{name}: expected an integer >= {least}, found {value!r}")
        if not self.step_seconds or min(self.step_seconds) < 0.05:
            raise ValueError(f"step_seconds: expected seconds >= 0.05, found {self.step_seconds}")

    @classmethod
    def quick(cls, device: str = "cpu", threads: int = 2) -> "ComparisonSettings":
        """CI: tiny models, 1 and 2 s, 2 rounds; every number is produced, none is meaningful."""
        return dataclasses.replace(super().quick(device, threads), scale="tiny", step_seconds=(1.5, 1.0),
                                   step_repeats=2, memory_steps=1)


def run_benchmark(settings: ComparisonSettings, workdir: Optional[Path] = None) -> Dict[str, Any]:
    """Run every measurement of ``settings`` and return the report (see :mod:`benchmarks.report`).

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
        inference = run_inference_benchmark(upstreams, settings, device, BASELINES)
        del upstreams
        rounds = {"inference": inference.pop("inference_rounds")}
        report.update(inference)
        report["distill_step"] = run_distill_benchmark(scale, files, settings, device)
        rounds["distill_step"] = report["distill_step"].pop("rounds")
        report["timing_rounds"] = rounds
    report["machine"]["load_average_end"] = load_average()
    report["wall_seconds"] = time.perf_counter() - started
    return report


def check_report(report: Dict[str, Any]) -> List[str]:
    """The required keys that are missing or not positive finite numbers (empty when all is well)."""
    problems = []
    for key in REQUIRED_KEYS:
        try:
            value = lookup(report, key)
        except KeyError:
            problems.append(f"{key}: missing")
            continue
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            problems.append(f"{key}: expected a positive finite number, found {value!r}")
    return problems


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/compare_s3prl.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_speed_options(parser)
    parser.add_argument("--png", type=Path, default=None,
                        help="write the chart here (default: the --json path with .png; none without --json)")
    parser.add_argument("--step-repeats", type=int, default=None, help="timed distillation rounds (default 5; quick 2)")
    parser.add_argument("--step-seconds", type=float, nargs="+", default=None,
                        help="utterance lengths of the distillation batch (default 4 3.5 3 2.5)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the teacher checkpoints here")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if args.threads < 1:
        parser.error(f"--threads: expected an integer >= 1, found {args.threads}")
    changes: Dict[str, Any] = {}
    if args.step_repeats is not None:
        changes["step_repeats"] = args.step_repeats
    if args.step_seconds is not None:
        changes["step_seconds"] = tuple(args.step_seconds)
    try:
        check_device(args.device)
        settings = build_settings(args, ComparisonSettings, **changes)
    except (RuntimeError, ValueError) as e:
        parser.error(str(e))
    report = run_benchmark(settings, workdir=args.workdir)
    problems = check_report(report)
    if args.json is not None:
        write_json(args.json, report)
        _LG.info("wrote %s", args.json)
    png = args.png or (args.json.with_suffix(".png") if args.json is not None else None)
    if png is not None:
        try:
            plot(report, png)
            _LG.info("wrote %s", png)
        except ImportError:
            _LG.warning("no chart: matplotlib is not installed (pip install matplotlib, or espnet-distill[plot])")
    sys.stdout.write(markdown(report))
    sys.stdout.flush()
    if problems:
        _LG.error("incomplete report:\n  %s", "\n  ".join(problems))
        return 1
    _LG.info("done in %.0f s", report["wall_seconds"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
