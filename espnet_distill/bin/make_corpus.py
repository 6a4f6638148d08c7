"""Synthesise an English speech corpus offline (flite + espeak-ng) as Kaldi-style data dirs.

Example:
    python -m espnet_distill.bin.make_corpus --out data/mini_synth --num-utts 500 --seed 0
    python -m espnet_distill.bin.make_corpus --out data/synth1h --hours 1 --layout librispeech
    python -m espnet_distill.bin.make_corpus --out demo_plan --num-utts 2000 --plan-only
    python -m espnet_distill.bin.make_corpus --out data/pretrain --hours 12 --seed 1 \
        --exclude-text demo_plan/planned_text --split 0.98 0.01 0.01

Writes ``wav/``, ``train/ dev/ test/ train_labelled/`` (wav.scp, text, utt2spk, spk2utt,
utt2num_samples), optionally ``LibriSpeech/`` (s3prl SUPERB layout) and ``corpus.json``.
``--plan-only`` writes just ``<out>/planned_text`` (``utt-id SENTENCE``), the sentences the
same options would synthesise, so that another corpus can exclude them (``--exclude-text``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from espnet_distill.bin._common import setup_logging
from espnet_distill.data.corpus import ALL_VOICES, CorpusSpec, SynthesisError, make_corpus, planned_texts
from espnet_distill.data.kaldi_dir import write_kaldi_file


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_distill.bin.make_corpus",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--num-utts", type=int, help="number of utterances (split 80/10/10)")
    size.add_argument("--hours", type=float, help="synthesise until this many hours of audio")
    parser.add_argument("--seed", type=int, default=0, help="fixes texts, voices, rates (default 0)")
    parser.add_argument("--layout", choices=["kaldi", "librispeech"], default="kaldi",
                        help="'librispeech' also writes LibriSpeech/<split>/<spk>/<chapter>/*.flac")
    parser.add_argument("--labelled-minutes", type=float, default=5.0,
                        help="size of train_labelled, the low-resource fine-tuning subset (default 5)")
    parser.add_argument("--voices", nargs="+", default=[v.speaker for v in ALL_VOICES],
                        choices=[v.speaker for v in ALL_VOICES], metavar="VOICE",
                        help="speakers to use (default: all 12: fl_* = flite, es_* = espeak-ng)")
    parser.add_argument("--split", type=float, nargs=3, default=(0.8, 0.1, 0.1), metavar=("TRAIN", "DEV", "TEST"),
                        help="fractions of train / dev / test (default 0.8 0.1 0.1)")
    parser.add_argument("--exclude-text", type=Path, default=None, metavar="TEXT",
                        help="Kaldi text file whose sentences are never synthesised (e.g. another corpus's)")
    parser.add_argument("--plan-only", action="store_true",
                        help="write only <out>/planned_text, the sentences to be synthesised (needs --num-utts)")
    parser.add_argument("--jobs", type=int, default=None, help="parallel synthesis jobs (default: CPUs)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    return parser


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        spec = CorpusSpec(num_utts=args.num_utts, hours=args.hours, seed=args.seed, layout=args.layout,
                          labelled_minutes=args.labelled_minutes, voices=args.voices,
                          split_fractions=args.split,
                          exclude_text=str(args.exclude_text) if args.exclude_text else None)
        if args.plan_only:
            write_kaldi_file(args.out / "planned_text", planned_texts(spec))
            print(json.dumps({"planned_text": str(args.out / "planned_text"), "num_utts": spec.num_utts}))
            return 0
        summary = make_corpus(args.out, spec, jobs=args.jobs, progress=not args.no_progress)
    except (ValueError, SynthesisError, FileExistsError) as err:
        print(f"make_corpus: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary["splits"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
