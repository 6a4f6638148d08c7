"""Add the ``distill_student`` frontend (and the ``identity`` encoder) to ESPnet's choices.

ESPnet has no plugin mechanism: every task module (``espnet2.tasks.asr``, ...) keeps its
own ``frontend_choices`` (a ``ClassChoices``), looked up by name when the model is
built and frozen into ``--frontend``'s ``choices`` when the parser is made. So the
class must be added in the process that builds the model, before the parser exists.
The installed package does it by itself: :mod:`espnet_distill._import_hook` calls
:func:`register_task_module` right after a task module has been imported. The entry
modules ``python -m espnet_distill.bin.asr_train`` / ``asr_inference`` and the
``espnet-distill-python`` wrapper also call :func:`register`, for environments where the
hook is turned off (``ESPNET_DISTILL_NO_HOOK=1``).
"""

from __future__ import annotations

import functools
import importlib
import logging
from types import ModuleType
from typing import Iterable, List, Optional

from espnet_distill._import_hook import SPEECH_TASKS  # noqa: F401  (re-exported: the tasks offered)

_LG = logging.getLogger(__name__)

#: The names users write (``frontend: distill_student``, ``encoder: identity``).
FRONTEND_NAME = "distill_student"
ENCODER_NAME = "identity"


def register(tasks: Optional[Iterable[str]] = None, *, s3prl: bool = True) -> List[str]:
    """Make ``frontend: distill_student`` available to ESPnet tasks. Idempotent.

    Args:
        tasks: names of ``espnet2.tasks`` modules (see :data:`SPEECH_TASKS`); ``None``
            means all of them that this ESPnet has (importing ``espnet2.tasks.asr``
            takes seconds; the others little after it).
        s3prl: also add the student upstreams to ``s3prl.hub``
            (:func:`espnet_distill.s3prl.register`), for ESPnet's ``frontend: s3prl``
            with ``upstream: distill_student_local``. Skipped with a warning when
            s3prl cannot be imported.

    Returns:
        The tasks now offering the frontend.

    Raises:
        ValueError: an unknown task, a task module without frontend choices, or a
            different class already registered under ``distill_student``.
        ImportError: a task named explicitly cannot be imported.
    """
    explicit = tasks is not None
    names = list(SPEECH_TASKS if tasks is None else tasks)
    unknown = [t for t in names if t not in SPEECH_TASKS]
    if unknown:
        raise ValueError(f"register: unknown ESPnet task(s) {unknown}; expected some of {', '.join(SPEECH_TASKS)}")
    done = []
    for task in names:
        try:
            module = importlib.import_module(f"espnet2.tasks.{task}")
        except ImportError:
            if explicit:
                raise
            _LG.debug("espnet2.tasks.%s is not in this ESPnet; skipped", task)
            continue
        register_task_module(module)
        done.append(task)
    if s3prl:
        _register_s3prl()
    return done


def register_task_module(module: ModuleType) -> None:
    """Add ``frontend: distill_student`` (and ``encoder: identity``) to one imported
    ``espnet2.tasks.<task>`` module. Idempotent.

    Raises:
        ValueError: the module has no frontend choices, or a name is taken by another class.
    """
    from espnet_distill.espnet.encoder import IdentityEncoder
    from espnet_distill.espnet.frontend import DistillStudentFrontend

    choices = getattr(module, "frontend_choices", None)
    if choices is None:
        raise ValueError(f"{module.__name__} has no frontend_choices; cannot register {FRONTEND_NAME}")
    _add(choices, FRONTEND_NAME, DistillStudentFrontend, f"{module.__name__}.frontend_choices")
    _record_student_config(module)
    encoders = getattr(module, "encoder_choices", None)
    if encoders is not None and ENCODER_NAME not in encoders.classes:  # an ESPnet identity encoder would do
        _add(encoders, ENCODER_NAME, IdentityEncoder, f"{module.__name__}.encoder_choices")


def _record_student_config(module: ModuleType) -> None:
    """Wrap ``build_model`` of the module's task classes so that a model built with
    ``frontend: distill_student`` writes the student's architecture into
    ``args.frontend_conf["student_config"]``: ESPnet dumps ``args`` to ``config.yaml`` after
    building the model, so the trained model rebuilds without the student checkpoint.
    Idempotent."""
    from espnet2.tasks.abs_task import AbsTask

    from espnet_distill.espnet.frontend import DistillStudentFrontend, student_config_entry

    for task in [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, AbsTask)
                 and c.__module__ == module.__name__ and "build_model" in vars(c)]:
        original = vars(task)["build_model"]
        if getattr(original, "_records_student_config", False):
            continue
        build = original.__func__

        @functools.wraps(build)
        def build_model(cls, args, *rest, _build=build, **kwargs):
            model = _build(cls, args, *rest, **kwargs)
            frontend = getattr(model, "frontend", None)
            conf = getattr(args, "frontend_conf", None)
            if isinstance(frontend, DistillStudentFrontend) and isinstance(conf, dict):
                conf["student_config"] = student_config_entry(frontend.student.config)
            return model

        wrapped = classmethod(build_model)
        wrapped._records_student_config = True
        setattr(task, "build_model", wrapped)


def _register_s3prl() -> None:
    try:
        from espnet_distill.s3prl import register as register_upstreams

        register_upstreams()
    except ImportError as err:  # ESPnet's s3prl frontend cannot work either, so only warn
        _LG.warning("s3prl upstreams not registered (frontend: s3prl cannot use the students): %s", err)


def _add(choices, name: str, cls: type, where: str) -> None:
    existing = choices.classes.get(name)
    if existing is cls:
        return
    if existing is not None and (existing.__module__, existing.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(
            f"{where} already maps {name!r} to {existing.__module__}.{existing.__qualname__}; "
            f"refusing to replace it with {cls.__module__}.{cls.__qualname__}"
        )
    base = getattr(choices, "base_type", None)
    if base is not None and not issubclass(cls, base):
        raise ValueError(f"{where} takes subclasses of {base.__name__}; {cls.__name__} is not one")
    choices.classes[name] = cls  # a re-imported module's class replaces the stale one
    _LG.debug("registered %s in %s", name, where)
