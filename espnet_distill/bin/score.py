"""Score ASR hypotheses against references: CER and WER with jiwer.

Example:
    python -m espnet_distill.bin.score --ref data/test/text \
        --hyp exp/asr/decode_test/1best_recog/text --json exp/asr/decode_test/score.json

Several decodings in one call: repeat ``--ref``, ``--hyp`` (and ``--key_file``, ``--json``), one of
each per decoding, in the same order; one JSON line is printed per decoding.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from espnet_distill.bin._common import setup_logging, write_json
from espnet_distill.data.kaldi_dir import DataDirError
from espnet_distill.data.scoring import score_files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m espnet_distill.bin.score", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref", type=Path, action="append", required=True, help="reference Kaldi text file")
    parser.add_argument("--hyp", type=Path, action="append", required=True, help="hypothesis Kaldi text file")
    parser.add_argument("--key_file", type=Path, action="append",
                        help="score only these utterance ids (the decoded ones)")
    parser.add_argument("--json", type=Path, action="append", help="also write the scores here")
    args = parser.parse_args(argv)
    setup_logging()
    n = len(args.ref)
    for name in ("hyp", "key_file", "json"):
        given = getattr(args, name)
        if given is not None and len(given) != n:
            print(f"score: error: {len(given)} --{name} for {n} --ref; give one per decoding", file=sys.stderr)
            return 2
    for i in range(n):
        try:
            result = score_files(args.ref[i], args.hyp[i], args.key_file[i] if args.key_file else None)
        except (ValueError, DataDirError, OSError) as err:
            print(f"score: error: {args.hyp[i]}: {err}", file=sys.stderr)
            return 2
        if args.json:
            write_json(args.json[i], result.to_dict())
        print(json.dumps(result.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
