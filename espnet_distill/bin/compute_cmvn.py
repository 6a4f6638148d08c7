"""Global CMVN statistics of the Kaldi fbank, for fbank students.

Usage:
    python -m espnet_distill.bin.compute_cmvn --data-dir data/train --out exp/cmvn.npz
    python -m espnet_distill.bin.compute_cmvn --data-dir data/train_960 --max-utts 5000 --jobs 8 --out exp/cmvn.npz

Reads the utterances of ``wav.scp`` (16 kHz mono; all, or a seeded random subset), computes the student's own
80-dim Kaldi fbank (25 ms / 10 ms, waveform x 2^15) and writes per-bin ``mean`` and
``std`` plus the frame ``count`` to an ``.npz``. Give it to a student with
``build_student(..., cmvn="exp/cmvn.npz")`` or ``frontend.fbank.cmvn_path``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from espnet_distill.bin._common import setup_logging


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_distill.bin.compute_cmvn",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="Kaldi-style data dir with wav.scp")
    parser.add_argument("--out", type=Path, required=True, help="output .npz")
    parser.add_argument("--num-mel-bins", type=int, default=80, help="fbank size (default: 80)")
    parser.add_argument("--max-utts", type=int, default=None,
                        help="a random subset of N utterances (seeded by --seed; default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the subset (default: 0)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes, one thread each (default: 1)")
    parser.add_argument("--device", default="cpu", help="torch device for the fbank (default: cpu)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    setup_logging()

    from espnet_distill.data.audio import AudioError
    from espnet_distill.data.kaldi_dir import DataDirError
    from espnet_distill.student.cmvn import compute_cmvn_from_data_dir, save_cmvn

    try:
        stats = compute_cmvn_from_data_dir(
            args.data_dir, args.num_mel_bins, max_utts=args.max_utts, seed=args.seed, jobs=args.jobs,
            device=args.device, progress=not args.no_progress
        )
    except (ValueError, OSError, AudioError, DataDirError) as err:
        print(f"compute_cmvn: error: {err}", file=sys.stderr)
        return 2
    save_cmvn(args.out, stats)
    print(
        f"{args.out}: mean/std of {stats.num_mel_bins} mel bins "
        f"over {stats.count} frames of {stats.num_utts} utterances"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
