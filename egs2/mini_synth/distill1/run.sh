#!/usr/bin/env bash
# mini_synth/distill1: the whole method, end to end, on 2 CPU cores with no GPU and no
# downloads. Synthesises ~1 h of English speech, pre-trains a 3.8 M-parameter HuBERT teacher
# with ESPnet's HubertTask, distils a 1 M-parameter D&T-fbank student (L_reg + L_disc, two-stage
# input distillation), fine-tunes it with character CTC on 5 labelled minutes next to the same
# student trained from scratch, decodes both and writes exp/report.{md,json} with plots.
#
#   ./run.sh                  # about 20-25 minutes on 2 cores
#   ./run.sh --seeds 3        # three fine-tuning seeds per arm: mean and spread
#   ./run.sh --quick true     # a few minutes: a tiny corpus and budgets (CI)
#   ./run.sh --stage 7        # resume from a stage (finished stages are skipped anyway)
#
# Every other option goes to distill.sh (./distill.sh --help lists them).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

quick=false
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
            echo "run.sh options:"
            echo "  --quick BOOL            tiny corpus and budgets for a smoke test [false]"
            echo
            exec ./distill.sh --help ;;
        --quick) [ $# -ge 2 ] || { echo "run.sh: --quick needs a value" >&2; exit 2; }; quick=$2; shift 2 ;;
        --quick=*) quick=${1#*=}; shift ;;
        *) args+=("$1"); shift ;;
    esac
done
[[ "${quick}" == true || "${quick}" == false ]] || { echo "run.sh: --quick must be true or false" >&2; exit 2; }

if [ "${quick}" = true ]; then
    set -- --data_opts "--num_utts 240 --labelled_minutes 2" \
        --teacher_args "--max_epoch 1 --num_iters_per_epoch 8" \
        --distill_args "--max_epoch 1 --num_iters_per_epoch 8 --max_samples 48000 --distill_conf frontend_steps=3" \
        --asr_args "--max_epoch 1 --num_iters_per_epoch 8" \
        --num_units 20 --benchmark_args "--durations 2 --repeats 1" "${args[@]+"${args[@]}"}"
else
    set -- "${args[@]+"${args[@]}"}"
fi

./distill.sh \
    --data_script local/data.sh \
    --teacher_config conf/hubert_tiny.yaml \
    --distill_config conf/distill_mini_fbank_disc.yaml \
    --asr_config conf/finetune_ctc_tiny.yaml \
    "$@"
