#!/usr/bin/env bash
# run_local.sh: run a job, or an array of jobs, on this machine. It takes the command line of
# Kaldi/ESPnet's job launchers (utils/run.pl, slurm.pl, queue.pl), so cmd.sh can swap it for a
# cluster launcher without touching the recipe, and espnet2.bin.launch can call it:
#
#   run_local.sh [--gpu N] [--num_threads N] [--mem X] [--max_jobs_run N] [JOB=1:N] LOG CMD ...
#
# JOB=a:b runs CMD once per index, with every "JOB" in LOG and CMD replaced by the index, at most
# --max_jobs_run at a time (default: all). Each job's stdout and stderr go to its LOG, which
# starts with the command line and ends with its exit code and elapsed time. The exit status is
# 0 when every job succeeded; otherwise the failed jobs' logs are named on stderr.
# --gpu N sets CUDA_VISIBLE_DEVICES to N devices (jobs of an array share them); --num_threads
# sets OMP_NUM_THREADS; --mem and other scheduler options are accepted and ignored here.
set -uo pipefail

die() { echo "run_local.sh: $*" >&2; exit 2; }

gpu=0
threads=
max_jobs=0
while [ $# -gt 0 ]; do
    case "$1" in
        --gpu) gpu=$2; shift 2 ;;
        --num_threads) threads=$2; shift 2 ;;
        --max_jobs_run) max_jobs=$2; shift 2 ;;
        --num_nodes)
            [ "$2" -le 1 ] || die "--num_nodes $2: jobs run on this machine only; use a cluster launcher in cmd.sh (slurm.pl, queue.pl from an ESPnet checkout)"
            shift 2 ;;
        --config|--mem|--time|--name|--max-jobs-run) shift 2 ;;   # scheduler options: nothing to do here
        --*) die "unknown option $1 (see the header of $0)" ;;
        *) break ;;
    esac
done
[[ "${gpu}" =~ ^[0-9]+$ ]] || die "--gpu must be an integer, got '${gpu}'"

first=1; last=1; array=false
if [[ $# -gt 0 && "$1" =~ ^JOB=([0-9]+):([0-9]+)$ ]]; then
    first=${BASH_REMATCH[1]}; last=${BASH_REMATCH[2]}; array=true; shift
    [ "${first}" -le "${last}" ] || die "empty job range JOB=${first}:${last}"
elif [[ $# -gt 0 && "$1" =~ ^JOB= ]]; then
    die "job range must be JOB=<first>:<last>, got '$1'"
fi
[ $# -ge 2 ] || die "usage: run_local.sh [options] [JOB=a:b] LOG CMD ..."
log_pattern=$1; shift

if [ "${gpu}" -gt 0 ]; then
    have=$(nvidia-smi -L 2>/dev/null | wc -l)
    [ "${have}" -ge "${gpu}" ] || die "--gpu ${gpu}: this machine has ${have} GPU(s) (run with --ngpu 0 for the CPU, or set cuda_cmd in cmd.sh to a cluster launcher)"
    CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-$(seq -s, 0 $((gpu - 1)))}
    export CUDA_VISIBLE_DEVICES
fi
[ -z "${threads}" ] || export OMP_NUM_THREADS=${threads}

run_one() {  # run_one INDEX CMD...: one job, its log written as run.pl writes it
    local index=$1 log cmd=() arg start rc
    shift
    log=${log_pattern//JOB/${index}}
    for arg in "$@"; do
        if [ "${array}" = true ]; then cmd+=("${arg//JOB/${index}}"); else cmd+=("${arg}"); fi
    done
    mkdir -p "$(dirname "${log}")"
    start=$(date +%s)
    {
        printf '# %s\n' "${cmd[*]}"
        echo "# Started at $(date)"
    } >"${log}"
    "${cmd[@]}" >>"${log}" 2>&1
    rc=$?
    {
        echo "# Accounting: time=$(( $(date +%s) - start )) threads=${OMP_NUM_THREADS:-1}"
        echo "# Ended (code ${rc}) at $(date), elapsed time $(( $(date +%s) - start )) seconds"
    } >>"${log}"
    return "${rc}"
}

declare -A pids=()
failed=()
reap() {  # wait for one running job and record a failure
    local pid index
    wait -n "${!pids[@]}" 2>/dev/null
    for pid in "${!pids[@]}"; do
        if ! kill -0 "${pid}" 2>/dev/null; then
            index=${pids[${pid}]}
            wait "${pid}" || failed+=("${index}")
            unset "pids[${pid}]"
        fi
    done
}
trap 'kill ${!pids[*]} 2>/dev/null; exit 130' INT TERM
for ((index = first; index <= last; index++)); do
    while [ "${max_jobs}" -gt 0 ] && [ "${#pids[@]}" -ge "${max_jobs}" ]; do reap; done
    run_one "${index}" "$@" &
    pids[$!]=${index}
done
while [ "${#pids[@]}" -gt 0 ]; do reap; done

if [ "${#failed[@]}" -gt 0 ]; then
    for index in "${failed[@]}"; do
        echo "run_local.sh: job ${index} failed, see ${log_pattern//JOB/${index}}" >&2
    done
    echo "run_local.sh: ${#failed[@]} / $((last - first + 1)) failed" >&2
    exit 1
fi
exit 0
