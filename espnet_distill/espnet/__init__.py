"""The ESPnet2 side: the ``distill_student`` frontend and its registration.

Importing this package is light (no torch, no ESPnet): ``espnet-distill-python`` reads
:data:`SPEECH_TASKS` from it for every command. The frontend class is imported on
first use.

Example (library use, e.g. before ``Speech2Text``):
    >>> from espnet_distill.espnet import register
    >>> register(["asr"], s3prl=False)
    ['asr']
    >>> from espnet2.tasks.asr import frontend_choices
    >>> frontend_choices.get_class("distill_student").__name__
    'DistillStudentFrontend'
"""

from espnet_distill.espnet.register import ENCODER_NAME, FRONTEND_NAME, SPEECH_TASKS, register, register_task_module

__all__ = ["ENCODER_NAME", "FRONTEND_NAME", "OUTPUTS", "SPEECH_TASKS", "DistillStudentFrontend", "register",
           "register_task_module"]

_LAZY = {"DistillStudentFrontend", "OUTPUTS"}


def __getattr__(name):
    if name in _LAZY:
        from espnet_distill.espnet import frontend

        return getattr(frontend, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
