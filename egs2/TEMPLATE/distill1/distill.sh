#!/usr/bin/env bash
# distill.sh: distil a HuBERT teacher into a small student and measure what it gives for ASR
# (Wang et al., "Exploring Effective Distillation of Self-Supervised Speech Models for ASR",
# arXiv 2210.15631). A recipe's run.sh calls it with its own options; every stage is a
# `python -m espnet_distill.bin.<verb>` call, shell only orchestrates.
#
# Stages (--stage / --stop_stage; a finished stage leaves a marker and is skipped on a rerun,
# a killed training stage resumes from its checkpoint.pth):
#    1  data        the recipe's local/data.sh (Kaldi dirs under ${datadir})
#    2  cmvn        global fbank CMVN statistics of the training set (fbank students)
#    3  units       MFCC k-means units: targets of the teacher's pre-training   (no --teacher)
#    4  teacher     pre-train a HuBERT teacher with ESPnet's HubertTask          (no --teacher);
#                   the from-scratch control fine-tunes meanwhile, in parallel
#    5  distill     distillation with DistillTask on ESPnet's Trainer
#    6  export      drop the distillation heads, write the student checkpoint
#    7  finetune    character-CTC fine-tuning of the student (and of the control) per seed
#    8  decode      ESPnet asr_inference on the test sets
#    9  score       CER / WER with jiwer
#   10  benchmark   teacher vs student: parameters and speed, measured side by side
#   11  report      ${expdir}/report.{md,json} and plots
set -euo pipefail

# ---- options: name|default|help (the help text is generated from this table) -------------
OPTION_TABLE=(
    "stage|1|first stage to run"
    "stop_stage|11|last stage to run"
    "force|false|rerun stages even when their markers say they are done"
    "python|python3|python interpreter with espnet_distill installed"
    "threads|2|CPU threads per job (two jobs share the cores while the teacher trains)"
    "ngpu|0|GPUs for teacher pre-training, distillation and fine-tuning (0: CPU)"
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
    "student|tiny_fbank|student preset or YAML (the distilled and the control student)"
    "distill_config|conf/distill/tiny_fbank_disc.yaml|DistillTask config"
    "distill_args||extra options of espnet_distill.bin.distill_train"
    "asr_config|conf/asr/finetune_ctc.yaml|fine-tuning config (frontend: distill_student)"
    "asr_args||extra options of espnet_distill.bin.asr_train"
    "inference_args|--beam_size 1 --ctc_weight 1.0 --lm_weight 0.0|options of espnet_distill.bin.asr_inference"
    "control|true|also fine-tune the same student from a random initialisation"
    "seeds|1|fine-tuning seeds per arm (distilled, control): the report gives mean and spread"
    "benchmark_args|--durations 10 --repeats 5|options of the speed benchmark (stage 10)"
)

usage() {
    echo "Usage: $0 [options]"
    echo
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    echo "Options (default in brackets):"
    local entry name default text
    for entry in "${OPTION_TABLE[@]}"; do
        IFS='|' read -r name default text <<<"${entry}"
        printf '  --%-16s %s [%s]\n' "${name}" "${text}" "${default}"
    done
}

log() {  # timestamped progress on stderr: "<time> (distill.sh:<line>) <message>"
    local depth=0  # begin/die report the line that called them
    case "${FUNCNAME[1]:-}" in begin|die) depth=1 ;; esac
    printf '%s (%s:%s) %s\n' "$(date '+%Y-%m-%dT%H:%M:%S')" "$(basename "$0")" "${BASH_LINENO[${depth}]}" "$*" >&2
}

die() { log "Error: $*"; exit 2; }

declare -A KNOWN=()
for entry in "${OPTION_TABLE[@]}"; do
    IFS='|' read -r name default _ <<<"${entry}"
    KNOWN[${name}]=1
    printf -v "${name}" '%s' "${default}"
done

while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --*=*) opt=${1%%=*}; value=${1#*=}; shift ;;
        --*) opt=$1; [ $# -ge 2 ] || die "option $1 needs a value"; value=$2; shift 2 ;;
        *) die "unexpected argument '$1': options only (see --help)" ;;
    esac
    name=${opt#--}; name=${name//-/_}
    [ -n "${KNOWN[${name}]+x}" ] || die "unknown option ${opt} (see --help)"
    printf -v "${name}" '%s' "${value}"
done

# ---- check everything before any work starts -----------------------------------------------
is_int() { [[ "$1" =~ ^[0-9]+$ ]]; }
stage_on() { [ "${stage}" -le "$1" ] && [ "${stop_stage}" -ge "$1" ]; }
is_int "${stage}" && is_int "${stop_stage}" || die "--stage and --stop_stage must be integers"
is_int "${seeds}" && [ "${seeds}" -ge 1 ] || die "--seeds must be an integer >= 1, got '${seeds}'"
is_int "${threads}" && [ "${threads}" -ge 1 ] || die "--threads must be an integer >= 1, got '${threads}'"
is_int "${ngpu}" || die "--ngpu must be an integer >= 0, got '${ngpu}'"
for flag in force control; do
    [[ "${!flag}" == true || "${!flag}" == false ]] || die "--${flag} must be true or false, got '${!flag}'"
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

done_marker() { echo "${expdir}/.done/$1"; }
is_done() { [ "${force}" = false ] && [ -f "$(done_marker "$1")" ]; }
mark_done() { mkdir -p "${expdir}/.done"; date '+%Y-%m-%dT%H:%M:%S' >"$(done_marker "$1")"; }
todo() {  # todo N marker: true if stage N must run; logs the skip of a finished one
    if is_done "$2"; then log "Stage $1: done before ($(done_marker "$2")), skipped"; return 1; fi
}
begin() { _stage_t0=$(date +%s.%N); log "Stage $1: $2"; }   # begin N "what it does"
finish() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "${_stage_t0}" "$(date +%s.%N)" >>"${expdir}/timing.tsv"; }
seed_list() { seq 1 "${seeds}"; }

mkdir -p "${expdir}" "${dumpdir}"
teacher_dir=${expdir}/teacher
teacher_path=${teacher:-${teacher_dir}}
student_ckpt=${expdir}/student/student.pth
export OMP_NUM_THREADS=${threads}
{   # what was decided, next to the outputs
    echo "# $(date '+%Y-%m-%dT%H:%M:%S') $0"
    for entry in "${OPTION_TABLE[@]}"; do IFS='|' read -r name _ _ <<<"${entry}"; echo "${name}=${!name}"; done
} >"${expdir}/distill_sh.options"

# a training stage's output dir: a killed run left checkpoint.pth there and resumes from it
# (ESPnet's --resume; the log is appended to), --force true starts it afresh
train_dir() {
    [ "${force}" = true ] && rm -rf "$1"
    mkdir -p "$1"
    [ -f "$1/checkpoint.pth" ] && log "resuming from $1/checkpoint.pth"
    return 0
}

# train DESC DIR CMD...: run a trainer with its output appended to DIR/train.log and, in the
# foreground, a progress bar that follows that log (espnet_distill.bin.progress) until it ends;
# Ctrl-C stops the trainer (and a background control) too. Returns the trainer's exit status.
show_progress=true
train() {
    local desc=$1 dir=$2 pid rc=0 offset=0
    shift 2
    [ -f "${dir}/train.log" ] && offset=$(wc -c <"${dir}/train.log")
    "$@" >>"${dir}/train.log" 2>&1 &
    pid=$!
    # shellcheck disable=SC2064
    trap "kill -TERM ${pid} \${control_pid:-} 2>/dev/null; exit 130" INT TERM  # the control's job too
    if [ "${show_progress}" = true ]; then
        "${python}" -m espnet_distill.bin.progress --output-dir "${dir}" --pid "${pid}" --desc "${desc}" \
            --log-offset "${offset}" || true
    fi
    wait "${pid}" || rc=$?
    trap - INT TERM
    return "${rc}"
}

# fine-tune one arm ("distilled" or "control") with one seed; writes ${expdir}/asr_<arm>_seed<seed>
finetune() {
    local arm=$1 seed=$2 ckpt=$3 dir=${expdir}/asr_$1_seed$2
    is_done "finetune_${arm}_${seed}" && { log "fine-tune ${arm} seed ${seed}: done before, skipped"; return 0; }
    log "fine-tune ${arm} seed ${seed}: ${dir}/train.log"
    train_dir "${dir}"
    # shellcheck disable=SC2086
    train "fine-tune ${arm} ${seed}" "${dir}" "${python}" -m espnet_distill.bin.asr_train --config "${asr_config}" --output_dir "${dir}" --seed "${seed}" \
        --ngpu "${ngpu}" --token_type char --token_list "${dumpdir}/asr/tokens.txt" \
        --frontend_conf "student=${ckpt}" \
        --train_data_path_and_name_and_type "${datadir}/${labelled_set}/wav.scp,speech,sound" \
        --train_data_path_and_name_and_type "${datadir}/${labelled_set}/text,text,text" \
        --train_shape_file "${dumpdir}/asr/${labelled_set}/speech_shape" \
        --train_shape_file "${dumpdir}/asr/${labelled_set}/text_shape.char" \
        --valid_data_path_and_name_and_type "${datadir}/${valid_set}/wav.scp,speech,sound" \
        --valid_data_path_and_name_and_type "${datadir}/${valid_set}/text,text,text" \
        --valid_shape_file "${dumpdir}/asr/${valid_set}/speech_shape" \
        --valid_shape_file "${dumpdir}/asr/${valid_set}/text_shape.char" \
        --resume true ${asr_args} || die "fine-tuning failed, see ${dir}/train.log"
    mark_done "finetune_${arm}_${seed}"
}

control_all() {  # the from-scratch control: random student (same architecture and CMVN), all seeds
    local seed
    show_progress=false  # runs in the background: its log is enough
    for seed in $(seed_list); do
        "${python}" -m espnet_distill.bin.init_student --student "${student}" --cmvn "${expdir}/cmvn.npz" \
            --seed "${seed}" --out "${expdir}/control/student_seed${seed}.pth"
        finetune control "${seed}" "${expdir}/control/student_seed${seed}.pth"
    done
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

if stage_on 2 && todo 2 cmvn; then
    begin 2 "fbank CMVN statistics of ${datadir}/${train_set}"
    "${python}" -m espnet_distill.bin.compute_cmvn --data-dir "${datadir}/${train_set}" --out "${expdir}/cmvn.npz"
    finish 2 cmvn; mark_done cmvn
fi

if [ -z "${teacher}" ] && stage_on 3 && todo 3 units; then
    begin 3 "${num_units} MFCC k-means units for the teacher's pre-training"
    "${python}" -m espnet_distill.bin.make_units --fit-dir "${datadir}/${train_set}" --num-units "${num_units}" \
        --label-dir "${datadir}/${train_set}" --label-dir "${datadir}/${valid_set}" --out "${expdir}/units"
    finish 3 units; mark_done units
fi

control_pid=
if [ -z "${teacher}" ] && stage_on 4 && todo 4 teacher; then
    begin 4 "pre-training the teacher with ESPnet's HubertTask: ${teacher_dir}/train.log"
    if [ "${control}" = true ] && [ "${stop_stage}" -ge 7 ]; then
        log "Stage 4: the from-scratch control fine-tunes in the background (it needs no teacher)"
        export OMP_NUM_THREADS=$(( threads > 1 ? threads / 2 : 1 ))  # the cores are shared by two jobs
        control_all >"${expdir}/control.log" 2>&1 &
        control_pid=$!
    fi
    train_dir "${teacher_dir}"
    # shellcheck disable=SC2086
    train teacher "${teacher_dir}" "${python}" -m espnet_distill.bin.hubert_train --config "${teacher_config}" --output_dir "${teacher_dir}" \
        --ngpu "${ngpu}" --num_classes "${num_units}" --token_list "${expdir}/units/tokens.txt" \
        --train_data_path_and_name_and_type "${datadir}/${train_set}/wav.scp,speech,sound" \
        --train_data_path_and_name_and_type "${expdir}/units/${train_set}.km,text,text" \
        --train_shape_file "${datadir}/${train_set}/utt2num_samples" \
        --valid_data_path_and_name_and_type "${datadir}/${valid_set}/wav.scp,speech,sound" \
        --valid_data_path_and_name_and_type "${expdir}/units/${valid_set}.km,text,text" \
        --valid_shape_file "${datadir}/${valid_set}/utt2num_samples" \
        --resume true ${teacher_args} || die "teacher pre-training failed, see ${teacher_dir}/train.log"
    export OMP_NUM_THREADS=${threads}
    finish 4 teacher; mark_done teacher
fi

if stage_on 5 && todo 5 distill; then
    begin 5 "distillation of ${student} from ${teacher_path}: ${expdir}/distill/train.log"
    train_dir "${expdir}/distill"
    # shellcheck disable=SC2086
    train distill "${expdir}/distill" "${python}" -m espnet_distill.bin.distill_train --config "${distill_config}" --output_dir "${expdir}/distill" \
        --ngpu "${ngpu}" --teacher "${teacher_path}" --student "${student}" --cmvn "${expdir}/cmvn.npz" \
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
    if [ "${control}" = true ] && [ -z "${control_pid}" ]; then
        export OMP_NUM_THREADS=$(( threads > 1 ? threads / 2 : 1 ))  # two fine-tunings share the cores
        control_all >"${expdir}/control.log" 2>&1 &
        control_pid=$!
    fi
    for seed in $(seed_list); do
        finetune distilled "${seed}" "${student_ckpt}"
    done
    if [ -n "${control_pid}" ]; then
        log "waiting for the control fine-tuning (${expdir}/control.log)"
        wait "${control_pid}" || die "control fine-tuning failed, see ${expdir}/control.log"
    fi
    export OMP_NUM_THREADS=${threads}
    finish 7 finetune
elif [ -n "${control_pid}" ]; then
    wait "${control_pid}" || die "control fine-tuning failed, see ${expdir}/control.log"
fi

if stage_on 8; then
    begin 8 "decoding ${test_sets}"
    for arm in $(arms); do for seed in $(seed_list); do for set in ${test_sets}; do
        dir=${expdir}/asr_${arm}_seed${seed}
        is_done "decode_${arm}_${seed}_${set}" && continue
        log "decoding ${set} with ${arm} seed ${seed}"
        # shellcheck disable=SC2086
        "${python}" -m espnet_distill.bin.asr_inference --ngpu 0 --batch_size 1 ${inference_args} \
            --data_path_and_name_and_type "${datadir}/${set}/wav.scp,speech,sound" \
            --asr_train_config "${dir}/config.yaml" --asr_model_file "${dir}/valid.loss.best.pth" \
            --output_dir "${dir}/decode_${set}" >"${dir}/decode_${set}.log" 2>&1 \
            || die "decoding failed, see ${dir}/decode_${set}.log"
        mark_done "decode_${arm}_${seed}_${set}"
    done; done; done
    finish 8 decode
fi

if stage_on 9; then
    begin 9 "scoring"
    for arm in $(arms); do for seed in $(seed_list); do for set in ${test_sets}; do
        dir=${expdir}/asr_${arm}_seed${seed}/decode_${set}
        "${python}" -m espnet_distill.bin.score --ref "${datadir}/${set}/text" \
            --hyp "${dir}/1best_recog/text" --json "${dir}/score.json" >/dev/null
        log "  ${arm} seed ${seed} ${set}: $(tr -d '\n ' <"${dir}/score.json")"
    done; done; done
    finish 9 score
fi

if stage_on 10 && todo 10 benchmark; then
    begin 10 "speed of the teacher and the student, side by side"
    # shellcheck disable=SC2086
    "${python}" -m espnet_distill.bin.benchmark --model "teacher=${teacher_path}" --model "student=${student_ckpt}" \
        --threads "${threads}" ${benchmark_args} --json "${expdir}/benchmark.json" >"${expdir}/benchmark.md"
    finish 10 benchmark; mark_done benchmark
fi

if stage_on 11; then
    begin 11 "report"
    "${python}" -m espnet_distill.bin.report --expdir "${expdir}" --test_sets "${test_sets}" --seeds "${seeds}"
    log "report: ${expdir}/report.md"
fi
log "Finished stages ${stage}-${stop_stage}"
