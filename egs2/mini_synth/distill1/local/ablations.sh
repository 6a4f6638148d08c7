#!/usr/bin/env bash
# The paper's claims in miniature (run.sh --ablations true), after the demo's own stages. The
# demo's student (<expdir>/student: deep & thin, fbank front-end, L_reg + 0.4 L_disc) is compared
# with three variants that each change one thing, distilled by distill.sh stages 2-6 from the same
# teacher with the same budget into <expdir>/ablation_<variant>:
#   no_disc  (b) L_disc off                          --distill_conf disc_weight=0
#   sw       (c) shallow & wide, same parameter count --student mini_sw_fbank
#   cnn      (d) the teacher's CNN, not fbank         --student mini_cnn (no input-distillation stage)
# All of them and SUPERB's fbank baseline then go through the frozen protocol on two amounts of
# labels (the labelled set and the whole training set), the demo's --frozen_seeds seeds each,
# sharing the demo's feature cache; bin.benchmark times them side by side; the report is
# <expdir>/ablations/report.md.
#
#   local/ablations.sh [--expdir exp] [--force false]
# Everything else (data, teacher, configs, budgets, threads) is what the demo's run decided, read
# from <expdir>/distill_sh.options, so the variants differ from the demo's student only as above.
# A finished step is skipped on a rerun (markers <expdir>/.done/ablation_*; --force true redoes them,
# and the variants' distillations too).
set -euo pipefail
cd "$(dirname "$0")/.."
. ./path.sh

OPTION_TABLE=(
    "expdir|exp|the demo run to build on (its distill_sh.options decide everything else)"
    "force|false|redo finished steps, the variants' distillations included"
)
. ../../TEMPLATE/lib/stages.sh
parse_options "$@"
is_bool "${force}" || die "--force must be true or false"
options=${expdir}/distill_sh.options
[ -f "${options}" ] && [ -f "${expdir}/student/student.pth" ] \
    || die "${expdir}: no finished demo run (distill_sh.options, student/student.pth); run ./run.sh first"

# the demo's decisions: every option of its distill.sh run, and the few this script reads itself
declare -A demo=()
forward=()
while IFS= read -r line; do
    [[ "${line}" == \#* ]] && continue
    name=${line%%=*}; demo[${name}]=${line#*=}
    case "${name}" in
        stage|stop_stage|expdir|control_dir|student|distill_args|frozen|teacher|force) ;;  # set below
        *) forward+=("--${name}=${demo[${name}]}") ;;
    esac
done <"${options}"
teacher=${demo[teacher]:-${expdir}/teacher}  # distill.sh's own teacher when it pre-trained one
read -r -a test_sets <<<"${demo[test_sets]}"
datadir=${demo[datadir]}
root=${expdir}/ablations
mkdir -p "${root}" "${expdir}/frozen/cache"

variant_options() {  # the distill.sh options that make variant $1, one per line
    local base=${demo[distill_args]}
    case "$1" in
        no_disc) echo "--distill_args=${base} --distill_conf disc_weight=0" ;;
        sw) echo "--student=mini_sw_fbank"; echo "--distill_args=${base}" ;;
        cnn) echo "--student=mini_cnn"; echo "--distill_args=${base} --distill_conf frontend_steps=0" ;;
    esac
}

variants=(no_disc sw cnn)
for v in "${variants[@]}"; do
    mapfile -t opts < <(variant_options "${v}")
    log "variant ${v}: distill.sh stages 2-6 into ${expdir}/ablation_${v} (${opts[*]})"
    ./distill.sh "${forward[@]}" --teacher "${teacher}" --expdir "${expdir}/ablation_${v}" --stage 2 --stop_stage 6 \
        --frozen false --force "${force}" "${opts[@]}" || die "variant ${v}: distillation failed"
done

upstreams=(--upstream "student=${expdir}/student/student.pth")
for v in "${variants[@]}"; do upstreams+=(--upstream "${v}=${expdir}/ablation_${v}/student/student.pth"); done
upstreams+=(--upstream fbank)
tests=(); for set in "${test_sets[@]}"; do tests+=(--test_dir "${datadir}/${set}"); done
for set in "${demo[labelled_set]}" "${demo[train_set]}"; do
    is_done "ablation_frozen_${set}" && { log "frozen comparison on ${set}: done before, skipped"; continue; }
    log "frozen comparison of the students on ${set} (${demo[frozen_seeds]} seeds each): ${root}/frozen_${set}/frozen_eval.log"
    mkdir -p "${root}/frozen_${set}"
    # shellcheck disable=SC2086
    "${demo[python]}" -m espnet_distill.bin.frozen_eval --out "${root}/frozen_${set}" --cache_dir "${expdir}/frozen/cache" \
        --threads "${demo[threads]}" "${upstreams[@]}" --train_dir "${datadir}/${set}" \
        --valid_dir "${datadir}/${demo[valid_set]}" "${tests[@]}" --token_list "${demo[dumpdir]}/asr/tokens.txt" \
        --seeds "${demo[frozen_seeds]}" ${demo[frozen_args]} \
        >"${root}/frozen_${set}/summary.txt" 2>"${root}/frozen_${set}/frozen_eval.log" \
        || die "frozen comparison on ${set} failed, see ${root}/frozen_${set}/frozen_eval.log"
    while read -r line; do log "  ${line}"; done <"${root}/frozen_${set}/summary.txt"
    mark_done "ablation_frozen_${set}"
done

if ! is_done ablation_benchmark; then
    log "speed of the teacher and the students, side by side: ${root}/benchmark.md"
    models=(--model "teacher=${teacher}" --model "student=${expdir}/student/student.pth")
    for v in "${variants[@]}"; do models+=(--model "${v}=${expdir}/ablation_${v}/student/student.pth"); done
    # shellcheck disable=SC2086
    "${demo[python]}" -m espnet_distill.bin.benchmark "${models[@]}" --variants fp32 --threads "${demo[threads]}" \
        ${demo[benchmark_args]} \
        --json "${root}/benchmark.json" >"${root}/benchmark.md" || die "benchmark failed"
    mark_done ablation_benchmark
fi

"${demo[python]}" -m espnet_distill.bin.ablation_report --root "${root}" >/dev/null || die "ablation report failed"
log "ablation report: ${root}/report.md"
