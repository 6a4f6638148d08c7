#!/usr/bin/env python3
"""Write a Kaldi-style data dir (wav.scp, text, utt2spk, spk2utt) from LibriSpeech-layout trees.

Usage:
    local/prepare_librispeech.py --out data/train_clean_100 /data/LibriSpeech/train-clean-100
    local/prepare_librispeech.py --out data/librilight_10h \
        /data/librispeech_finetuning/1h /data/librispeech_finetuning/9h

Every ``<speaker>-<chapter>.trans.txt`` under the given directories (searched
recursively, so Libri-light's ``1h/<fold>/{clean,other}/...`` works too) contributes its
utterances; the audio is ``<utt-id>.flac`` next to it. Files are sorted by utterance id
in byte order, as Kaldi's tools expect. Standard library only.
"""

import argparse
import sys
from pathlib import Path


def collect(dirs):
    utts = {}
    for root in dirs:
        trans_files = sorted(Path(root).rglob("*.trans.txt"))
        if not trans_files:
            sys.exit(f"prepare_librispeech: no *.trans.txt under {root} (expected LibriSpeech layout)")
        for trans in trans_files:
            for line in trans.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                utt, _, text = line.partition(" ")
                audio = trans.parent / f"{utt}.flac"
                if not audio.is_file():
                    sys.exit(f"prepare_librispeech: {trans} lists {utt}, but {audio} does not exist")
                if utt in utts:
                    sys.exit(f"prepare_librispeech: utterance {utt} occurs twice (second time in {trans})")
                utts[utt] = (audio.resolve(), text.strip())
    return utts


def write(path, lines):
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="data dir to write")
    parser.add_argument("dirs", nargs="+", help="LibriSpeech-layout directories")
    args = parser.parse_args()
    utts = collect(args.dirs)
    ids = sorted(utts, key=lambda u: u.encode())
    speakers = {}
    for utt in ids:
        speakers.setdefault(utt.split("-")[0], []).append(utt)
    args.out.mkdir(parents=True, exist_ok=True)
    write(args.out / "wav.scp", [f"{u} {utts[u][0]}" for u in ids])
    write(args.out / "text", [f"{u} {utts[u][1]}" for u in ids])
    write(args.out / "utt2spk", [f"{u} {u.split('-')[0]}" for u in ids])
    write(args.out / "spk2utt", [f"{s} {' '.join(us)}" for s, us in sorted(speakers.items(), key=lambda kv: kv[0].encode())])
    print(f"prepare_librispeech: {args.out}: {len(ids)} utterances, {len(speakers)} speakers", file=sys.stderr)


if __name__ == "__main__":
    main()
