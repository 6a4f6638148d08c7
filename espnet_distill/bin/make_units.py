"""HuBERT first-iteration targets: MFCC k-means units (scikit-learn) for Kaldi data dirs.

Example:
    python -m espnet_distill.bin.make_units --fit-dir data/train --num-units 100 \
        --label-dir data/train --label-dir data/dev --out exp/units

Writes ``<out>/<dir-name>.km`` (``utt-id u1 u2 ...``, one unit per 20 ms frame, aligned
with HuBERT's CNN frames), ``<out>/tokens.txt`` (for ESPnet's ``--token_list``) and
``<out>/kmeans.json`` (what was fitted).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from espnet_distill.bin._common import setup_logging, write_json
from espnet_distill.data.asr_prep import write_token_list
from espnet_distill.pretrain.units import fit_kmeans, load_features, unit_token_list, write_unit_labels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m espnet_distill.bin.make_units", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fit-dir", type=Path, required=True, help="data dir whose frames fit the k-means")
    parser.add_argument("--label-dir", type=Path, action="append", required=True, help="data dirs to label")
    parser.add_argument("--num-units", type=int, default=100, help="K (default 100, as HuBERT's first iteration)")
    parser.add_argument("--max-frames", type=int, default=100_000, help="frames sampled for fitting")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    setup_logging()
    names = [d.name for d in args.label_dir]
    if len(set(names)) != len(names):
        print(f"make_units: error: --label-dir names must differ, got {names}", file=sys.stderr)
        return 2
    try:
        fit_feats = load_features(args.fit_dir, progress=not args.no_progress)
        km = fit_kmeans(fit_feats, args.num_units, seed=args.seed, max_frames=args.max_frames)
        for d in args.label_dir:
            feats = fit_feats if d.resolve() == args.fit_dir.resolve() else load_features(d, not args.no_progress)
            write_unit_labels(feats, km, args.out / f"{d.name}.km")
    except ValueError as err:
        print(f"make_units: error: {err}", file=sys.stderr)
        return 2
    write_token_list(unit_token_list(args.num_units), args.out / "tokens.txt")
    write_json(args.out / "kmeans.json", {"num_units": args.num_units, "fit_dir": str(args.fit_dir),
                                          "max_frames": args.max_frames, "seed": args.seed,
                                          "features": "MFCC 13 + deltas + delta-deltas, 25 ms / 20 ms"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
