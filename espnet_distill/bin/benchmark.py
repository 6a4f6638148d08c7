"""Time checkpoints side by side with the authors' speed-test protocol (upstream forward, batch 1, fixed threads).

Usage:
    python -m espnet_distill.bin.benchmark --model teacher=exp/teacher --model student=exp/student/student.pth \
        --durations 10 --json exp/benchmark.json     # a recipe's stage 11
    python -m espnet_distill.bin.benchmark --model teacher=hubert_base_ls960.pt --model student=student.pth \
        --device cuda --json gpu.json                # bf16 autocast
    python -m espnet_distill.bin.benchmark --model teacher=t.pt --model student=s.pth --quick   # CI: 2 rounds
    python -m espnet_distill.bin.benchmark --model teacher=t.pt --model dt_fbank=s.pth --variants fp32,int8
    python -m espnet_distill.bin.benchmark --json out.json     # HuBERT Base and the presets, random weights

``--model NAME=preset:PRESET`` times a student preset (or ``preset:hubert_base``) with random weights;
without ``--model`` the teacher and the four presets of the paper's students are timed.

Students are also timed as torch int8 and ONNX Runtime fp32 / int8 (``--variants``; on the CPU, by
default all of them the installed packages allow), in the same rounds as the teacher. Prints the
markdown table on stdout (progress and logs go to stderr) and writes the JSON report (``--json``).
What is measured and how: ``docs/benchmarks.md`` and :mod:`espnet_distill.benchmark`.
The comparison of the presets and of a distillation step with s3prl's DistilHuBERT is a script of
the source checkout, ``python benchmarks/compare_s3prl.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from typing import List, Optional, Tuple

from espnet_distill.bin._common import setup_logging, write_json

_LG = logging.getLogger(__name__)


def add_speed_options(parser: argparse.ArgumentParser) -> None:
    """The options of the inference timing (also those of ``benchmarks/compare_s3prl.py``)."""
    parser.add_argument("--json", type=Path, default=None, help="write the JSON report here")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="cuda runs under bf16 autocast")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--quick", action="store_true",
                        help="short utterances, 2 rounds: checks that every number is produced")
    parser.add_argument("--repeats", type=int, default=None, help="timed inference rounds (default 5; quick 2)")
    parser.add_argument("--durations", type=float, nargs="+", default=None,
                        help="inference utterance lengths in seconds (default 2 5 10 15; the reference, 10, "
                             "or the longest, must be among them)")
    parser.add_argument("-v", "--verbose", action="count", default=0)


def parse_models(specs: List[str]) -> List[Tuple[str, Path]]:
    """``["name=path", ...]`` (``--model``) -> ``[(name, path)]``; names must be distinct, files must exist."""
    out, seen = [], set()
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--model {spec!r}: expected NAME=CHECKPOINT")
        if name in seen:
            raise ValueError(f"--model: the name {name!r} is given twice")
        if not path.startswith("preset:") and not Path(path).exists():
            raise ValueError(f"--model {name}={path}: no such file or directory")
        seen.add(name)
        out.append((name, Path(path)))
    return out


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_distill.bin.benchmark",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", action="append", default=[], metavar="NAME=CHECKPOINT",
                        help="a checkpoint, or preset:PRESET (random weights), to time (repeatable; ratios against "
                             "the one named 'teacher'; default: HuBERT Base and the presets sw_cnn, dt_cnn, sw_fbank, "
                             "dt_fbank)")
    parser.add_argument("--variants", type=lambda text: [v.strip() for v in text.split(",") if v.strip()],
                        default=None, metavar="fp32,int8,onnx,onnx_int8",
                        help="how each student runs: torch fp32 (needed) and int8, ONNX Runtime fp32 and int8 "
                             "(default on the CPU: all four, the ONNX ones only with the export extra; on CUDA: "
                             "fp32); the teacher runs in fp32")
    add_speed_options(parser)
    return parser


def build_settings(args: argparse.Namespace, settings_cls=None, **changes):
    """``settings_cls`` (:class:`~espnet_distill.benchmark.BenchmarkSettings` or a subclass) from the
    command line: its ``quick`` or ``full`` preset, with the options given and ``changes``."""
    from espnet_distill.benchmark import BenchmarkSettings

    settings_cls = settings_cls or BenchmarkSettings
    settings = (settings_cls.quick if args.quick else settings_cls.full)(args.device, args.threads)
    if args.repeats is not None:
        changes["repeats"] = args.repeats
    if args.durations is not None:
        changes["durations"] = tuple(args.durations)
        if settings.reference_duration not in args.durations:
            changes["reference_duration"] = max(args.durations)
    return dataclasses.replace(settings, **changes) if changes else settings


def main(argv: Optional[List[str]] = None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if args.threads < 1:
        parser.error(f"--threads: expected an integer >= 1, found {args.threads}")
    from espnet_distill.benchmark import check_device, checkpoint_markdown, run_checkpoint_benchmark
    from espnet_distill.benchmark.checkpoints import DEFAULT_MODELS

    if not args.model:  # the table users compare on: HuBERT Base and the four presets, random weights
        args.model = [f"{name}={spec}" for name, spec in DEFAULT_MODELS]
    from espnet_distill.export.speed import resolve_variants

    try:
        check_device(args.device)
        settings = build_settings(args)
        models = parse_models(args.model)
        variants = resolve_variants(args.variants, args.device)
    except (ImportError, RuntimeError, ValueError) as e:
        parser.error(str(e))
    report = run_checkpoint_benchmark(models, settings, variants)
    if args.json is not None:
        write_json(args.json, report)
        _LG.info("wrote %s", args.json)
    sys.stdout.write(checkpoint_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
