#!/usr/bin/env bash
# mini_synth/distill1: the whole method, end to end, on 2 CPU cores with no GPU and no
# downloads. Synthesises 1.4 h of English speech, distils the demo's released HuBERT teacher
# (../pretrain1/release/mini_synth_hubert_v1, pre-trained for hours by ../pretrain1) into a
# 1 M-parameter D&T-fbank student (L_reg + L_disc, two-stage input distillation), compares
# teacher, student, the same student with random weights and fbank features under SUPERB's
# frozen protocol, fine-tunes the student with character CTC on 5 labelled minutes next to the
# same student trained from scratch, decodes both and writes exp/report.{md,json} with plots.
#
#   ./run.sh                      # under 15 minutes on 2 quiet cores
#   ./run.sh --seeds 3            # three fine-tuning seeds per arm: mean and spread
#   ./run.sh --train_teacher true # pre-train a small teacher here instead (13 CPU minutes, weaker)
#   ./run.sh --quick true         # a few minutes: a tiny corpus and budgets (CI)
#   ./run.sh --ablations true     # then the paper's claims in miniature (local/ablations.sh)
#   ./run.sh --stage 7            # resume from a stage (finished stages are skipped anyway)
#
# Every other option goes to distill.sh (./distill.sh --help lists them).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

quick=false
ablations=false
expdir=exp  # distill.sh's default; --expdir is read here too (the ablations build on that run)
train_teacher=auto
release=../pretrain1/release/mini_synth_hubert_v1
own_teacher=false  # --teacher SOURCE given: distil that instead of the release
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
            echo "run.sh options:"
            echo "  --quick BOOL            tiny corpus and budgets for a smoke test [false]"
            echo "  --ablations BOOL        then distil three variants of the student and compare them (local/ablations.sh) [false]"
            echo "  --train_teacher BOOL    pre-train a teacher here (distill.sh stages 3-4) instead of distilling"
            echo "                          the release ${release}; auto: the release if it is there [auto]"
            echo
            exec ./distill.sh --help ;;
        --quick) [ $# -ge 2 ] || { echo "run.sh: --quick needs a value" >&2; exit 2; }; quick=$2; shift 2 ;;
        --quick=*) quick=${1#*=}; shift ;;
        --train_teacher) [ $# -ge 2 ] || { echo "run.sh: --train_teacher needs a value" >&2; exit 2; }; train_teacher=$2; shift 2 ;;
        --train_teacher=*) train_teacher=${1#*=}; shift ;;
        --ablations) [ $# -ge 2 ] || { echo "run.sh: --ablations needs a value" >&2; exit 2; }; ablations=$2; shift 2 ;;
        --ablations=*) ablations=${1#*=}; shift ;;
        --expdir) [ $# -ge 2 ] || { echo "run.sh: --expdir needs a value" >&2; exit 2; }; expdir=$2; args+=("$1" "$2"); shift 2 ;;
        --expdir=*) expdir=${1#*=}; args+=("$1"); shift ;;
        --teacher|--teacher=*) own_teacher=true; args+=("$1"); shift ;;
        *) args+=("$1"); shift ;;
    esac
done
[[ "${quick}" == true || "${quick}" == false ]] || { echo "run.sh: --quick must be true or false" >&2; exit 2; }
[[ "${ablations}" == true || "${ablations}" == false ]] || { echo "run.sh: --ablations must be true or false" >&2; exit 2; }
[[ "${train_teacher}" =~ ^(true|false|auto)$ ]] || { echo "run.sh: --train_teacher must be true, false or auto" >&2; exit 2; }
teacher_args=()
if [ "${own_teacher}" = false ]; then  # a --teacher SOURCE given is distilled as it is
    if [ "${train_teacher}" = auto ]; then
        if [ -f "${release}/model.pth" ]; then train_teacher=false; else
            echo "run.sh: no released teacher in ${release} (../pretrain1/run.sh makes it): pre-training one here" >&2
            train_teacher=true
        fi
    fi
    if [ "${train_teacher}" = false ]; then
        [ -f "${release}/model.pth" ] || { echo "run.sh: --train_teacher false, but ${release}/model.pth is missing (../pretrain1/run.sh makes it)" >&2; exit 2; }
        teacher_args=(--teacher "${release}")
    fi
fi

if [ "${quick}" = true ]; then
    set -- --data_opts "--num_utts 240 --labelled_minutes 2" \
        --teacher_args "--max_epoch 1 --num_iters_per_epoch 8" \
        --distill_args "--max_epoch 1 --num_iters_per_epoch 8 --max_samples 48000 --distill_conf frontend_steps=3" \
        --asr_args "--max_epoch 1 --num_iters_per_epoch 8" \
        --num_units 20 --benchmark_args "--durations 2 --repeats 1" \
        --frozen_args "--conf updates=20 --conf valid_every=10" "${args[@]+"${args[@]}"}"
else
    set -- "${args[@]+"${args[@]}"}"
fi

./distill.sh \
    --data_script local/data.sh --frozen true \
    "${teacher_args[@]+"${teacher_args[@]}"}" \
    --teacher_config conf/hubert_tiny.yaml \
    --distill_config conf/distill_mini_fbank_disc.yaml \
    --asr_config conf/finetune_ctc_tiny.yaml \
    "$@"
[ "${ablations}" = false ] || local/ablations.sh --expdir "${expdir}"
