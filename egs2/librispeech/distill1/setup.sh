#!/usr/bin/env bash
# Link ESPnet's utils/ (run.pl, slurm.pl, queue.pl, ...) for cmd.sh's cluster back-ends; nothing is
# copied. The recipe itself needs no ESPnet checkout (cmd.sh's default launcher is run_local.sh).
#
#   ./setup.sh /path/to/espnet      # or: ESPNET_ROOT=/path/to/espnet ./setup.sh
set -euo pipefail
espnet_root=${1:-${ESPNET_ROOT:-}}
[ -n "${espnet_root}" ] || { echo "Usage: $0 <ESPNET_ROOT>   (an ESPnet source checkout)" >&2; exit 2; }
utils=$(cd "${espnet_root}" && pwd)/egs2/TEMPLATE/asr1/utils
[ -f "${utils}/run.pl" ] || { echo "$0: ${utils}/run.pl not found; is ${espnet_root} an ESPnet checkout?" >&2; exit 1; }
cd "$(dirname "$0")"
ln -sfn "${utils}" utils
echo "$0: linked utils -> ${utils}"
