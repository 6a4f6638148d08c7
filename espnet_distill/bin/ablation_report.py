"""Write the ablation report of mini_synth's ``run.sh --ablations true``: report.json, report.md, ablations.png.

Reads ``<root>/frozen_<labels>/frozen.json`` (one frozen comparison of the demo's student and its
variants per amount of labels) and ``<root>/benchmark.json``; see
:mod:`espnet_distill.report.ablations`.

Example:
    python -m espnet_distill.bin.ablation_report --root exp/ablations
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from espnet_distill.bin._common import setup_logging
from espnet_distill.report.ablations import build_ablation_report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m espnet_distill.bin.ablation_report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, required=True, help="the ablations directory (exp/ablations)")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        build_ablation_report(args.root)
    except (FileNotFoundError, KeyError, ValueError) as err:
        print(f"ablation_report: error: {err}", file=sys.stderr)
        return 2
    print((args.root / "report.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
