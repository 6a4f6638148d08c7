#!/usr/bin/env bash
# mini_synth/pretrain1: the demo's released HuBERT teacher, pre-trained on 2 CPU cores with
# ESPnet's HubertTask. Synthesises ~10 h of English speech that shares no sentence with the
# demo's corpus, trains HuBERT's first iteration on 100 MFCC k-means units, clusters layer 3
# of that model into 200 units, trains the second iteration on them, and writes the release
# (config, weights, training logs, curves, model card, SHA-256) in release/mini_synth_hubert_v1.
#
#   ./run.sh                   # hours on 2 cores; resumable: run it again after a kill
#   ./run.sh --quick true      # a few minutes: tiny corpus and budgets (CI)
#   ./run.sh --stage 4         # from the second iteration's units on
#
# Every other option goes to pretrain.sh (./pretrain.sh --help lists them).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

quick=false
args=()
command=$(printf '%q ' "$0" "$@")  # what the model card records
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
            echo "run.sh options:"
            echo "  --quick BOOL            tiny corpus and budgets for a smoke test [false]"
            echo
            exec ./pretrain.sh --help ;;
        --quick) [ $# -ge 2 ] || { echo "run.sh: --quick needs a value" >&2; exit 2; }; quick=$2; shift 2 ;;
        --quick=*) quick=${1#*=}; shift ;;
        *) args+=("$1"); shift ;;
    esac
done
[[ "${quick}" == true || "${quick}" == false ]] || { echo "run.sh: --quick must be true or false" >&2; exit 2; }

if [ "${quick}" = true ]; then
    set -- --data_opts "--hours 0.1 --demo_utts 240" --num_units1 20 --num_units2 20 --kmeans_frames 5000 \
        --iter1_args "--max_epoch 1 --num_iters_per_epoch 4" --iter2_args "--max_epoch 1 --num_iters_per_epoch 4" \
        "${args[@]+"${args[@]}"}"
else  # the release that make demo distils, committed to git
    set -- --release_dir release/mini_synth_hubert_v1 "${args[@]+"${args[@]}"}"
fi

./pretrain.sh \
    --data_script local/data.sh \
    --iter1_config conf/hubert_iter1.yaml \
    --iter2_config conf/hubert_iter2.yaml \
    --release_name mini_synth_hubert_v1 \
    --release_command "${command% }" \
    "$@"
