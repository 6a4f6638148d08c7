#!/usr/bin/env bash
# Shared plumbing of the TEMPLATE stage scripts (distill1/distill.sh, pretrain1/pretrain.sh):
# option parsing from an OPTION_TABLE, log/die, stage markers, and training jobs that resume and
# show a progress bar. Sourced, never run; the sourcing script sets OPTION_TABLE first.
#
#   OPTION_TABLE=("name|default|help" ...)   # --name VALUE / --name=VALUE sets ${name}
#   . "$(dirname "$(readlink -f "$0")")/../lib/stages.sh"
#   parse_options "$@"

log() {  # timestamped progress on stderr: "<time> (<script>:<line>) <message>"
    local depth=0  # begin/die report the line that called them
    case "${FUNCNAME[1]:-}" in begin|die) depth=1 ;; esac
    printf '%s (%s:%s) %s\n' "$(date '+%Y-%m-%dT%H:%M:%S')" "$(basename "$0")" "${BASH_LINENO[${depth}]}" "$*" >&2
}

die() { log "Error: $*"; exit 2; }

usage() {  # the script's header comment, then the option table
    echo "Usage: $0 [options]"
    echo
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    echo "Options (default in brackets):"
    local entry name default text
    for entry in "${OPTION_TABLE[@]}"; do
        IFS='|' read -r name default text <<<"${entry}"
        printf '  --%-18s %s [%s]\n' "${name}" "${text}" "${default}"
    done
}

parse_options() {  # sets every option to its default, then to what the command line says
    local entry name default opt value
    declare -gA KNOWN=()
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
}

write_options() {  # write_options FILE: what was decided, next to the outputs
    local entry name
    {
        echo "# $(date '+%Y-%m-%dT%H:%M:%S') $0"
        for entry in "${OPTION_TABLE[@]}"; do IFS='|' read -r name _ _ <<<"${entry}"; echo "${name}=${!name}"; done
    } >"$1"
}

is_int() { [[ "$1" =~ ^[0-9]+$ ]]; }
is_bool() { [[ "$1" == true || "$1" == false ]]; }
stage_on() { [ "${stage}" -le "$1" ] && [ "${stop_stage}" -ge "$1" ]; }

# ---- markers: a finished stage leaves ${expdir}/.done/<name> and is skipped on a rerun ----
done_marker() { echo "${expdir}/.done/$1"; }
is_done() { [ "${force}" = false ] && [ -f "$(done_marker "$1")" ]; }
mark_done() { mkdir -p "${expdir}/.done"; date '+%Y-%m-%dT%H:%M:%S' >"$(done_marker "$1")"; }
todo() {  # todo N marker: true if stage N must run; logs the skip of a finished one
    if is_done "$2"; then log "Stage $1: done before ($(done_marker "$2")), skipped"; return 1; fi
}
begin() { _stage_t0=$(date +%s.%N); log "Stage $1: $2"; }   # begin N "what it does"
finish() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "${_stage_t0}" "$(date +%s.%N)" >>"${expdir}/timing.tsv"; }

# a training stage's output dir: a killed run left checkpoint.pth there and resumes from it
# (ESPnet's --resume; the log is appended to), --force true starts it afresh
train_dir() {
    [ "${force}" = true ] && rm -rf "$1"
    mkdir -p "$1"
    [ -f "$1/checkpoint.pth" ] && log "resuming from $1/checkpoint.pth"
    return 0
}

# kill_tree PID: stop a job and everything it started
kill_tree() {
    local child
    for child in $(pgrep -P "$1" 2>/dev/null); do kill_tree "${child}"; done
    kill -TERM "$1" 2>/dev/null || true
}

# launch DESC DIR CMD...: a training job through ESPnet's launcher (espnet2.bin.launch), which
# hands it to cmd.sh's job command (${cuda_cmd} with --ngpu > 0, else ${train_cmd}) with --ngpu
# and --num_nodes; the job logs to DIR/train.log (the launcher keeps an earlier one as train.1.log).
# In the foreground a progress bar follows that log (espnet_distill.bin.progress) until the job
# ends; show_progress=false hides it (a job run in the background). Ctrl-C stops the job and
# the background job ${background_pid}. Returns the job's exit status.
show_progress=true
background_pid=
launch() {
    local desc=$1 dir=$2 pid rc=0 cmd=${train_cmd}
    shift 2
    [ "${ngpu}" -gt 0 ] && cmd=${cuda_cmd}
    mkdir -p "${dir}"
    # the job's threads: OMP_NUM_THREADS as the caller set it (halved while two jobs share the cores),
    # else --threads; more threads than cores make every job of the run many times slower
    "${python}" -m espnet2.bin.launch --cmd "${cmd} --num_threads ${OMP_NUM_THREADS:-${threads}}" --log "${dir}/train.log" \
        --ngpu "${ngpu}" --num_nodes "${num_nodes}" -- "$@" >>"${dir}/launch.log" 2>&1 &
    pid=$!
    # shellcheck disable=SC2064
    trap "kill_tree ${pid}; [ -n \"\${background_pid}\" ] && kill_tree \${background_pid}; exit 130" INT TERM
    if [ "${show_progress}" = true ]; then
        "${python}" -m espnet_distill.bin.progress --output-dir "${dir}" --pid "${pid}" --desc "${desc}" \
            --log-offset 0 || true
    fi
    wait "${pid}" || rc=$?
    trap - INT TERM
    return "${rc}"
}

# the job commands: cmd.sh of the recipe (sourced by the caller) or this machine's launcher
: "${train_cmd:=run_local.sh}" "${cuda_cmd:=run_local.sh}" "${decode_cmd:=run_local.sh}"
