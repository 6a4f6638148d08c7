"""Write what ESPnet's asr_train needs besides a Kaldi dir: char token list and shape files.

Example:
    python -m espnet_distill.bin.prepare_asr --train-dir data/train_labelled \
        --data-dir data/train_labelled --data-dir data/dev --out dump/asr

Writes ``<out>/tokens.txt`` (characters of the training transcripts) and, per data dir,
``<out>/<name>/speech_shape`` and ``<out>/<name>/text_shape.char``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from espnet_distill.bin._common import setup_logging
from espnet_distill.data.asr_prep import char_token_list, write_shape_files, write_token_list
from espnet_distill.data.kaldi_dir import DataDirError, read_data_dir


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m espnet_distill.bin.prepare_asr", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-dir", type=Path, required=True, help="data dir whose text gives the token list")
    parser.add_argument("--data-dir", type=Path, action="append", required=True, help="dirs to write shapes for")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    setup_logging()
    try:
        texts = read_data_dir(args.train_dir).texts()
        if not texts:
            raise DataDirError(f"{args.train_dir}: no text file, cannot make a token list")
        write_token_list(char_token_list(texts.values()), args.out / "tokens.txt")
        for d in args.data_dir:
            write_shape_files(d, args.out / d.name)
    except (DataDirError, OSError) as err:
        print(f"prepare_asr: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
