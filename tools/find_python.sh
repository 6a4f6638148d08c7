#!/usr/bin/env bash
# Print the path of a Python >= 3.12, < 3.14 on this machine (PATH first, then pyenv).
# Exit 1, with what to install, when there is none.
set -euo pipefail

ok() {  # ok PYTHON -> true if it runs and is 3.12 or 3.13
    "$1" -c 'import sys; sys.exit(0 if (3, 12) <= sys.version_info[:2] < (3, 14) else 1)' 2>/dev/null
}

for cand in "${PYTHON:-}" python3.12 python3.13 python3; do
    [ -n "${cand}" ] || continue
    path=$(command -v "${cand}" 2>/dev/null) || continue
    # a pyenv shim only answers when that version is selected; test it for real
    if ok "${path}"; then echo "${path}"; exit 0; fi
done

pyenv_root=${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "${HOME}/.pyenv")}
# prefer 3.12 (the version the pinned stack is tested with), newest patch release first
for dir in $(ls -d "${pyenv_root}"/versions/3.12* 2>/dev/null | sort -V -r) \
           $(ls -d "${pyenv_root}"/versions/3.13* 2>/dev/null | sort -V -r); do
    for exe in "${dir}"/bin/python3.1[23]; do
        if [ -x "${exe}" ] && ok "${exe}"; then echo "${exe}"; exit 0; fi
    done
done

cat >&2 <<'MSG'
error: no Python 3.12 or 3.13 found (ESPnet >= 202609 needs Python >= 3.12, < 3.14).
Install one, for example:
    pyenv install 3.12            # then rerun make install
    sudo apt-get install python3.12 python3.12-venv   # distributions that ship it
or point the Makefile at one:  make install PYTHON=/path/to/python3.12
MSG
exit 1
