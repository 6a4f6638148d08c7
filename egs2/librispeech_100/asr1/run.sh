#!/usr/bin/env bash
# LibriSpeech 100 h ASR with a distilled student as the front end, through ESPnet's
# stock asr.sh (run ./setup.sh <ESPNET_ROOT> once first; see README.md).
#
#   ./run.sh                                          # fine-tune the whole student + CTC on train-clean-100
#   ./run.sh --train_set librilight_10h               # Libri-light 10 h (its data and config are picked)
#   ./run.sh --train_set librilight_1h                # Libri-light 1 h
#   ./run.sh --asr_config conf/train_asr_superb.yaml  # SUPERB: frozen student, weighted sum, BiLSTM
#
# The fine-tuning config follows the training set (conf/train_asr_finetune_ctc{,_10h,_1h}.yaml,
# fairseq's HuBERT / wav2vec 2.0 fine-tuning values; README.md lists where each comes from),
# unless --asr_config is given.
# Every asr.sh option can be added; --python espnet-distill-python is what makes the
# distill_student frontend (and the distill_student_* s3prl upstreams) visible to
# ESPnet's own collect-stats, training, decoding and packing stages.
set -euo pipefail

train_set=train_clean_100        # or librilight_10h / librilight_1h
valid_set=dev
test_sets="test_clean test_other dev_clean dev_other"
inference_config=conf/decode_ctc.yaml
asr_config=
for ((i = 1; i < $#; i++)); do  # the training set and config the user asked for (asr.sh takes the last)
    case "${!i}" in
        --train_set) j=$((i + 1)); train_set=${!j} ;;
        --asr_config) j=$((i + 1)); asr_config=${!j} ;;
    esac
done
case "${train_set}" in
    librilight_10h) protocol=_10h; data_opts="--librilight true" ;;
    librilight_1h) protocol=_1h; data_opts="--librilight true" ;;
    *) protocol=; data_opts= ;;
esac
asr_config=${asr_config:-conf/train_asr_finetune_ctc${protocol}.yaml}

# The configs read the student from here (frontend_conf.student, relative to this dir);
# for another file: --asr_args "--frontend_conf student=PATH".
student=exp/student/student.pth
if [ ! -f "${student}" ]; then  # stages 10-12 build the model from it
    echo "run.sh: warning: no student checkpoint at ${student} yet; distil one (egs2/mini_synth/distill1" \
         "for a CPU demo) or copy yours there" >&2
fi

./asr.sh \
    --python espnet-distill-python \
    --lang en \
    --ngpu 1 \
    --nj 16 \
    --inference_nj 16 \
    --gpu_inference false \
    --token_type char \
    --use_lm false \
    --feats_type raw \
    --audio_format flac \
    --max_wav_duration 30 \
    --local_data_opts "${data_opts}" \
    --asr_config "${asr_config}" \
    --inference_config "${inference_config}" \
    --inference_asr_model valid.cer_ctc.ave.pth \
    --train_set "${train_set}" \
    --valid_set "${valid_set}" \
    --test_sets "${test_sets}" "$@"
