# Sourced by asr.sh. The package's venv goes first on PATH: asr.sh also runs a bare
# python3 and ESPnet's pyscripts start with "#!/usr/bin/env python3".
recipe_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
espnet_root=$(cd "$(dirname "$(readlink -f "${recipe_dir}/asr.sh")")/../../.." && pwd)
venv=${ESPNET_DISTILL_VENV:-$(cd "${recipe_dir}/../../.." && pwd)/.venv}

# ESPnet's extra tools (sctk, sentencepiece commands, ...), when installed in its tools/.
if [ -f "${espnet_root}/tools/extra_path.sh" ]; then
    . "${espnet_root}/tools/extra_path.sh"
fi
# Debian's sctk package keeps sclite off PATH.
if ! command -v sclite > /dev/null && [ -x /usr/lib/sctk/bin/sclite ]; then
    export PATH=${PATH}:/usr/lib/sctk/bin
fi
if [ -f "${venv}/bin/activate" ]; then
    . "${venv}/bin/activate"
else
    echo "path.sh: no virtualenv at ${venv}; set ESPNET_DISTILL_VENV (using $(command -v python3))" >&2
fi
export PATH=${recipe_dir}/utils:${PATH}
export LC_ALL=C
export OMP_NUM_THREADS=1
export PYTHONIOENCODING=UTF-8
