# Put the project's virtual environment (made by `make install`), the recipes' job launcher
# (TEMPLATE/lib/run_local.sh, cmd.sh's default) and, after ./setup.sh, ESPnet's utils/
# (run.pl, slurm.pl, queue.pl) on PATH.
_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
if [ -x "${_repo}/.venv/bin/python" ]; then
    export PATH="${_repo}/.venv/bin:${PATH}"
fi
export PATH="${_repo}/egs2/TEMPLATE/lib:${PATH}"
[ -d "$(dirname "${BASH_SOURCE[0]}")/utils" ] && export PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")/utils" && pwd):${PATH}"
export PYTHONUNBUFFERED=1
unset _repo
