"""Kaldi data dir (wav.scp, text, utt2spk, spk2utt, utt2num_samples) from LibriSpeech-layout trees.

Example:
    python -m espnet_distill.bin.prepare_librispeech --out data/train_960 \
        /data/LibriSpeech/train-clean-100 /data/LibriSpeech/train-clean-360 /data/LibriSpeech/train-other-500
    python -m espnet_distill.bin.prepare_librispeech --out data/librilight_10h \
        /data/librispeech_finetuning/1h /data/librispeech_finetuning/9h
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from espnet_distill.bin._common import setup_logging
from espnet_distill.data.kaldi_dir import DataDirError
from espnet_distill.data.librispeech import prepare_librispeech


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m espnet_distill.bin.prepare_librispeech", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="data dir to write")
    parser.add_argument("--no-num-samples", action="store_true", help="skip utt2num_samples (reads every header)")
    parser.add_argument("dirs", nargs="+", type=Path, help="LibriSpeech-layout directories")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        prepare_librispeech(args.dirs, args.out, num_samples=not args.no_num_samples)
    except DataDirError as err:
        print(f"prepare_librispeech: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
