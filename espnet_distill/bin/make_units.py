"""HuBERT pre-training targets: k-means units (scikit-learn) for Kaldi data dirs.

First iteration, MFCC units:
    python -m espnet_distill.bin.make_units --fit-dir data/train --num-units 100 \
        --label-dir data/train --label-dir data/dev --out exp/units_iter1

Second iteration, units of layer 3 of the first iteration's model (any checkpoint
``load_teacher`` reads, e.g. an ESPnet HubertTask experiment dir):
    python -m espnet_distill.bin.make_units --features teacher:exp/iter1 --layer 3 \
        --fit-dir data/train --num-units 200 --label-dir data/train --label-dir data/dev --out exp/units_iter2

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
from espnet_distill.pretrain.units import (fit_kmeans, mfcc_features, teacher_layer_features, unit_token_list,
                                           write_unit_labels)

MFCC = "mfcc"
TEACHER = "teacher:"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m espnet_distill.bin.make_units", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fit-dir", type=Path, required=True, help="data dir whose frames fit the k-means")
    parser.add_argument("--label-dir", type=Path, action="append", required=True, help="data dirs to label")
    parser.add_argument("--features", default=MFCC,
                        help="'mfcc' (first iteration) or 'teacher:SOURCE', a model's hidden state "
                             "(later iterations; SOURCE is anything load_teacher reads) [mfcc]")
    parser.add_argument("--layer", type=int, default=None,
                        help="hidden state of the teacher:SOURCE model, 0 = transformer input, k = layer k (1-based)")
    parser.add_argument("--num-units", type=int, default=100, help="K (default 100, as HuBERT's first iteration)")
    parser.add_argument("--max-frames", type=int, default=100_000, help="frames sampled for fitting")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    setup_logging()

    def fail(message: str) -> int:
        print(f"make_units: error: {message}", file=sys.stderr)
        return 2

    names = [d.name for d in args.label_dir]
    if len(set(names)) != len(names):
        return fail(f"--label-dir names must differ, got {names}")
    if args.features == MFCC:
        if args.layer is not None:
            return fail("--layer goes with --features teacher:SOURCE, not with mfcc")
        featurize, described = mfcc_features, "MFCC 13 + deltas + delta-deltas, 25 ms / 20 ms"
    elif args.features.startswith(TEACHER) and len(args.features) > len(TEACHER):
        if args.layer is None:
            return fail(f"--features {args.features} needs --layer (0 = transformer input, k = layer k)")
        source = args.features[len(TEACHER):]
        try:
            featurize = teacher_layer_features(source, args.layer)
        except (ValueError, OSError) as err:
            return fail(str(err))
        described = f"hidden state {args.layer} of {source} (0 = transformer input)"
    else:
        return fail(f"--features must be 'mfcc' or 'teacher:SOURCE', got {args.features!r}")
    progress = not args.no_progress
    try:
        km = fit_kmeans(args.fit_dir, featurize, args.num_units, seed=args.seed, max_frames=args.max_frames,
                        progress=progress)
        for d in args.label_dir:
            write_unit_labels(d, featurize, km, args.out / f"{d.name}.km", progress=progress)
    except ValueError as err:
        return fail(str(err))
    write_token_list(unit_token_list(args.num_units), args.out / "tokens.txt")
    write_json(args.out / "kmeans.json", {"num_units": args.num_units, "fit_dir": str(args.fit_dir),
                                          "max_frames": args.max_frames, "seed": args.seed,
                                          "features": described})
    return 0


if __name__ == "__main__":
    sys.exit(main())
