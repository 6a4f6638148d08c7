#!/usr/bin/env bash
# Link the pieces of ESPnet's egs2/TEMPLATE/asr1 this recipe runs (nothing is copied).
#
#   ./setup.sh /path/to/espnet      # or: ESPNET_ROOT=/path/to/espnet ./setup.sh
#
# ESPNET_ROOT is a checkout of https://github.com/espnet/espnet (only egs2/TEMPLATE,
# utils/ and tools/ are used; ESPnet's Python package comes from this package's venv).
set -euo pipefail

espnet_root=${1:-${ESPNET_ROOT:-}}
if [ -z "${espnet_root}" ]; then
    echo "Usage: $0 <ESPNET_ROOT>   (an ESPnet source checkout)" >&2
    exit 2
fi
template=$(cd "${espnet_root}" && pwd)/egs2/TEMPLATE/asr1
if [ ! -f "${template}/asr.sh" ]; then
    echo "$0: ${template}/asr.sh not found; is ${espnet_root} an ESPnet checkout?" >&2
    exit 1
fi
cd "$(dirname "$0")"
for f in asr.sh scripts pyscripts utils steps db.sh; do
    ln -sfn "${template}/${f}" "${f}"
done
echo "$0: linked asr.sh scripts pyscripts utils steps db.sh -> ${template}"
