#!/usr/bin/env bash
# distill.sh: distil a HuBERT teacher into a small student and measure what it gives for ASR
# (Wang et al., "Exploring Effective Distillation of Self-Supervised Speech Models for ASR",
# arXiv 2210.15631). A recipe's run.sh calls it with its own options; every stage is a
# `python -m espnet_distill.bin.<verb>` call, shell only orchestrates. Jobs go through the job
# commands of the recipe's cmd.sh (train_cmd, cuda_cmd, decode_cmd; default: run_local.sh, this
# machine), training jobs through espnet2.bin.launch (--ngpu, --num_nodes).
#
# Stages (--stage / --stop_stage; a finished stage leaves a marker and is skipped on a rerun,
# a killed training stage resumes from its checkpoint.pth):
#    1  data        the recipe's local/data.sh (Kaldi dirs under ${datadir})
#    2  cmvn        global fbank CMVN statistics of (a random subset of) the training set;
#                   fbank students only
#    3  units       MFCC k-means units: targets of the teacher's pre-training   (no --teacher)
#    4  teacher     pre-train a HuBERT teacher with ESPnet's HubertTask          (no --teacher);
#                   on the CPU the from-scratch control fine-tunes meanwhile
#    5  distill     distillation with DistillTask on ESPnet's Trainer
#    6  export      drop the distillation heads, write the student checkpoint
#    7  finetune    character-CTC fine-tuning of the student (and of the control) per seed
#    8  decode      ESPnet asr_inference on the test sets, split into --inference_nj jobs
#    9  score       CER / WER with jiwer, per arm, seed and test set
#   10  frozen      SUPERB-style frozen comparison (--frozen true): teacher, student, the same
#                   student with random weights and fbank, each under the same weighted-sum +
#                   BiLSTM CTC downstream trained on ${labelled_set}, --frozen_seeds seeds each
#   11  benchmark   teacher vs student: parameters and speed, measured side by side
#   12  report      ${expdir}/report.{md,json} and plots
set -euo pipefail

OPTION_TABLE=(
    "stage|1|first stage to run"
    "stop_stage|12|last stage to run"
    "force|false|rerun stages even when their markers say they are done"
    "python|python3|python interpreter with espnet_distill installed"
    "threads|2|CPU threads per job (two jobs share the cores while the teacher trains)"
    "nj|2|parallel CPU jobs of the data steps (CMVN statistics)"
    "ngpu|0|GPUs per node of the training jobs (0: CPU)"
    "num_nodes|1|nodes of the training jobs (espnet2.bin.launch; cmd.sh's cuda_cmd must reach them)"
    "datadir|data|Kaldi data dirs"
    "expdir|exp|experiments, checkpoints and the report"
    "dumpdir|dump|token list and shape files"
    "data_script|local/data.sh|stage 1: the recipe's data preparation script"
    "data_opts||options passed to the data script"
    "train_set|train|unlabelled audio for teacher pre-training and distillation"
    "valid_set|dev|validation set"
    "labelled_set|train_labelled|labelled subset for fine-tuning"
    "test_sets|test|space-separated test sets to decode"
    "teacher||teacher checkpoint (any format load_teacher reads); empty: pre-train one (stages 3-4)"
    "teacher_config|conf/pretrain/hubert_tiny.yaml|ESPnet HubertTask config of the pre-trained teacher"
    "teacher_args||extra options of espnet_distill.bin.hubert_train"
    "num_units|100|k-means units of the teacher's targets"
    "student||override the student the distillation config names (preset or YAML)"
    "distill_config|conf/distill/tiny_fbank_disc.yaml|DistillTask config (it names the student)"
    "distill_args||extra options of espnet_distill.bin.distill_train"
    "cmvn_utts|5000|stage 2: CMVN of a random subset of this many utterances (0: all)"
    "asr_config|conf/asr/finetune_ctc.yaml|fine-tuning config (frontend: distill_student)"
    "asr_args||extra options of espnet_distill.bin.asr_train"
    "speech_fold_length|80000|fine-tuning: fold length of speech in samples (asr.sh's default for raw audio)"
    "text_fold_length|150|fine-tuning: fold length of text in characters (asr.sh's default)"
    "inference_args|--beam_size 1 --ctc_weight 1.0 --lm_weight 0.0|options of espnet_distill.bin.asr_inference"
    "inference_asr_model|valid.loss.best.pth|model file of each fine-tuning run to decode (the asr config's best_model_criterion names it)"
    "inference_nj|2|decoding jobs per test set (decode_cmd)"
    "inference_ngpu|0|GPUs per decoding job"
    "decode_utts|0|decode only the first N utterances of each test set (0: all)"
    "control|true|also fine-tune the same student from a random initialisation"
    "control_dir||where the control is fine-tuned and decoded (default \${expdir}/control); runs that distil the same student with other configs may share one"
    "seeds|1|fine-tuning seeds per arm (distilled, control): the report gives mean and spread"
    "frozen|false|stage 10: the SUPERB-style frozen comparison (the teacher must be an ESPnet HuBERT experiment or release)"
    "frozen_seeds|3|stage 10: downstream seeds per upstream"
    "frozen_args||extra options of espnet_distill.bin.frozen_eval (e.g. --conf updates=600)"
    "benchmark_args|--durations 10 --repeats 5|options of the speed benchmark (stage 11)"
)
. "$(dirname "$(readlink -f "$0")")/../lib/stages.sh"
[ -f ./cmd.sh ] && . ./cmd.sh   # the recipe's job commands (train_cmd, cuda_cmd, decode_cmd)
parse_options "$@"

# ---- check everything before any work starts -----------------------------------------------
is_int "${stage}" && is_int "${stop_stage}" || die "--stage and --stop_stage must be integers"
for n in seeds frozen_seeds; do
    is_int "${!n}" && [ "${!n}" -ge 1 ] || die "--${n} must be an integer >= 1, got '${!n}'"
done
for n in threads nj num_nodes inference_nj; do
    is_int "${!n}" && [ "${!n}" -ge 1 ] || die "--${n} must be an integer >= 1, got '${!n}'"
done
for n in ngpu inference_ngpu decode_utts cmvn_utts speech_fold_length text_fold_length; do
    is_int "${!n}" || die "--${n} must be an integer >= 0, got '${!n}'"
done
for flag in force control frozen; do
    is_bool "${!flag}" || die "--${flag} must be true or false, got '${!flag}'"
done
command -v "${python}" >/dev/null || die "--python ${python}: not found"
"${python}" -c "import espnet_distill" 2>/dev/null || die "${python} cannot import espnet_distill (make install, then source path.sh)"
for cfg in distill_config asr_config; do
    [ -f "${!cfg}" ] || die "--${cfg} ${!cfg}: no such file"
done
if [ -n "${teacher}" ]; then  # stage 1 may fetch it (the data script); afterwards it must exist
    stage_on 1 || [ -e "${teacher}" ] || die "--teacher ${teacher}: no such file or directory"
else
    [ -f "${teacher_config}" ] || die "--teacher_config ${teacher_config}: no such file"
fi
[ "${stage}" -gt 1 ] || [ -x "${data_script}" ] || die "--data_script ${data_script}: not an executable script"
for cmd in train_cmd cuda_cmd decode_cmd; do
    command -v "${!cmd%% *}" >/dev/null || die "${cmd}=${!cmd}: ${!cmd%% *} not found (cmd.sh; source path.sh)"
done
if [ "${cuda_cmd%% *}" = run_local.sh ] && [ "$((ngpu + inference_ngpu))" -gt 0 ]; then  # jobs run here
    have=$("${python}" -c "import torch; print(torch.cuda.device_count())")
    [ "${have}" -ge "$((ngpu > inference_ngpu ? ngpu : inference_ngpu))" ] || die \
        "--ngpu ${ngpu} / --inference_ngpu ${inference_ngpu}, but this machine has ${have} GPU(s): use --ngpu 0 --inference_ngpu 0 to run on the CPU, or a cluster launcher in cmd.sh"
fi

mkdir -p "${expdir}" "${dumpdir}"
# What the distillation will do, resolved as distill_train resolves it (the student is named once,
# in the config; --student overrides it): its warnings are shown now, not after hours.
# shellcheck disable=SC2086
plan_args=(--config "${distill_config}" ${distill_args})
[ -z "${student}" ] || plan_args+=(--student "${student}")
plan_values=$("${python}" -m espnet_distill.bin.distill_plan "${plan_args[@]}" --json "${expdir}/distill_plan.json" \
    --get student --get needs_cmvn 2>"${expdir}/distill_plan.log") \
    || die "--distill_config ${distill_config} ${distill_args}: distill_plan failed: $(tail -n 5 "${expdir}/distill_plan.log")"
grep -h "warning:" "${expdir}/distill_plan.log" | while read -r line; do log "${line#*warning: }"; done || true
{ read -r student_spec; read -r needs_cmvn; } <<<"${plan_values}"

teacher_dir=${expdir}/teacher
teacher_path=${teacher:-${teacher_dir}}
student_ckpt=${expdir}/student/student.pth
cmvn=; [ "${needs_cmvn}" = true ] && cmvn=${expdir}/cmvn.npz
control_dir=${control_dir:-${expdir}/control}
export OMP_NUM_THREADS=${threads}
write_options "${expdir}/distill_sh.options"

control_pid=
stop_control() { [ -z "${control_pid}" ] || kill_tree "${control_pid}"; }
trap stop_control EXIT   # the background control never outlives this script

# where an arm's fine-tuning of one seed lives, and its markers: the control's in --control_dir
# (linked into ${expdir} for the report), the distilled arm's in ${expdir}
arm_root() { if [ "$1" = control ]; then echo "${control_dir}"; else echo "${expdir}"; fi; }
arm_dir() { echo "$(arm_root "$1")/asr_$1_seed$2"; }
arm_done() { [ "${force}" = false ] && [ -f "$(arm_root "$1")/.done/$2" ]; }
arm_mark() { mkdir -p "$(arm_root "$1")/.done"; date '+%Y-%m-%dT%H:%M:%S' >"$(arm_root "$1")/.done/$2"; }

# fine-tune one arm ("distilled" or "control") with one seed, into arm_dir
finetune() {
    local arm=$1 seed=$2 ckpt=$3 dir
    dir=$(arm_dir "$1" "$2")
    arm_done "${arm}" "finetune_${arm}_${seed}" && { log "fine-tune ${arm} seed ${seed}: done before (${dir}), skipped"; return 0; }
    log "fine-tune ${arm} seed ${seed}: ${dir}/train.log"
    train_dir "${dir}"
    # shellcheck disable=SC2086
    launch "fine-tune ${arm} ${seed}" "${dir}" "${python}" -m espnet_distill.bin.asr_train --config "${asr_config}" \
        --output_dir "${dir}" --seed "${seed}" \
        --token_type char --token_list "${dumpdir}/asr/tokens.txt" \
        --frontend_conf "student=${ckpt}" \
        --train_data_path_and_name_and_type "${datadir}/${labelled_set}/wav.scp,speech,sound" \
        --train_data_path_and_name_and_type "${datadir}/${labelled_set}/text,text,text" \
        --train_shape_file "${dumpdir}/asr/${labelled_set}/speech_shape" \
        --train_shape_file "${dumpdir}/asr/${labelled_set}/text_shape.char" \
        --valid_data_path_and_name_and_type "${datadir}/${valid_set}/wav.scp,speech,sound" \
        --valid_data_path_and_name_and_type "${datadir}/${valid_set}/text,text,text" \
        --valid_shape_file "${dumpdir}/asr/${valid_set}/speech_shape" \
        --valid_shape_file "${dumpdir}/asr/${valid_set}/text_shape.char" \
        --fold_length "${speech_fold_length}" --fold_length "${text_fold_length}" \
        --resume true ${asr_args} || die "fine-tuning failed, see ${dir}/train.log (and ${dir}/launch.log)"
    arm_mark "${arm}" "finetune_${arm}_${seed}"
}

# the from-scratch control: random student (same architecture and CMVN), all seeds; runs that
# share --control_dir take turns (a lock), and a finished seed is skipped
control_all() {
    local seed lock
    show_progress=false  # runs in the background: its log is enough
    mkdir -p "${control_dir}"
    exec {lock}>"${control_dir}/.lock"
    flock "${lock}"
    for seed in $(seq 1 "${seeds}"); do
        arm_done control "finetune_control_${seed}" || "${python}" -m espnet_distill.bin.init_student \
            --student "${student_spec}" ${cmvn:+--cmvn "${cmvn}"} --seed "${seed}" \
            --out "${control_dir}/student_seed${seed}.pth"
        finetune control "${seed}" "${control_dir}/student_seed${seed}.pth"
    done
    flock -u "${lock}"
}

# On the CPU the control fine-tunes beside the teacher or the distilled arm (cores are shared by
# two jobs); on GPUs it runs after the distilled arm, so the two never share the devices.
start_control() {
    [ "${control}" = true ] && [ "${ngpu}" -eq 0 ] && [ -z "${control_pid}" ] || return 0
    log "Stage $1: the from-scratch control fine-tunes in the background (${expdir}/control.log)"
    export OMP_NUM_THREADS=$(( threads > 1 ? threads / 2 : 1 ))
    control_all >"${expdir}/control.log" 2>&1 &
    control_pid=$!
    background_pid=${control_pid}
}
wait_control() {
    if [ -n "${control_pid}" ]; then
        log "waiting for the control fine-tuning (${expdir}/control.log)"
        wait "${control_pid}" || { control_pid=; die "control fine-tuning failed, see ${expdir}/control.log"; }
        control_pid=; background_pid=
    fi
    export OMP_NUM_THREADS=${threads}
}

arms() { echo distilled; [ "${control}" = true ] && echo control; return 0; }

# ---- stages ----------------------------------------------------------------------------------
if stage_on 1 && todo 1 data; then
    begin 1 "data preparation (${data_script} ${data_opts})"
    # shellcheck disable=SC2086
    "${data_script}" --datadir "${datadir}" ${data_opts}
    for set in "${train_set}" "${valid_set}" "${labelled_set}" ${test_sets}; do
        [ -f "${datadir}/${set}/wav.scp" ] || die "${data_script} made no ${datadir}/${set}/wav.scp"
    done
    [ -z "${teacher}" ] || [ -e "${teacher}" ] || die "--teacher ${teacher}: not there after stage 1"
    "${python}" -m espnet_distill.bin.prepare_asr --train-dir "${datadir}/${labelled_set}" \
        --data-dir "${datadir}/${labelled_set}" --data-dir "${datadir}/${valid_set}" --out "${dumpdir}/asr"
    finish 1 data; mark_done data
fi

if [ "${needs_cmvn}" = true ] && stage_on 2 && todo 2 cmvn; then
    begin 2 "fbank CMVN statistics of ${datadir}/${train_set} (${cmvn_utts} random utterances, 0 = all; ${nj} jobs)"
    _subset=(); [ "${cmvn_utts}" -gt 0 ] && _subset=(--max-utts "${cmvn_utts}")
    "${python}" -m espnet_distill.bin.compute_cmvn --data-dir "${datadir}/${train_set}" "${_subset[@]}" \
        --jobs "${nj}" --no-progress --out "${cmvn}"
    finish 2 cmvn; mark_done cmvn
fi

if [ -z "${teacher}" ] && stage_on 3 && todo 3 units; then
    begin 3 "${num_units} MFCC k-means units for the teacher's pre-training"
    "${python}" -m espnet_distill.bin.make_units --fit-dir "${datadir}/${train_set}" --num-units "${num_units}" \
        --label-dir "${datadir}/${train_set}" --label-dir "${datadir}/${valid_set}" --out "${expdir}/units"
    finish 3 units; mark_done units
fi

if [ -z "${teacher}" ] && stage_on 4 && todo 4 teacher; then
    begin 4 "pre-training the teacher with ESPnet's HubertTask: ${teacher_dir}/train.log"
    [ "${stop_stage}" -ge 7 ] && start_control 4
    train_dir "${teacher_dir}"
    # shellcheck disable=SC2086
    launch teacher "${teacher_dir}" "${python}" -m espnet_distill.bin.hubert_train --config "${teacher_config}" \
        --output_dir "${teacher_dir}" --num_classes "${num_units}" --token_list "${expdir}/units/tokens.txt" \
        --train_data_path_and_name_and_type "${datadir}/${train_set}/wav.scp,speech,sound" \
        --train_data_path_and_name_and_type "${expdir}/units/${train_set}.km,text,text" \
        --train_shape_file "${datadir}/${train_set}/utt2num_samples" \
        --valid_data_path_and_name_and_type "${datadir}/${valid_set}/wav.scp,speech,sound" \
        --valid_data_path_and_name_and_type "${expdir}/units/${valid_set}.km,text,text" \
        --valid_shape_file "${datadir}/${valid_set}/utt2num_samples" \
        --resume true ${teacher_args} || die "teacher pre-training failed, see ${teacher_dir}/train.log"
    finish 4 teacher; mark_done teacher
fi

if stage_on 5 && todo 5 distill; then
    begin 5 "distillation of ${student_spec} from ${teacher_path}: ${expdir}/distill/train.log"
    train_dir "${expdir}/distill"
    # shellcheck disable=SC2086
    launch distill "${expdir}/distill" "${python}" -m espnet_distill.bin.distill_train \
        --config "${distill_config}" --output_dir "${expdir}/distill" \
        --teacher "${teacher_path}" ${student:+--student "${student}"} ${cmvn:+--cmvn "${cmvn}"} \
        --train_data_path_and_name_and_type "${datadir}/${train_set}/wav.scp,speech,sound" \
        --train_shape_file "${datadir}/${train_set}/utt2num_samples" \
        --valid_data_path_and_name_and_type "${datadir}/${valid_set}/wav.scp,speech,sound" \
        --valid_shape_file "${datadir}/${valid_set}/utt2num_samples" \
        --resume true ${distill_args} || die "distillation failed, see ${expdir}/distill/train.log"
    finish 5 distill; mark_done distill
fi

if stage_on 6 && todo 6 export; then
    begin 6 "export the student to ${student_ckpt}"
    "${python}" -m espnet_distill.bin.export_student "${expdir}/distill" --out "${student_ckpt}" >"${expdir}/student.export.json"
    finish 6 export; mark_done export
fi

if stage_on 7; then
    begin 7 "fine-tuning with character CTC on ${labelled_set}, ${seeds} seed(s)"
    start_control 7
    for seed in $(seq 1 "${seeds}"); do
        finetune distilled "${seed}" "${student_ckpt}"
    done
    wait_control
    [ "${control}" = true ] && [ "${ngpu}" -gt 0 ] && control_all  # on GPUs: after the distilled arm
    finish 7 finetune
else
    wait_control
fi
if [ "${control}" = true ]; then  # the report reads both arms from ${expdir}
    for seed in $(seq 1 "${seeds}"); do
        if [ -d "$(arm_dir control "${seed}")" ]; then
            ln -sfn "$(cd "$(arm_dir control "${seed}")" && pwd)" "${expdir}/asr_control_seed${seed}"
        fi
    done
fi

# decode ARM SEED SET: asr_inference of one test set in ${inference_nj} jobs (${decode_cmd}),
# merged into decode_<set>/1best_recog/ as asr.sh merges its jobs
decode() {
    local dir set=$3 out logdir keys nj f i
    dir=$(arm_dir "$1" "$2")
    [ -f "${dir}/${inference_asr_model}" ] || die "${dir}/${inference_asr_model}: no such model file; --inference_asr_model must name one of the best_model_criterion files of ${asr_config} ($(cd "${dir}" && ls -- *.best.pth 2>/dev/null | tr '\n' ' '))"
    out=${dir}/decode_${set}; logdir=${out}/logdir
    mkdir -p "${logdir}"
    keys=${logdir}/keys.scp
    if [ "${decode_utts}" -gt 0 ]; then head -n "${decode_utts}" "${datadir}/${set}/wav.scp"; else cat "${datadir}/${set}/wav.scp"; fi \
        | awk '{print $1}' >"${keys}"
    nj=$(( inference_nj < $(wc -l <"${keys}") ? inference_nj : $(wc -l <"${keys}") ))
    awk -v n="${nj}" -v d="${logdir}" '{print > (d "/keys." ((NR - 1) % n + 1) ".scp")}' "${keys}"
    # shellcheck disable=SC2086
    # jobs of one array share the --threads cores (no more threads than cores: see launch)
    ${decode_cmd} --gpu "${inference_ngpu}" --num_threads "$(( threads > nj ? threads / nj : 1 ))" JOB=1:"${nj}" \
        "${logdir}/asr_inference.JOB.log" \
        "${python}" -m espnet_distill.bin.asr_inference --ngpu "${inference_ngpu}" --batch_size 1 ${inference_args} \
        --data_path_and_name_and_type "${datadir}/${set}/wav.scp,speech,sound" --key_file "${logdir}/keys.JOB.scp" \
        --asr_train_config "${dir}/config.yaml" --asr_model_file "${dir}/${inference_asr_model}" \
        --output_dir "${logdir}/output.JOB" || die "decoding failed, see ${logdir}/asr_inference.*.log"
    mkdir -p "${out}/1best_recog"
    for f in text token score; do
        for i in $(seq "${nj}"); do
            [ -f "${logdir}/output.${i}/1best_recog/${f}" ] && cat "${logdir}/output.${i}/1best_recog/${f}"
        done | LC_ALL=C sort -k1,1 >"${out}/1best_recog/${f}"
    done
    awk '{print $1}' "${out}/1best_recog/text" | cmp -s - <(LC_ALL=C sort "${keys}") \
        || die "decoding of ${set} with ${dir}: the merged output does not cover ${keys}"
}

if stage_on 8; then
    begin 8 "decoding ${test_sets} (${inference_nj} jobs each$([ "${decode_utts}" -gt 0 ] && echo ", first ${decode_utts} utterances"))"
    for arm in $(arms); do for seed in $(seq 1 "${seeds}"); do for set in ${test_sets}; do
        arm_done "${arm}" "decode_${arm}_${seed}_${set}_${decode_utts}" && continue
        log "decoding ${set} with ${arm} seed ${seed}"
        decode "${arm}" "${seed}" "${set}"
        arm_mark "${arm}" "decode_${arm}_${seed}_${set}_${decode_utts}"
    done; done; done
    finish 8 decode
fi

if stage_on 9; then
    begin 9 "scoring"
    score_args=(); scored=()
    for arm in $(arms); do for seed in $(seq 1 "${seeds}"); do for set in ${test_sets}; do
        dir=$(arm_dir "${arm}" "${seed}")/decode_${set}
        score_args+=(--ref "${datadir}/${set}/text" --key_file "${dir}/logdir/keys.scp" \
                     --hyp "${dir}/1best_recog/text" --json "${dir}/score.json")
        scored+=("${arm} seed ${seed} ${set}")
    done; done; done
    scores=$("${python}" -m espnet_distill.bin.score "${score_args[@]}") || die "scoring failed"
    i=0
    while read -r line; do log "  ${scored[${i}]}: ${line// /}"; i=$((i + 1)); done <<<"${scores}"
    finish 9 score
fi

if [ "${frozen}" = true ] && stage_on 10 && todo 10 frozen; then
    begin 10 "SUPERB-style frozen comparison, ${frozen_seeds} seed(s) per upstream: ${expdir}/frozen/frozen_eval.log"
    mkdir -p "${expdir}/frozen"
    for seed in $(seq 1 "${frozen_seeds}"); do  # the same student with random weights, one per seed
        [ -f "${expdir}/frozen/random_seed${seed}.pth" ] || "${python}" -m espnet_distill.bin.init_student \
            --student "${student_spec}" ${cmvn:+--cmvn "${cmvn}"} --seed "${seed}" \
            --out "${expdir}/frozen/random_seed${seed}.pth"
    done
    _tests=(); for set in ${test_sets}; do _tests+=(--test_dir "${datadir}/${set}"); done
    # shellcheck disable=SC2086
    "${python}" -m espnet_distill.bin.frozen_eval --out "${expdir}/frozen" --threads "${threads}" \
        --upstream "teacher=${teacher_path}" --upstream "student=${student_ckpt}" \
        --upstream "random=${expdir}/frozen/random_seed{seed}.pth" --upstream fbank \
        --train_dir "${datadir}/${labelled_set}" --valid_dir "${datadir}/${valid_set}" "${_tests[@]}" \
        --token_list "${dumpdir}/asr/tokens.txt" --seeds "${frozen_seeds}" ${frozen_args} \
        >"${expdir}/frozen/summary.txt" 2>"${expdir}/frozen/frozen_eval.log" \
        || die "frozen comparison failed, see ${expdir}/frozen/frozen_eval.log"
    while read -r line; do log "  ${line}"; done <"${expdir}/frozen/summary.txt"
    finish 10 frozen; mark_done frozen
fi

if stage_on 11 && todo 11 benchmark; then
    begin 11 "speed of the teacher and the student, side by side"
    # shellcheck disable=SC2086
    "${python}" -m espnet_distill.bin.benchmark --model "teacher=${teacher_path}" --model "student=${student_ckpt}" \
        --threads "${threads}" ${benchmark_args} --json "${expdir}/benchmark.json" >"${expdir}/benchmark.md"
    finish 11 benchmark; mark_done benchmark
fi

if stage_on 12; then
    begin 12 "report"
    "${python}" -m espnet_distill.bin.report --expdir "${expdir}" --test_sets "${test_sets}" --seeds "${seeds}"
    log "report: ${expdir}/report.md"
fi
log "Finished stages ${stage}-${stop_stage}"
