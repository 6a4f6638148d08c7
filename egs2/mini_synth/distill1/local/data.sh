#!/usr/bin/env bash
# Stage 1 of mini_synth: synthesise the corpus offline (flite + espeak-ng) into Kaldi dirs.
#   local/data.sh --datadir data [--num_utts 2000] [--labelled_minutes 5] [--seed 0]
set -euo pipefail
datadir=data
num_utts=2000
labelled_minutes=5
seed=0
while [ $# -gt 0 ]; do
    case "$1" in
        --datadir|--num_utts|--labelled_minutes|--seed)
            [ $# -ge 2 ] || { echo "$0: $1 needs a value" >&2; exit 2; }
            printf -v "${1#--}" '%s' "$2"; shift 2 ;;
        *) echo "$0: unknown option $1 (--datadir, --num_utts, --labelled_minutes, --seed)" >&2; exit 2 ;;
    esac
done
python3 -m espnet_distill.bin.make_corpus --out "${datadir}" --num-utts "${num_utts}" \
    --labelled-minutes "${labelled_minutes}" --seed "${seed}" >/dev/null
