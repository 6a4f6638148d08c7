"""Export a trained student: drop distillation heads, write a self-describing checkpoint.

Example:
    python -m espnet_distill.bin.export_student exp/distill --out exp/student.pth
    python -m espnet_distill.bin.export_student exp/distill/valid.loss.best.pth --out exp/student.pth \
        --s3prl exp/student_distiller.ckpt --hf exp/student_hf

The ``--out`` file loads with ``torch.load(weights_only=True)`` and
``espnet_distill.student.load_student`` (strict). ``--s3prl`` (s3prl ``distiller_local``)
and ``--hf`` (transformers ``HubertModel``) exist for waveform-CNN students; each export
is checked to reproduce the student's hidden states before the command succeeds.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import torch

from espnet_distill.bin._common import setup_logging
from espnet_distill.export import ExperimentError, export_hf_hubert, export_s3prl_distiller, load_trained_student
from espnet_distill.export.verify import verify_hf, verify_s3prl, verify_student_checkpoint
from espnet_distill.student import save_student

_LG = logging.getLogger("espnet_distill.export_student")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m espnet_distill.bin.export_student", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="distill_train output dir, or one of its *.pth files")
    parser.add_argument("--out", type=Path, required=True, help="student checkpoint to write (.pth)")
    parser.add_argument("--s3prl", type=Path, help="also write an s3prl distiller checkpoint here (CNN students)")
    parser.add_argument("--hf", type=Path, help="also write a HuggingFace HubertModel directory here (CNN students)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="max abs hidden-state difference accepted")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    return parser


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        student, provenance = load_trained_student(args.source)
        save_student(args.out, student, provenance=provenance)
        report = {"student": str(args.out), "max_abs_diff": {}}
        report["max_abs_diff"]["espnet_distill"] = verify_student_checkpoint(student, args.out, args.tolerance)
        if args.s3prl:
            export_s3prl_distiller(student, args.s3prl, provenance)
            report["max_abs_diff"]["s3prl"] = verify_s3prl(student, args.s3prl, args.tolerance)
        if args.hf:
            export_hf_hubert(student, args.hf, provenance)
            report["max_abs_diff"]["hf"] = verify_hf(student, args.hf, args.tolerance)
    except (ExperimentError, ValueError, OSError) as err:
        print(f"export_student: error: {err}", file=sys.stderr)
        return 2
    report["parameters"] = student.count_parameters(include_heads=False)
    report["optimizer_steps"] = provenance.get("optimizer_steps")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    torch.set_num_threads(max(1, torch.get_num_threads()))
    sys.exit(main())
