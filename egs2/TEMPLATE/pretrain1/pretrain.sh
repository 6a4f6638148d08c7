#!/usr/bin/env bash
# pretrain.sh: pre-train a HuBERT teacher with ESPnet's own HubertTask, in HuBERT's two
# iterations, and release it as a versioned, self-describing directory that distill.sh and
# load_teacher read. A recipe's run.sh calls it with its own options; every stage is a
# `python -m espnet_distill.bin.<verb>` call, shell only orchestrates.
#
# Stages (--stage / --stop_stage; a finished stage leaves a marker and is skipped on a rerun,
# a killed training stage resumes from its checkpoint.pth):
#    1  data        the recipe's local/data.sh (Kaldi dirs under ${datadir})
#    2  units1      MFCC k-means units: targets of the first iteration
#    3  iter1       first iteration: HubertTask on the MFCC units
#    4  units2      k-means units of one layer of the first iteration's model   (--iterations 2)
#    5  iter2       second iteration: HubertTask on those units, from scratch     (--iterations 2)
#    6  release     config, weights, training log, curves and model card in --release_dir
set -euo pipefail

OPTION_TABLE=(
    "stage|1|first stage to run"
    "stop_stage|6|last stage to run"
    "force|false|rerun stages even when their markers say they are done"
    "python|python3|python interpreter with espnet_distill installed"
    "threads|2|CPU threads of the training jobs"
    "ngpu|0|GPUs per node for pre-training (0: CPU)"
    "num_nodes|1|nodes for pre-training (espnet2.bin.launch; cmd.sh's cuda_cmd must reach them)"
    "datadir|data|Kaldi data dirs"
    "expdir|exp|experiments, checkpoints and unit labels"
    "data_script|local/data.sh|stage 1: the recipe's data preparation script"
    "data_opts||options passed to the data script"
    "train_set|train|unlabelled audio of the pre-training"
    "valid_set|dev|validation set (masked-unit accuracy per epoch)"
    "iterations|2|HuBERT iterations: 1 (MFCC units only) or 2"
    "iter1_config|conf/hubert_iter1.yaml|HubertTask config of the first iteration"
    "iter1_args||extra options of espnet_distill.bin.hubert_train, first iteration"
    "num_units1|100|k-means units of the first iteration (MFCC)"
    "iter2_config|conf/hubert_iter2.yaml|HubertTask config of the second iteration"
    "iter2_args||extra options of espnet_distill.bin.hubert_train, second iteration"
    "num_units2|200|k-means units of the second iteration"
    "units2_layer|3|hidden state of the first iteration clustered for the second (1-based layer)"
    "kmeans_frames|100000|frames sampled to fit each k-means"
    "release_dir||stage 6 writes the release here (empty: \${expdir}/release)"
    "release_name|teacher|name and version of the release, e.g. mini_synth_hubert_v1"
    "release_command||command line the model card records (empty: this script's own); a recipe's run.sh passes its own"
)
. "$(dirname "$(readlink -f "$0")")/../lib/stages.sh"
[ -f ./cmd.sh ] && . ./cmd.sh   # the recipe's job commands (train_cmd, cuda_cmd, decode_cmd)
parse_options "$@"

# ---- check everything before any work starts -----------------------------------------------
is_int "${stage}" && is_int "${stop_stage}" || die "--stage and --stop_stage must be integers"
is_int "${threads}" && [ "${threads}" -ge 1 ] || die "--threads must be an integer >= 1, got '${threads}'"
is_int "${ngpu}" || die "--ngpu must be an integer >= 0, got '${ngpu}'"
is_int "${num_nodes}" && [ "${num_nodes}" -ge 1 ] || die "--num_nodes must be an integer >= 1, got '${num_nodes}'"
[[ "${iterations}" == 1 || "${iterations}" == 2 ]] || die "--iterations must be 1 or 2, got '${iterations}'"
is_bool "${force}" || die "--force must be true or false, got '${force}'"
for n in num_units1 num_units2 units2_layer kmeans_frames; do
    is_int "${!n}" && [ "${!n}" -ge 1 ] || die "--${n} must be an integer >= 1, got '${!n}'"
done
command -v "${python}" >/dev/null || die "--python ${python}: not found"
"${python}" -c "import espnet_distill" 2>/dev/null || die "${python} cannot import espnet_distill (make install, then source path.sh)"
[ -f "${iter1_config}" ] || die "--iter1_config ${iter1_config}: no such file"
[ "${iterations}" = 1 ] || [ -f "${iter2_config}" ] || die "--iter2_config ${iter2_config}: no such file"
[ "${stage}" -gt 1 ] || [ -x "${data_script}" ] || die "--data_script ${data_script}: not an executable script"
release_dir=${release_dir:-${expdir}/release}

mkdir -p "${expdir}"
export OMP_NUM_THREADS=${threads}
write_options "${expdir}/pretrain_sh.options"

# units N FEATURES [make_units options]: stage 2 / 4, the targets of iteration N
units() {
    local n=$1 num=$2
    shift 2
    "${python}" -m espnet_distill.bin.make_units --fit-dir "${datadir}/${train_set}" --num-units "${num}" \
        --label-dir "${datadir}/${train_set}" --label-dir "${datadir}/${valid_set}" \
        --max-frames "${kmeans_frames}" --out "${expdir}/units${n}" "$@"
}

# iteration N CONFIG NUM_UNITS ARGS: stage 3 / 5, HubertTask on the units of iteration N
iteration() {
    local n=$1 config=$2 num=$3 extra=$4 dir=${expdir}/iter$1
    train_dir "${dir}"
    # shellcheck disable=SC2086
    launch "iteration ${n}" "${dir}" "${python}" -m espnet_distill.bin.hubert_train --config "${config}" \
        --output_dir "${dir}" --num_classes "${num}" --token_list "${expdir}/units${n}/tokens.txt" \
        --train_data_path_and_name_and_type "${datadir}/${train_set}/wav.scp,speech,sound" \
        --train_data_path_and_name_and_type "${expdir}/units${n}/${train_set}.km,text,text" \
        --train_shape_file "${datadir}/${train_set}/utt2num_samples" \
        --valid_data_path_and_name_and_type "${datadir}/${valid_set}/wav.scp,speech,sound" \
        --valid_data_path_and_name_and_type "${expdir}/units${n}/${valid_set}.km,text,text" \
        --valid_shape_file "${datadir}/${valid_set}/utt2num_samples" \
        --resume true ${extra} || die "iteration ${n} failed, see ${dir}/train.log (and ${dir}/launch.log)"
}

# ---- stages ----------------------------------------------------------------------------------
if stage_on 1 && todo 1 data; then
    begin 1 "data preparation (${data_script} ${data_opts})"
    # shellcheck disable=SC2086
    "${data_script}" --datadir "${datadir}" ${data_opts}
    for set in "${train_set}" "${valid_set}"; do
        [ -f "${datadir}/${set}/wav.scp" ] || die "${data_script} made no ${datadir}/${set}/wav.scp"
    done
    finish 1 data; mark_done data
fi

if stage_on 2 && todo 2 units1; then
    begin 2 "${num_units1} MFCC k-means units: targets of the first iteration"
    units 1 "${num_units1}" --features mfcc
    finish 2 units1; mark_done units1
fi

if stage_on 3 && todo 3 iter1; then
    begin 3 "first iteration with ESPnet's HubertTask: ${expdir}/iter1/train.log"
    iteration 1 "${iter1_config}" "${num_units1}" "${iter1_args}"
    finish 3 iter1; mark_done iter1
fi

if [ "${iterations}" = 2 ] && stage_on 4 && todo 4 units2; then
    begin 4 "${num_units2} k-means units of layer ${units2_layer} of the first iteration"
    units 2 "${num_units2}" --features "teacher:${expdir}/iter1" --layer "${units2_layer}"
    finish 4 units2; mark_done units2
fi

if [ "${iterations}" = 2 ] && stage_on 5 && todo 5 iter2; then
    begin 5 "second iteration with ESPnet's HubertTask: ${expdir}/iter2/train.log"
    iteration 2 "${iter2_config}" "${num_units2}" "${iter2_args}"
    finish 5 iter2; mark_done iter2
fi

if stage_on 6; then
    begin 6 "release ${release_name} in ${release_dir}"
    iters=(); for n in $(seq 1 "${iterations}"); do iters+=(--iteration "${expdir}/iter${n}"); done
    "${python}" -m espnet_distill.bin.release_teacher "${iters[@]}" --name "${release_name}" \
        --corpus "${datadir}/corpus.json" --timing "${expdir}/timing.tsv" \
        --command "${release_command:-$0 $*}" --out "${release_dir}"
    finish 6 release
    log "release: ${release_dir}/MODEL_CARD.md"
fi
log "Finished stages ${stage}-${stop_stage}"
