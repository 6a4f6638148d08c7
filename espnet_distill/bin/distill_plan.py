"""What a distillation run will do, resolved exactly as distill_train resolves it, without running it.

Example:
    python -m espnet_distill.bin.distill_plan --config conf/distill/dt_fbank_disc.yaml --max_epoch 1
    python -m espnet_distill.bin.distill_plan --config conf/distill/dt_cnn_reg.yaml --get needs_cmvn

Takes distill_train's own options (the config and any overrides; data options are not needed)
and prints JSON: the student (name and front-end), whether it needs CMVN statistics, the
number of optimiser updates, the input-distillation schedule, and warnings about the plan
(e.g. ``frontend_steps`` at least the number of updates: the encoder would never be distilled).
``--json FILE`` also writes it to FILE. ``--get KEY`` (repeatable) prints only those values,
one per line (``true``/``false`` for booleans), for recipes. Warnings go to stderr.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Dict, List, Optional

from espnet_distill.bin._common import setup_logging, write_json


def plan(argv: List[str]) -> Dict[str, Any]:
    """The resolved plan of ``distill_train argv`` (see the module docstring)."""
    from espnet_distill.tasks.distill import DistillTask, distill_plan

    args = DistillTask.get_parser().parse_args(argv)
    return distill_plan(args)


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    own: Dict[str, List[str]] = {"--get": [], "--json": []}
    rest: List[str] = []
    while argv:
        arg = argv.pop(0)
        if arg in own:
            if not argv:
                print(f"distill_plan: error: {arg} needs a value", file=sys.stderr)
                return 2
            own[arg].append(argv.pop(0))
        else:
            rest.append(arg)
    setup_logging()
    try:
        result = plan(rest)
    except ValueError as err:
        print(f"distill_plan: error: {err}", file=sys.stderr)
        return 2
    for warning in result["warnings"]:
        print(f"distill_plan: warning: {warning}", file=sys.stderr)
    for path in own["--json"]:
        write_json(path, result)
    unknown = [k for k in own["--get"] if k not in result]
    if unknown:
        print(f"distill_plan: error: --get {unknown}: expected some of {sorted(result)}", file=sys.stderr)
        return 2
    if not own["--get"]:
        print(json.dumps(result, indent=2))
    for key in own["--get"]:
        value = result[key]
        print(str(value).lower() if isinstance(value, bool) else ("" if value is None else value))
    return 0


if __name__ == "__main__":
    sys.exit(main())
