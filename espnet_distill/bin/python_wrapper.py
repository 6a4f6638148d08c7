"""``espnet-distill-python``: a ``python`` that knows the students, for ``asr.sh --python``.

Usage:
    espnet-distill-python -m MODULE [args]     # like python -m; registers first when MODULE builds models
    espnet-distill-python -c CODE [args]       # like python -c
    espnet-distill-python SCRIPT [args]        # like python SCRIPT
    espnet-distill-python [python flags] ...   # flags (-u, -W ..., -X ...) go to the interpreter

    ./asr.sh --python espnet-distill-python ...   # stock asr.sh, stages 10-14

Registration (:func:`espnet_distill.espnet.register`: the ``distill_student`` frontend
in ESPnet's speech tasks and the ``distill_student_*`` upstreams in ``s3prl.hub``)
happens only for modules that build models: ``espnet2.bin.<speech task>_*``
(``asr_train``, ``asr_inference*``, ``asr_align``, ``st_train``, ...),
``espnet2.bin.pack``, ``espnet2.bin.lightning_train`` and s3prl's runners. Every other
module (``tokenize_text``, ``aggregate_stats_dirs``, ``launch``, ...) runs as fast as
under plain python and prints exactly what it prints; the wrapper itself writes
nothing to stdout. Set ``ESPNET_DISTILL_REGISTER=1`` to register for any command.

Modules run in this process with ``runpy.run_module(alter_sys=False)``, under a stand-in
``__main__`` that carries this wrapper's import spec: the workers ESPnet spawns for
multi-GPU training therefore re-import this wrapper (as ``__mp_main__``), find
``ESPNET_DISTILL_REGISTER=1`` (set by the parent) and register at import, before they
build their model. Scripts and ``-c`` code run as python runs them; their spawned
children do not pass through the wrapper.
"""

from __future__ import annotations

import importlib.util
import os
import re
import runpy
import sys
import types
from dataclasses import dataclass, field
from typing import List, Optional

from espnet_distill.espnet.register import SPEECH_TASKS

#: Set to 1 by the wrapper for model-building modules (and inherited by spawned
#: workers); users may set it to register for every command.
ENV_VAR = "ESPNET_DISTILL_REGISTER"

_MODEL_MODULE = re.compile(r"espnet2\.bin\.(?:(?:%s)_\w+|pack|lightning_train)" % "|".join(SPEECH_TASKS))
_S3PRL_MODULES = ("s3prl.run_downstream", "s3prl.main")
# This module's import spec (also under ``python -m``, where __name__ is "__main__").
_WRAPPER_SPEC = __spec__ or importlib.util.find_spec("espnet_distill.bin.python_wrapper")


@dataclass
class PythonCommand:
    """A python command line, split: interpreter flags, then what to run."""

    flags: List[str] = field(default_factory=list)
    mode: Optional[str] = None  # "m", "c", "script", or None (REPL, stdin, --version, ...)
    target: Optional[str] = None
    args: List[str] = field(default_factory=list)


def split_command_line(argv: List[str]) -> PythonCommand:
    """Split ``argv`` (without the program name) as CPython's option parser does.

    Short flags may be combined (``-uB``); ``-m``/``-c`` end the options and take the
    rest of their token or the next one; ``-W``/``-X`` take a value the same way.

    Raises:
        ValueError: an option that needs an argument has none.
    """
    flags: List[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "-" or not arg.startswith("-"):
            break
        if arg == "--":
            i += 1
            break
        if arg.startswith("--"):
            take = 2 if arg == "--check-hash-based-pycs" else 1
            flags += argv[i:i + take]
            i += take
            continue
        for j, ch in enumerate(arg[1:], start=1):
            if ch not in "cmWX":
                continue
            if arg[1:j]:
                flags.append("-" + arg[1:j])
            if arg[j + 1:]:
                value, i = arg[j + 1:], i + 1
            elif i + 1 < len(argv):
                value, i = argv[i + 1], i + 2
            else:
                raise ValueError(f"Argument expected for the -{ch} option")
            if ch in "cm":
                return PythonCommand(flags, ch, value, argv[i:])
            flags += [f"-{ch}", value]
            break
        else:
            flags.append(arg)
            i += 1
    rest = argv[i:]
    if rest and rest[0] != "-":
        return PythonCommand(flags, "script", rest[0], rest[1:])
    return PythonCommand(flags, None, None, rest)


def builds_models(module: str) -> bool:
    """Whether ``python -m module`` may build a model that uses the students."""
    return bool(_MODEL_MODULE.fullmatch(module)) or module in _S3PRL_MODULES


def register_plugins() -> None:
    """Register the frontend in ESPnet's speech tasks and the upstreams in ``s3prl.hub``."""
    from espnet_distill.espnet import register

    register()


def main(argv: Optional[List[str]] = None) -> int:
    """Run a python command line; see the module docstring."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        cmd = split_command_line(argv)
    except ValueError as err:
        print(f"espnet-distill-python: {err}", file=sys.stderr)
        return 2
    if cmd.mode is None:  # nothing to register for: hand over to the interpreter
        os.execv(sys.executable, [sys.executable, *argv])
    if cmd.flags:  # interpreter flags only take effect at start-up: restart with them
        target = {"m": ["-m", cmd.target], "c": ["-c", cmd.target], "script": [cmd.target]}[cmd.mode]
        os.execv(sys.executable, [sys.executable, *cmd.flags, "-m", _WRAPPER_SPEC.name, *target, *cmd.args])
    if cmd.mode == "m" and builds_models(cmd.target):
        os.environ[ENV_VAR] = "1"
    if os.environ.get(ENV_VAR, "0") != "0":
        register_plugins()
    if cmd.mode == "c":
        _run_code(cmd.target, cmd.args)
    elif cmd.mode == "script":
        _run_script(cmd.target, cmd.args)
    else:
        _set_path0(os.getcwd())
        if cmd.target in _S3PRL_MODULES:
            from espnet_distill.s3prl import apply_compat

            apply_compat()
        origin = _module_origin(cmd.target)
        if origin is None:
            print(f"espnet-distill-python: No module named {cmd.target}", file=sys.stderr)
            return 1
        _run_module(cmd.target, origin, cmd.args)
    return 0


def _run_module(name: str, origin: str, args: List[str]) -> None:
    sys.argv = [origin, *args]
    sys.modules["__main__"] = _stand_in_main(origin)
    runpy.run_module(name, run_name="__main__", alter_sys=False)


def _module_origin(name: str) -> Optional[str]:
    """The file ``python -m name`` would run, or None (runpy then reports why)."""
    try:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations is not None:
            spec = importlib.util.find_spec(name + ".__main__")
    except (ImportError, ValueError):
        return None
    return spec.origin if spec is not None else None


def _stand_in_main(origin: str) -> types.ModuleType:
    """What ``sys.modules["__main__"]`` is while a module runs.

    Its ``__file__`` is the running module's file, so that ``inspect.getsource`` (which
    typeguard's ``@typechecked`` needs for functions of the running module) works; its
    ``__spec__`` is this wrapper's, so that spawned workers re-import the wrapper,
    which registers, rather than the running module, which would not.
    """
    module = types.ModuleType("__main__")
    module.__file__ = origin
    module.__spec__ = _WRAPPER_SPEC
    return module


def _run_code(code: str, args: List[str]) -> None:
    sys.argv = ["-c", *args]
    _set_path0("")
    module = types.ModuleType("__main__")
    sys.modules["__main__"] = module
    exec(compile(code, "<string>", "exec"), module.__dict__)


def _run_script(path: str, args: List[str]) -> None:
    sys.argv = [path, *args]
    _set_path0(os.path.dirname(os.path.realpath(path)))
    runpy.run_path(path, run_name="__main__")


def _set_path0(entry: str) -> None:
    """Put first on ``sys.path`` what python would have put there for this command.

    At start-up python put the wrapper's own directory (console script) or the current
    directory (``-m``) there, except in safe-path mode (``-P``, ``-I``), where it put nothing.
    """
    if not sys.flags.safe_path and sys.path:
        sys.path[0] = entry


# Spawned workers (multi-GPU training) re-import this module, not the module being run:
# register here, at import time, when the parent asked for it.
if os.environ.get(ENV_VAR, "0") != "0" and __name__ != "__main__":
    register_plugins()


if __name__ == "__main__":
    sys.exit(main())
