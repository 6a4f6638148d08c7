"""s3prl's ``s3prl-main`` (the problem API, e.g. ``SuperbASR``) with the students registered.

Usage:
    python -m espnet_distill.bin.s3prl_main SuperbASR --target_dir exp/superb_asr \
        --prepare_data.dataset_root /data/LibriSpeech \
        --build_upstream.name distill_student_local \
        --build_upstream.path_or_url exp/student/student.ckpt

Every ``s3prl-main`` option works (``s3prl-main SuperbASR --print_config`` lists them).
Compatibility shims (:mod:`espnet_distill.s3prl.compat`) are applied first. ``s3prl.problem``
imports all of s3prl's problems at once, so this path needs ``pandas`` and
``sed_eval`` (HEAR scoring) even for ASR; ``run_downstream`` needs neither.
"""

from __future__ import annotations

import sys
from typing import List, Optional

from espnet_distill.s3prl import apply_compat, check_upstream_name, register

apply_compat()
register()

_UPSTREAM_OPTION = "--build_upstream.name"


def upstream_name(argv: List[str]) -> Optional[str]:
    """The value of ``--build_upstream.name`` in ``argv`` (``--opt value`` or ``--opt=value``)."""
    for i, arg in enumerate(argv):
        if arg == _UPSTREAM_OPTION and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(_UPSTREAM_OPTION + "="):
            return arg.split("=", 1)[1]
    return None


def main(argv: Optional[List[str]] = None) -> None:
    """Run ``s3prl.main.main`` on ``argv`` (default: ``sys.argv[1:]``)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    name = upstream_name(argv)
    try:
        if name is not None:
            check_upstream_name(name)
        from s3prl import main as s3prl_main
    except ValueError as err:
        print(f"s3prl_main: error: {err}", file=sys.stderr)
        sys.exit(2)
    except ImportError as err:
        print(f"s3prl_main: error: s3prl.problem cannot be imported ({err}); it imports every s3prl problem, "
              "so install what it names (e.g. pip install sed_eval pandas), or use "
              "python -m espnet_distill.bin.run_downstream", file=sys.stderr)
        sys.exit(2)
    sys.argv = ["s3prl-main", *argv]
    s3prl_main.main()


if __name__ == "__main__":
    main()
