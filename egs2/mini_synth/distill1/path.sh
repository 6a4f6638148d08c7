# Put the project's virtual environment first on PATH (made by `make install`).
_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
if [ -x "${_repo}/.venv/bin/python" ]; then
    export PATH="${_repo}/.venv/bin:${PATH}"
fi
export PYTHONUNBUFFERED=1
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}   # the demo never downloads anything
unset _repo
