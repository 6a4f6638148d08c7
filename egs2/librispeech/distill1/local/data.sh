#!/usr/bin/env bash
# Stage 1 of librispeech/distill1: Kaldi dirs for LibriSpeech 960 h (distillation, unlabelled),
# train-clean-100 (labelled, fine-tuning), dev-clean (validation), test-clean / test-other.
#
#   local/data.sh --datadir data --librispeech /data [--download false] [--download_teacher false]
#   local/data.sh --datadir data_smoke --smoke true --librispeech downloads_smoke --teacher_out F
#
# --librispeech DIR         the directory holding LibriSpeech/ (OpenSLR 12 layout)
# --download true           fetch the parts from OpenSLR first (about 60 GB)
# --download_teacher true   fetch the teacher, fairseq's hubert_base_ls960.pt (1.1 GB), to downloads/
# --smoke true              offline smoke mode: synthesise a small LibriSpeech-shaped tree (all seven
#                           parts, FLAC, SPEAKERS.TXT, *.trans.txt) into --librispeech and write a
#                           random full-size HuBERT Base in fairseq's released layout to --teacher_out;
#                           then the same preparation as a real run
# --smoke_utts N            utterances of the smoke tree (default 150)
set -euo pipefail
log() { printf '%s (local/data.sh:%s) %s\n' "$(date '+%Y-%m-%dT%H:%M:%S')" "${BASH_LINENO[0]}" "$*" >&2; }

datadir=data
librispeech=
download=false
download_teacher=false
smoke=false
smoke_utts=150
teacher_out=downloads/hubert_base_ls960.pt
while [ $# -gt 0 ]; do
    case "$1" in
        --datadir|--librispeech|--download|--download_teacher|--smoke|--smoke_utts|--teacher_out)
            [ $# -ge 2 ] || { log "Error: $1 needs a value"; exit 2; }
            printf -v "${1#--}" '%s' "$2"; shift 2 ;;
        *) log "Error: unknown option $1"; exit 2 ;;
    esac
done
[ -n "${librispeech}" ] || { log "Error: --librispeech DIR is required (the directory holding LibriSpeech/)"; exit 2; }

parts="train-clean-100 train-clean-360 train-other-500 dev-clean dev-other test-clean test-other"
root=${librispeech}/LibriSpeech
# configs run one after another share the data: what was prepared, from what, is kept in a stamp
stamp="librispeech=$(cd "${librispeech}" 2>/dev/null && pwd || echo "${librispeech}") smoke=${smoke} smoke_utts=${smoke_utts} teacher_out=${teacher_out}"
if [ -f "${datadir}/.data_sh_stamp" ] && [ "$(cat "${datadir}/.data_sh_stamp")" = "${stamp}" ] \
    && { [ "${smoke}" = false ] || [ -f "${teacher_out}" ]; }; then
    log "${datadir} was prepared from the same sources before (${datadir}/.data_sh_stamp): nothing to do"
    exit 0
fi
if [ "${smoke}" = true ]; then
    log "smoke mode: ${smoke_utts} synthetic utterances in ${root}, a random HuBERT Base in ${teacher_out}"
    python3 -m espnet_distill.bin.make_corpus --out "${librispeech}" --num-utts "${smoke_utts}" --seed 0 \
        --layout librispeech --no-progress >/dev/null
    mkdir -p "$(dirname "${teacher_out}")"
    python3 local/make_smoke_teacher.py "${teacher_out}"
elif [ "${download}" = true ]; then
    mkdir -p "${librispeech}"
    for part in ${parts}; do
        if [ ! -d "${root}/${part}" ]; then
            log "downloading ${part}"
            url=$(python3 -c "from espnet_distill.data.librispeech import OPENSLR_URL; print(OPENSLR_URL.format(part='${part}'))")
            wget -c -P "${librispeech}" "${url}"
            tar -xzf "${librispeech}/${part}.tar.gz" -C "${librispeech}"
        fi
    done
fi
for part in ${parts}; do
    [ -d "${root}/${part}" ] || { log "Error: ${root}/${part} is missing (--download true fetches it)"; exit 1; }
done
if [ "${download_teacher}" = true ] && [ "${smoke}" = false ]; then
    python3 -c "from espnet_distill.teacher.hub import fetch_fairseq; print(fetch_fairseq('hubert_base_ls960', '$(dirname "${teacher_out}")'))"
fi

log "preparing Kaldi dirs under ${datadir}"
python3 -m espnet_distill.bin.prepare_librispeech --out "${datadir}/train_960" \
    "${root}/train-clean-100" "${root}/train-clean-360" "${root}/train-other-500"
python3 -m espnet_distill.bin.prepare_librispeech --out "${datadir}/train_clean_100" "${root}/train-clean-100"
python3 -m espnet_distill.bin.prepare_librispeech --out "${datadir}/dev" "${root}/dev-clean"
for part in test-clean test-other; do
    python3 -m espnet_distill.bin.prepare_librispeech --out "${datadir}/${part//-/_}" "${root}/${part}"
done
echo "${stamp}" >"${datadir}/.data_sh_stamp"
