"""Show a progress bar for an ESPnet Trainer that logs to a file, until its process ends.

Usage:
    python -m espnet_distill.bin.progress --output-dir exp/teacher --pid 12345 --desc teacher

Follows ``<output-dir>/train.log`` (the bar covers ``max_epoch x num_iters_per_epoch``
updates from ``<output-dir>/config.yaml`` and starts where a resumed run is: after the last
epoch finished in the first ``--log-offset`` bytes of the log) and exits when
process ``--pid`` has ended. distill.sh runs one beside each training stage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from espnet_distill.bin._common import setup_logging


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_distill.bin.progress",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--output-dir", type=Path, required=True, help="the trainer's --output_dir")
    parser.add_argument("--pid", type=int, required=True, help="the trainer's process id")
    parser.add_argument("--log-offset", type=int, default=None,
                        help="bytes of train.log written before this run (default: its size now)")
    parser.add_argument("--desc", default="training", help="label of the bar (default: training)")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between looks at the log (default: 2)")
    args = parser.parse_args(argv)
    setup_logging()

    from espnet_distill.report.progress import follow_training, pid_alive

    try:
        follow_training(args.output_dir, lambda: pid_alive(args.pid), desc=args.desc,
                        log_offset=args.log_offset, poll=args.poll)
    except (ValueError, OSError) as err:
        print(f"progress: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
