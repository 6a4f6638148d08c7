#!/usr/bin/env bash
# LibriSpeech 100 h ASR with a distilled student as the front end, through ESPnet's
# stock asr.sh (run ./setup.sh <ESPNET_ROOT> once first; see README.md).
#
#   ./run.sh                                                  # paper protocol: fine-tune the student + CTC
#   ./run.sh --asr_config conf/train_asr_superb.yaml          # SUPERB: frozen student, weighted sum, BiLSTM
#   ./run.sh --train_set librilight_10h --local_data_opts "--librilight true"   # low-resource
#
# Every asr.sh option can be added; --python espnet-distill-python is what makes the
# distill_student frontend (and the distill_student_* s3prl upstreams) visible to
# ESPnet's own collect-stats, training, decoding and packing stages.
set -euo pipefail

train_set=train_clean_100        # or librilight_10h / librilight_1h (README)
valid_set=dev
test_sets="test_clean test_other dev_clean dev_other"
asr_config=conf/train_asr_finetune_ctc.yaml
inference_config=conf/decode_ctc.yaml

# The configs read the student from here (frontend_conf.student, relative to this dir);
# for another file: --asr_args "--frontend_conf student=PATH".
student=exp/student/student.ckpt
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
    --feats_normalize utterance_mvn \
    --asr_config "${asr_config}" \
    --inference_config "${inference_config}" \
    --inference_asr_model valid.loss.ave.pth \
    --train_set "${train_set}" \
    --valid_set "${valid_set}" \
    --test_sets "${test_sets}" "$@"
