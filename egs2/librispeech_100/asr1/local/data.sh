#!/usr/bin/env bash
# Data preparation for egs2/librispeech_100/asr1 (asr.sh stage 1): Kaldi dirs under data/.
#
#   data/train_clean_100  data/dev_clean  data/dev_other  data/test_clean  data/test_other
#   data/dev              (dev_clean + dev_other: asr.sh's --valid_set)
#   data/librilight_10h  data/librilight_1h   (with --librilight true: low-resource fine-tuning sets)
#
# Options (asr.sh --local_data_opts "..."):
#   --download true     fetch LibriSpeech (and Libri-light's fine-tuning sets) into ${LIBRISPEECH}
#   --librilight true   also prepare the Libri-light 10 h / 1 h sets
#   --synthetic true    no download: synthesise a small offline corpus in LibriSpeech layout
#                       (python -m espnet_distill.bin.make_corpus) and prepare that instead
set -euo pipefail

log() { printf '%s (local/data.sh:%s) %s\n' "$(date '+%Y-%m-%dT%H:%M:%S')" "${BASH_LINENO[0]}" "$*"; }

download=false
librilight=false
synthetic=false
synthetic_utts=160          # size of the synthetic corpus (80/10/10 train/dev/test)
openslr=https://www.openslr.org/resources/12
librilight_url=https://dl.fbaipublicfiles.com/librilight/data/librispeech_finetuning.tgz

log "$0 $*"
. utils/parse_options.sh
. ./db.sh
. ./path.sh

if [ $# -ne 0 ]; then
    log "Error: no positional arguments are expected"
    exit 2
fi

parts="train-clean-100 dev-clean dev-other test-clean test-other"
if "${synthetic}"; then
    root=downloads/synth/LibriSpeech
    if [ ! -d "${root}" ]; then
        log "Synthesising ${synthetic_utts} utterances into downloads/synth"
        python3 -m espnet_distill.bin.make_corpus --out downloads/synth --num-utts "${synthetic_utts}" \
            --layout librispeech --no-progress
    fi
else
    if [ -z "${LIBRISPEECH:-}" ]; then
        log "Error: set LIBRISPEECH in db.sh (the directory holding LibriSpeech/)"
        exit 1
    fi
    root=${LIBRISPEECH}/LibriSpeech
    if "${download}"; then
        mkdir -p "${LIBRISPEECH}"
        for part in ${parts}; do
            if [ ! -d "${root}/${part}" ]; then
                log "Downloading ${part}"
                wget -c -P "${LIBRISPEECH}" "${openslr}/${part}.tar.gz"
                tar -xzf "${LIBRISPEECH}/${part}.tar.gz" -C "${LIBRISPEECH}"
            fi
        done
        if "${librilight}" && [ ! -d "${LIBRISPEECH}/librispeech_finetuning" ]; then
            log "Downloading Libri-light's fine-tuning sets"
            wget -c -P "${LIBRISPEECH}" "${librilight_url}"
            tar -xzf "${LIBRISPEECH}/librispeech_finetuning.tgz" -C "${LIBRISPEECH}"
        fi
    fi
fi

for part in ${parts}; do
    if [ ! -d "${root}/${part}" ]; then
        log "Error: ${root}/${part} does not exist (use --download true, or fix LIBRISPEECH in db.sh)"
        exit 1
    fi
    python3 -m espnet_distill.bin.prepare_librispeech --out "data/${part//-/_}" "${root}/${part}"
    utils/validate_data_dir.sh --no-feats data/"${part//-/_}"
done

dev_sets=$(for d in dev_clean dev_other; do [ -d "data/${d}" ] && echo "data/${d}"; done || true)
# shellcheck disable=SC2086
utils/combine_data.sh data/dev ${dev_sets}

if "${librilight}"; then
    ft=${LIBRISPEECH}/librispeech_finetuning
    if [ ! -d "${ft}/1h" ] || [ ! -d "${ft}/9h" ]; then
        log "Error: ${ft}/{1h,9h} do not exist (use --download true)"
        exit 1
    fi
    python3 -m espnet_distill.bin.prepare_librispeech --out data/librilight_1h "${ft}/1h"
    python3 -m espnet_distill.bin.prepare_librispeech --out data/librilight_10h "${ft}/1h" "${ft}/9h"
fi
log "Successfully finished. [elapsed=${SECONDS}s]"
