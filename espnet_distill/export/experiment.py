"""Read a trained student back out of a DistillTask experiment directory.

ESPnet saves the whole ``DistillModel`` state dict (``student.*`` plus the update
counter; the teacher is never in it). The student's resolved config and the run's
provenance are written next to it by :class:`~espnet_distill.tasks.distill.DistillTask`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, Tuple

import torch
import yaml

from espnet_distill.common import Pathlike
from espnet_distill.student import StudentConfig, StudentModel

_LG = logging.getLogger(__name__)

#: Checkpoints tried, in order, when an experiment directory is given.
DEFAULT_CHECKPOINTS = ("valid.loss.ave.pth", "valid.loss.best.pth", "latest.pth", "checkpoint.pth")
STUDENT_CONFIG_FILE = "student_config.yaml"
PROVENANCE_FILE = "distill_provenance.yaml"


class ExperimentError(ValueError):
    """An experiment directory or checkpoint cannot give a student; the message says why."""


def resolve_checkpoint(path: Pathlike) -> Tuple[Path, Path]:
    """``(checkpoint file, experiment dir)`` for an experiment dir or a checkpoint inside one."""
    path = Path(path)
    if path.is_dir():
        for name in DEFAULT_CHECKPOINTS:
            if (path / name).exists():
                return (path / name).resolve(), path
        raise ExperimentError(f"{path}: no checkpoint found (looked for {', '.join(DEFAULT_CHECKPOINTS)})")
    if not path.is_file():
        raise ExperimentError(f"{path}: no such experiment directory or checkpoint")
    return path, path.parent


def load_trained_student(path: Pathlike) -> Tuple[StudentModel, Dict]:
    """The student of a distillation run, with its heads, and facts for its provenance.

    Args:
        path: the experiment dir (its best/averaged/latest model is used) or one of
            its ``*.pth`` files (``checkpoint.pth`` too).

    Returns:
        ``(student in eval mode, provenance dict)``.

    Raises:
        ExperimentError: no student config next to the checkpoint, a file that is not
            a DistillModel state dict, or keys that do not match the config.
    """
    ckpt, exp_dir = resolve_checkpoint(path)
    config_file = exp_dir / STUDENT_CONFIG_FILE
    if not config_file.is_file():
        raise ExperimentError(
            f"{exp_dir}: no {STUDENT_CONFIG_FILE}; is this a distill_train output directory?"
        )
    config = StudentConfig.from_yaml(config_file)
    state = _read_state_dict(ckpt)
    student_state = {k[len("student."):]: v for k, v in state.items() if k.startswith("student.")}
    if not student_state:
        raise ExperimentError(f"{ckpt}: no 'student.*' keys; expected a DistillModel state dict "
                              f"(found keys like {sorted(state)[:3]})")
    others = sorted(k for k in state if not k.startswith("student.") and k not in ("num_forwards", "num_nonfinite"))
    if others:
        raise ExperimentError(f"{ckpt}: unexpected keys outside the student: {others[:5]} ({len(others)} in all)")
    student = StudentModel(config)
    result = student.load_state_dict(student_state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ExperimentError(
            f"{ckpt} does not match {config_file}: missing {result.missing_keys[:5]}, "
            f"unexpected {result.unexpected_keys[:5]}"
        )
    provenance = _provenance(exp_dir, ckpt, state)
    return student.eval(), provenance


def _read_state_dict(ckpt: Path) -> Dict[str, torch.Tensor]:
    try:
        data = torch.load(ckpt, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle errors come in many types
        raise ExperimentError(f"{ckpt}: not a loadable model checkpoint ({type(err).__name__}: {err})") from err
    if isinstance(data, dict) and "model" in data and isinstance(data["model"], dict):
        data = data["model"]  # ESPnet's checkpoint.pth
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ExperimentError(f"{ckpt}: expected a state dict of tensors")
    return data


def _provenance(exp_dir: Path, ckpt: Path, state: Dict[str, torch.Tensor]) -> Dict:
    info: Dict = {"experiment": str(exp_dir.resolve()), "checkpoint": ckpt.name}
    side = exp_dir / PROVENANCE_FILE
    if side.is_file():
        info.update(yaml.safe_load(side.read_text()) or {})
    config = exp_dir / "config.yaml"
    accum = 1
    if config.is_file():
        args = yaml.safe_load(config.read_text()) or {}
        accum = int(args.get("accum_grad", 1) or 1)
        info["max_epoch"] = args.get("max_epoch")
    if "num_forwards" in state:
        info["optimizer_steps"] = int(state["num_forwards"].item()) // accum
    return info
