"""Write a randomly initialised student checkpoint (the from-scratch control of a recipe).

Example:
    python -m espnet_distill.bin.init_student --student tiny_fbank --cmvn exp/cmvn.npz \
        --seed 1 --out exp/scratch/student.pth

The control has exactly the distilled student's architecture and CMVN statistics and no
teacher knowledge: fine-tuning both with the same config isolates what distillation adds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from espnet_distill.bin._common import setup_logging
from espnet_distill.student import build_student, save_student


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m espnet_distill.bin.init_student", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--student", required=True, help="preset name or student YAML")
    parser.add_argument("--cmvn", type=Path, help="CMVN statistics (.npz) for fbank students")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    setup_logging()
    torch.manual_seed(args.seed)
    try:
        student = build_student(args.student, cmvn=args.cmvn)
        save_student(args.out, student, provenance={"init": "random", "seed": args.seed, "student": args.student})
    except (ValueError, OSError) as err:
        print(f"init_student: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
