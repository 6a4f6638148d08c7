"""Write a versioned teacher release from HuBERT pre-training experiments (pretrain.sh stage 6).

Example:
    python -m espnet_distill.bin.release_teacher --iteration exp/iter1 --iteration exp/iter2 \
        --name mini_synth_hubert_v1 --corpus data/corpus.json --timing exp/timing.tsv --out release/

The last ``--iteration`` is released (its ``valid.acc_m.best.pth``); every iteration
contributes its curve and log summary. The release directory holds config.yaml, model.pth,
curves, logs, release.json, MODEL_CARD.md and SHA256SUMS, and loads with ``load_teacher``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from espnet_distill.bin._common import setup_logging


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m espnet_distill.bin.release_teacher", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iteration", type=Path, action="append", required=True,
                        help="ESPnet HubertTask output dir, in iteration order (repeat)")
    parser.add_argument("--name", required=True, help="release name and version, e.g. mini_synth_hubert_v1")
    parser.add_argument("--corpus", type=Path, default=None, help="make_corpus's corpus.json of the training data")
    parser.add_argument("--timing", type=Path, default=None, help="the recipe's timing.tsv (wall time per stage)")
    parser.add_argument("--command", default="", help="the command that made it, for the model card")
    parser.add_argument("--out", type=Path, required=True, help="release directory")
    args = parser.parse_args(argv)
    setup_logging()
    from espnet_distill.pretrain.release import write_release

    for d in args.iteration:
        if not (d / "config.yaml").is_file():
            print(f"release_teacher: error: --iteration {d}: not an ESPnet experiment dir (no config.yaml)",
                  file=sys.stderr)
            return 2
    try:
        card = write_release(args.iteration, args.out, name=args.name, corpus_json=args.corpus,
                             timing_tsv=args.timing, command=args.command)
    except (ValueError, OSError) as err:
        print(f"release_teacher: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps({k: card[k] for k in ("name", "parameters", "valid_masked_acc", "updates")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
