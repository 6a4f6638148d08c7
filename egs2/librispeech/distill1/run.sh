#!/usr/bin/env bash
# librispeech/distill1: the paper at full scale. HuBERT Base (fairseq hubert_base_ls960.pt) distilled
# on LibriSpeech 960 h into the S&W (DistilHuBERT), D&T or D&T-fbank student, with or without
# L_disc; then character-CTC fine-tuning on train-clean-100 of the distilled student and of the same
# student from scratch, decoding of test-clean and test-other, scoring, speed and the report.
# For Libri-light 10 h / 1 h and SUPERB through ESPnet's stock asr.sh, use egs2/librispeech_100/asr1
# with the exported student (exp/<config>/student/student.pth).
#
#   ./run.sh --librispeech /data --config dt_fbank_disc            # one GPU
#   ./run.sh --librispeech /data --config sw_cnn_reg --ngpu 4      # DDP on 4 GPUs (espnet2.bin.launch)
#   ./run.sh --smoke true --config dt_cnn_disc                     # offline smoke run on the CPU
#
# --config picks conf/distill_<config>.yaml (which names the student):
#   sw_cnn_reg  sw_cnn_disc  dt_cnn_reg  dt_cnn_disc  dt_fbank_reg  dt_fbank_disc  sw_fbank_disc
#
# --smoke true is the real recipe cut short: it synthesises a small LibriSpeech-shaped tree (all
# seven parts), writes a full-size HuBERT Base with random weights in fairseq's released layout,
# and runs every stage with the same options and code as a real run, on the CPU, with only the
# update counts, the batches, the crop length and the number of decoded utterances cut. Students
# keep their real sizes; the numbers mean nothing. Output: exp_smoke/<config>/report.json.
#
# Jobs run through cmd.sh (this machine by default; slurm / SGE documented there). Defaults of a
# real run: --ngpu 1 --threads 8 --nj 16 --inference_nj 32 (decoding on the CPU); every other
# option goes to distill.sh (./distill.sh --help).
#
# Expected cost (25k updates of 12 utterances, fp16): about 3-4 GPU-hours on a V100-class GPU per
# CNN config, less for the fbank students. This is an estimate scaled from DistilHuBERT's
# reported ~55 GPU-hours for 200k updates of 24 utterances; it was not measured here (the
# project's own machines have no GPU). Stage 1 needs ~60 GB for LibriSpeech (--download true
# fetches it); the teacher is 1.1 GB.
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

librispeech=
config=dt_fbank_disc
download=false
smoke=false
smoke_dir=.
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
            echo "run.sh options: --librispeech DIR (required unless --smoke true), --config NAME [dt_fbank_disc],"
            echo "                --download BOOL [false], --smoke BOOL [false], --smoke_dir DIR [.]: where a smoke run writes"
            echo
            exec ./distill.sh --help ;;
        --librispeech|--config|--download|--smoke|--smoke_dir)
            [ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; exit 2; }
            printf -v "${1#--}" '%s' "$2"; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
[[ "${smoke}" == true || "${smoke}" == false ]] || { echo "run.sh: --smoke must be true or false" >&2; exit 2; }
distill_config=conf/distill_${config}.yaml
[ -f "${distill_config}" ] || { echo "run.sh: no ${distill_config} (see --help)" >&2; exit 2; }

# the student the config names: configs distilling the same student share its from-scratch control
plan_log=$(mktemp)
plan=$(python3 -m espnet_distill.bin.distill_plan --config "${distill_config}" --get student --get frontend_steps \
    2>"${plan_log}") || { echo "run.sh: ${distill_config}: python3 -m espnet_distill.bin.distill_plan failed:" >&2;
                           tail -n 20 "${plan_log}" >&2; rm -f "${plan_log}"; exit 2; }
rm -f "${plan_log}"
{ read -r student; read -r frontend_steps; } <<<"${plan}"
exp=exp; [ "${smoke}" = true ] && exp=${smoke_dir}/exp_smoke
s=${smoke_dir}
common=(--data_script local/data.sh --train_set train_960 --valid_set dev --labelled_set train_clean_100
        --test_sets "test_clean test_other" --distill_config "${distill_config}"
        --asr_config conf/finetune_ctc.yaml --inference_asr_model valid.cer_ctc.best.pth
        --expdir "${exp}/${config}" --control_dir "${exp}/control_${student}")
if [ "${smoke}" = true ]; then
    # the same stages and options; only the update counts, batches, crops, decoded utterances and timed variants (fp32 only) are cut
    smoke_distill="--max_epoch 1 --num_iters_per_epoch 4 --max_samples 16000 --batch_size 4 --num_workers 1"
    [ "${frontend_steps:-0}" -gt 0 ] && smoke_distill+=" --distill_conf frontend_steps=2"   # both stages run
    ./distill.sh "${common[@]}" \
        --data_opts "--smoke true --librispeech ${s}/downloads_smoke --teacher_out ${s}/downloads_smoke/hubert_base_ls960.pt" \
        --teacher "${s}/downloads_smoke/hubert_base_ls960.pt" \
        --datadir "${s}/data_smoke" --dumpdir "${s}/dump_smoke" \
        --ngpu 0 --inference_ngpu 0 --threads 2 --nj 2 --inference_nj 1 --decode_utts 3 \
        --distill_args "${smoke_distill}" --asr_args "--max_epoch 1 --num_iters_per_epoch 2 --batch_bins 160000 --num_workers 1" \
        --benchmark_args "--durations 1 --repeats 1 --variants fp32" \
        "${args[@]+"${args[@]}"}"
else
    [ -n "${librispeech}" ] || { echo "run.sh: --librispeech DIR is required (see --help)" >&2; exit 2; }
    ./distill.sh "${common[@]}" \
        --data_opts "--librispeech ${librispeech} --download ${download} --download_teacher true" \
        --teacher downloads/hubert_base_ls960.pt \
        --ngpu 1 --threads 8 --nj 16 --inference_nj 32 \
        --benchmark_args "--durations 2 5 10 15 --repeats 10" \
        "${args[@]+"${args[@]}"}"
fi
