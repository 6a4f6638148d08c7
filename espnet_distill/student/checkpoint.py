"""Self-describing student checkpoints.

A checkpoint is a plain dict that loads with ``torch.load(weights_only=True)``::

    {
      "format": "espnet_distill.student",
      "format_version": 1,
      "config": StudentConfig.to_dict(),          # heads removed unless keep_heads
      "state_dict": {name: tensor},               # matches the config exactly (strict)
      "cmvn": {"mean": tensor, "std": tensor, "path": str | None} | None,   # fbank only
      "provenance": {"espnet_distill_version": ..., "torch_version": ..., "created": ..., ...},
    }

The CMVN statistics are also in the state dict (buffers); the ``cmvn`` entry is a
copy for readers that do not build the model.
"""

from __future__ import annotations

import datetime
import json
import logging
from pathlib import Path
from typing import Any, Dict, Optional, Union

import torch

from espnet_distill.common import Pathlike, atomic_write
from espnet_distill.student.config import StudentConfig
from espnet_distill.student.fbank import FbankFrontend
from espnet_distill.student.model import HEAD_MODULES, StudentModel

_LG = logging.getLogger(__name__)

FORMAT = "espnet_distill.student"
FORMAT_VERSION = 1



class CheckpointError(ValueError):
    """A file is not a usable student checkpoint; the message names the file and the problem."""


def export_student(
    student: StudentModel, provenance: Optional[dict] = None, *, keep_heads: bool = False
) -> Dict[str, Any]:
    """The checkpoint payload of ``student`` (tensors copied to CPU).

    Args:
        student: the model.
        provenance: JSON-like facts to keep (teacher, data, steps, ...); merged with
            the package and torch versions and the creation time.
        keep_heads: keep the distillation heads (to resume distillation elsewhere);
            by default they are dropped, as for any exported student.

    Raises:
        ValueError: ``provenance`` holds something that is not JSON-like.
    """
    from espnet_distill.version import __version__

    config = student.config if keep_heads else student.config.without_heads()
    state = {
        k: v.detach().cpu().clone()
        for k, v in student.state_dict().items()
        if keep_heads or k.split(".", 1)[0] not in HEAD_MODULES
    }
    info = {
        "espnet_distill_version": __version__,
        "torch_version": str(torch.__version__),  # a str subclass that weights_only loading refuses
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    info.update(_check_json_like(provenance or {}))
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": config.to_dict(),
        "state_dict": state,
        "cmvn": _cmvn_entry(student),
        "provenance": info,
    }


def save_student(
    path: Pathlike, student: StudentModel, provenance: Optional[dict] = None, *, keep_heads: bool = False
) -> Path:
    """Write ``student`` to ``path`` atomically (:func:`espnet_distill.common.atomic_write`)."""
    payload = export_student(student, provenance, keep_heads=keep_heads)
    path = atomic_write(path, lambda tmp: torch.save(payload, tmp))
    _LG.info("saved student %s (%d parameters) to %s", student.config.name or "", student.count_parameters(), path)
    return path


def read_checkpoint(path: Pathlike, map_location: Union[str, torch.device] = "cpu") -> Dict[str, Any]:
    """Load and check a checkpoint dict without building the model.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a student checkpoint, a newer format version, or not
            loadable with ``weights_only=True``.
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(_wrong_kind(path, CheckpointError(f"{path} is a directory")))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: student checkpoint does not exist")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # unpickling errors come in many types
        raise CheckpointError(_wrong_kind(path, CheckpointError(
            f"{path}: cannot be read as a student checkpoint with torch.load(weights_only=True): {err}"))) from err
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        found = sorted(ckpt)[:10] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(_wrong_kind(path, CheckpointError(
            f"{path}: not an {FORMAT} checkpoint (expected 'format': '{FORMAT}'; found {found})")))
    version = ckpt.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format_version {version!r} is not supported by this espnet_distill "
            f"(reads up to {FORMAT_VERSION}); upgrade the package"
        )
    missing = [k for k in ("config", "state_dict") if not isinstance(ckpt.get(k), dict)]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {missing}")
    return ckpt


def _wrong_kind(path: Path, error: Exception) -> str:
    from espnet_distill.file_kinds import wrong_kind_message

    return wrong_kind_message(path, "student", "a student checkpoint", error) or str(error)


def load_student(path: Pathlike, map_location: Union[str, torch.device] = "cpu", *,
                 quantize: Optional[str] = None) -> StudentModel:
    """Rebuild a student from a checkpoint written by :func:`save_student`.

    The config is validated and the weights are loaded with ``strict=True``.

    Args:
        path: the checkpoint.
        map_location: where the weights go.
        quantize: ``"int8"`` returns a dynamically quantised copy for CPU inference
            (:func:`espnet_distill.student.quantize.quantize_student`; ``map_location`` is then ignored).

    Returns:
        The model in eval mode.

    Raises:
        FileNotFoundError, CheckpointError: see :func:`read_checkpoint`; also when
            the state dict has unknown or missing keys (named in the message).
    """
    ckpt = read_checkpoint(path, map_location)
    try:
        config = StudentConfig.from_dict(ckpt["config"])
    except ValueError as err:
        raise CheckpointError(f"{path}: invalid student config: {err}") from err
    student = StudentModel(config)
    expected = set(student.state_dict())
    found = set(ckpt["state_dict"])
    if expected != found:
        raise CheckpointError(_key_mismatch(path, sorted(expected - found), sorted(found - expected)))
    student.load_state_dict(ckpt["state_dict"], strict=True)
    if quantize is not None:
        from espnet_distill.student.quantize import quantize_student

        return quantize_student(student, quantize)
    return student.to(map_location).eval()


def _key_mismatch(path, missing, unexpected) -> str:
    def show(keys):
        return ", ".join(keys[:8]) + (f" ... ({len(keys)} in all)" if len(keys) > 8 else "")

    parts = [f"{path}: the weights do not match the config"]
    if missing:
        parts.append(f"missing keys: {show(missing)}")
    if unexpected:
        parts.append(f"unexpected keys: {show(unexpected)}")
    return "; ".join(parts)


def _cmvn_entry(student: StudentModel) -> Optional[Dict[str, Any]]:
    fe = student.frontend
    if not isinstance(fe, FbankFrontend):
        return None
    return {
        "mean": fe.cmvn_mean.detach().cpu().clone(),
        "std": fe.cmvn_std.detach().cpu().clone(),
        "path": fe.config.cmvn_path,
    }


def _check_json_like(provenance: dict) -> dict:
    if not isinstance(provenance, dict):
        raise ValueError(f"provenance: expected a dict, found {type(provenance).__name__}")
    try:
        return json.loads(json.dumps(provenance))
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"provenance: must hold only JSON-like values (str, numbers, bools, lists, dicts): {err}"
        ) from err
