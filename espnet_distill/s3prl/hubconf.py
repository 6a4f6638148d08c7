"""s3prl hub entries of distilled students, in s3prl's ``<name>_local/_url/_custom`` style.

:func:`espnet_distill.s3prl.register` attaches these to ``s3prl.hub``; after that
``S3PRLUpstream("distill_student_local", path_or_url=ckpt)``, ESPnet's
``frontend: s3prl`` and ``run_downstream.py -u distill_student_local -k ckpt`` find them.
"""

from __future__ import annotations

import os

from espnet_distill.common import Pathlike
from espnet_distill.s3prl.expert import UpstreamExpert


_URL_SCHEMES = ("http://", "https://", "file://")


def distill_student_local(ckpt: Pathlike = None, *args, **kwargs) -> UpstreamExpert:
    """A student from a local checkpoint file.

    Args:
        ckpt: path of a checkpoint written by :func:`espnet_distill.student.save_student`
            (relative paths are resolved against the current directory).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a student checkpoint.
    """
    if ckpt is None:
        raise ValueError("distill_student_local needs the student checkpoint path (path_or_url / -k), found none")
    if not os.path.isfile(ckpt):
        raise FileNotFoundError(
            f"distill_student_local: student checkpoint {str(ckpt)!r} does not exist "
            f"(resolved to {os.path.abspath(ckpt)}); expected a file written by espnet_distill's save_student"
        )
    kwargs.pop("refresh", None)
    return UpstreamExpert(ckpt, *args, **kwargs)


def distill_student_url(ckpt: str = None, refresh: bool = False, *args, **kwargs) -> UpstreamExpert:
    """A student checkpoint downloaded from a URL into s3prl's cache (``s3prl.util.download``).

    Args:
        ckpt: ``http(s)://`` or ``file://`` URL.
        refresh: download again even if cached.
    """
    from s3prl.util.download import _urls_to_filepaths

    if not isinstance(ckpt, str) or not ckpt.startswith(_URL_SCHEMES):
        raise ValueError(f"distill_student_url needs a URL starting with one of {_URL_SCHEMES}, found {ckpt!r}")
    return distill_student_local(_urls_to_filepaths(ckpt, refresh=refresh), *args, **kwargs)


def distill_student_custom(ckpt: Pathlike = None, refresh: bool = False, *args, **kwargs) -> UpstreamExpert:
    """A student from a URL (downloaded, see :func:`distill_student_url`) or a local path."""
    if isinstance(ckpt, str) and ckpt.startswith(_URL_SCHEMES):
        return distill_student_url(ckpt, refresh, *args, **kwargs)
    return distill_student_local(ckpt, *args, **kwargs)


#: Hub name -> entry function, in the order they are registered.
ENTRIES = {
    "distill_student_local": distill_student_local,
    "distill_student_url": distill_student_url,
    "distill_student_custom": distill_student_custom,
}
