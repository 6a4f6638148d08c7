# Put the project's virtual environment (made by `make install`) and the recipes' job launcher
# (TEMPLATE/lib/run_local.sh, cmd.sh's default) first on PATH.
_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
if [ -x "${_repo}/.venv/bin/python" ]; then
    export PATH="${_repo}/.venv/bin:${PATH}"
fi
export PATH="${_repo}/egs2/TEMPLATE/lib:${PATH}"
export PYTHONUNBUFFERED=1
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}   # the demo never downloads anything
unset _repo
