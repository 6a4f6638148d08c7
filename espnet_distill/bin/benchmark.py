"""Benchmark the students: inference speed (the authors' speed-test protocol) and distillation throughput.

Usage:
    python -m espnet_distill.bin.benchmark --threads 2 --json exp/bench/cpu.json
    python -m espnet_distill.bin.benchmark --quick --json /tmp/bench.json      # CI: tiny, every key
    python -m espnet_distill.bin.benchmark --device cuda --json exp/bench/gpu.json
    python -m espnet_distill.bin.benchmark --model teacher=exp/teacher --model student=exp/student/student.pth \
        --durations 10 --json exp/benchmark.json     # given checkpoints (a recipe's stage 10)

Prints the markdown tables on stdout (progress and logs go to stderr), writes the JSON
report (``--json``) and a PNG chart (``--png``, default: the JSON path with ``.png``).
What is measured and how: ``docs/benchmarks.md`` and :mod:`espnet_distill.benchmark`.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path
from typing import List, Optional

from espnet_distill.bin._common import setup_logging, write_json

_LG = logging.getLogger(__name__)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_distill.bin.benchmark",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", type=Path, default=None, help="write the JSON report here")
    parser.add_argument("--png", type=Path, default=None,
                        help="write the chart here (default: the --json path with .png; none without --json)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="cuda runs everything under bf16 autocast (s3prl's teacher stays fp32)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny models, short utterances, 2 rounds: checks that every number is produced")
    parser.add_argument("--repeats", type=int, default=None, help="timed inference rounds (default 5; quick 2)")
    parser.add_argument("--step-repeats", type=int, default=None, help="timed distillation rounds (default 5; quick 2)")
    parser.add_argument("--durations", type=float, nargs="+", default=None,
                        help="inference utterance lengths in seconds (default 2 5 10 15; the reference, 10, "
                             "or the longest, must be among them)")
    parser.add_argument("--step-seconds", type=float, nargs="+", default=None,
                        help="utterance lengths of the distillation batch (default 4 3.5 3 2.5)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the teacher checkpoints here")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=CHECKPOINT",
                        help="time these checkpoints instead of the presets (inference only; repeatable; "
                             "ratios against the one named 'teacher')")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    return parser


def build_settings(args: argparse.Namespace):
    """:class:`~espnet_distill.benchmark.BenchmarkSettings` from the command line."""
    import dataclasses

    from espnet_distill.benchmark import BenchmarkSettings

    settings = (BenchmarkSettings.quick if args.quick else BenchmarkSettings.full)(args.device, args.threads)
    changes = {}
    if args.repeats is not None:
        changes["repeats"] = args.repeats
    if args.step_repeats is not None:
        changes["step_repeats"] = args.step_repeats
    if args.durations is not None:
        changes["durations"] = tuple(args.durations)
        if settings.reference_duration not in args.durations:
            changes["reference_duration"] = max(args.durations)
    if args.step_seconds is not None:
        changes["step_seconds"] = tuple(args.step_seconds)
    return dataclasses.replace(settings, **changes) if changes else settings


def check_report(report) -> List[str]:
    """The required keys that are missing or not positive finite numbers (empty when all is well)."""
    from espnet_distill.benchmark import REQUIRED_KEYS, lookup

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


def main(argv: Optional[List[str]] = None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if args.threads < 1:
        parser.error(f"--threads: expected an integer >= 1, found {args.threads}")
    from espnet_distill.benchmark import check_device, markdown, plot, run_benchmark

    try:
        check_device(args.device)
        settings = build_settings(args)
    except (RuntimeError, ValueError) as e:
        parser.error(str(e))
    if args.model:
        return _main_checkpoints(args, settings, parser)
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


def _main_checkpoints(args: argparse.Namespace, settings, parser) -> int:
    from espnet_distill.benchmark.checkpoints import checkpoint_markdown, parse_models, run_checkpoint_benchmark

    try:
        models = parse_models(args.model)
    except ValueError as e:
        parser.error(str(e))
    report = run_checkpoint_benchmark(models, settings)
    if args.json is not None:
        write_json(args.json, report)
    sys.stdout.write(checkpoint_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
