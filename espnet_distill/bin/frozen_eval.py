"""SUPERB-style frozen comparison of upstreams: weighted sum of layers + recurrent CTC downstream.

Example (the demo's comparison, 3 seeds each):
    python -m espnet_distill.bin.frozen_eval --out exp/frozen \
        --upstream teacher=exp/teacher --upstream student=exp/student/student.pth \
        --upstream 'random=exp/frozen/random_seed{seed}.pth' --upstream fbank \
        --train_dir data/train_labelled --valid_dir data/dev --test_dir data/test \
        --token_list dump/asr/tokens.txt --seeds 3

Upstreams: ``NAME=SOURCE`` (a student checkpoint, or an ESPnet HuBERT experiment/release directory)
or an s3prl upstream name (``fbank``: SUPERB's FBANK baseline); ``{seed}`` in SOURCE is replaced by
each seed. Hidden states are extracted once per upstream and cached in ``<out>/cache``. Writes
``<out>/frozen.json`` (see :mod:`espnet_distill.frozen.protocol`) and ``<out>/frozen_config.yaml``
(the resolved settings); prints one line per upstream.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import torch
import yaml

from espnet_distill.bin._common import package_versions, setup_logging, write_json
from espnet_distill.frozen import FrozenConfig, UpstreamSpec, run_frozen

_LG = logging.getLogger("espnet_distill.frozen_eval")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m espnet_distill.bin.frozen_eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", action="append", required=True, help="NAME=SOURCE or an s3prl NAME; repeat")
    parser.add_argument("--train_dir", type=Path, required=True, help="labelled training data (wav.scp, text)")
    parser.add_argument("--valid_dir", type=Path, required=True, help="valid data: picks each run's best update")
    parser.add_argument("--test_dir", type=Path, action="append", required=True, help="test data; repeat")
    parser.add_argument("--token_list", type=Path, required=True, help="ESPnet character token list")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--cache_dir", type=Path, default=None,
                        help="feature cache, shareable between runs [<out>/cache]")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 1..N per upstream [3]")
    parser.add_argument("--config", type=Path, help="YAML of FrozenConfig settings (default: its defaults)")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                        help="override one FrozenConfig setting (value read as YAML); repeat")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    return parser


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        data = FrozenConfig.from_yaml(args.config).to_dict() if args.config else {}
        for item in args.conf:
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"--conf {item!r}: expected KEY=VALUE")
            data[key] = yaml.safe_load(value)
        config = FrozenConfig.from_dict(data, where="--config/--conf")
        specs = [UpstreamSpec.parse(u) for u in args.upstream]
        if args.seeds < 1:
            raise ValueError(f"--seeds: expected an integer >= 1, found {args.seeds}")
        tokens = [line.strip() for line in args.token_list.read_text().splitlines() if line.strip()]
    except (ValueError, OSError) as err:
        print(f"frozen_eval: error: {err}", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "frozen_config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    write_json(args.out / "versions.json", package_versions())
    try:
        result = run_frozen(specs, args.train_dir, args.valid_dir, args.test_dir, tokens, args.out,
                            seeds=list(range(1, args.seeds + 1)), config=config, cache_dir=args.cache_dir)
    except (ValueError, FileNotFoundError) as err:
        print(f"frozen_eval: error: {err}", file=sys.stderr)
        return 2
    first = result["test_sets"][0]
    for name, r in result["upstreams"].items():
        print(f"{name}: {first} CER {100 * r['cer']:.2f} +- {100 * r['cer_std']:.2f} % (seeds {r['seeds']})")
    if result["gain_kept"] is not None:
        print(f"the student keeps {100 * result['gain_kept']:.0f} % of the teacher's gain over fbank")
    return 0


if __name__ == "__main__":
    sys.exit(main())
