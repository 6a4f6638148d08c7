#!/usr/bin/env bash
# Stage 1 of mini_synth/pretrain1: the teacher's unlabelled pre-training corpus, synthesised
# offline (flite + espeak-ng, the demo's 12 voices) into Kaldi dirs. It shares no sentence with
# the demo's corpus (mini_synth/distill1, seed 0; its first 4,000 planned utterances, twice the default): those sentences are planned
# first, without audio, and excluded, so the teacher never hears a demo test sentence.
#   local/data.sh --datadir data [--hours 10] [--seed 1] [--demo_utts 4000]
set -euo pipefail
datadir=data
hours=10
seed=1
demo_utts=4000
while [ $# -gt 0 ]; do
    case "$1" in
        --datadir|--hours|--seed|--demo_utts)
            [ $# -ge 2 ] || { echo "$0: $1 needs a value" >&2; exit 2; }
            printf -v "${1#--}" '%s' "$2"; shift 2 ;;
        *) echo "$0: unknown option $1 (--datadir, --hours, --seed, --demo_utts)" >&2; exit 2 ;;
    esac
done
python3 -m espnet_distill.bin.make_corpus --out "${datadir}/demo_plan" --num-utts "${demo_utts}" --seed 0 \
    --plan-only >/dev/null
# 98 % for pre-training, 1 % to validate it (masked-unit accuracy per epoch); nothing is labelled
python3 -m espnet_distill.bin.make_corpus --out "${datadir}" --hours "${hours}" --seed "${seed}" \
    --split 0.98 0.01 0.01 --labelled-minutes 0 --exclude-text "${datadir}/demo_plan/planned_text" >/dev/null
