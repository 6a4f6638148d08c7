"""Write the report of a distill.sh experiment: report.json, report.md, curves.png, summary.png.

Example:
    python -m espnet_distill.bin.report --expdir exp --test_sets test --seeds 3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from espnet_distill.bin._common import setup_logging
from espnet_distill.report import build_report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m espnet_distill.bin.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--expdir", type=Path, required=True)
    parser.add_argument("--test_sets", default="test",
                        help="space-separated decoded test sets: each is reported (the first also as the headline)")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--teacher", help="teacher checkpoint (default: the recipe's)")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        report = build_report(args.expdir, args.test_sets.split(), args.seeds, args.teacher)
    except (FileNotFoundError, ValueError) as err:
        print(f"report: error: {err}", file=sys.stderr)
        return 2
    print((args.expdir / "report.md").read_text())
    print(report["comparison"]["text"], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
