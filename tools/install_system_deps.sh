#!/usr/bin/env bash
# Debian packages the corpus synthesiser needs: flite, espeak-ng, sox.
# Installs them when missing and running as root; otherwise prints the apt command.
set -euo pipefail

missing=()
for tool in flite espeak-ng sox; do
    command -v "${tool}" >/dev/null 2>&1 || missing+=("${tool}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "warning: missing ${missing[*]}: speech synthesis (make_corpus, tests, demo) needs them." >&2
    echo "  run:  sudo apt-get install -y ${missing[*]}" >&2
fi
