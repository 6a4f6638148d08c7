"""Distillation students: configuration, model, presets, checkpoints, CMVN.

Example:
    >>> from espnet_distill.student import build_student
    >>> student = build_student("dt_fbank")
    >>> student.count_parameters(include_heads=False)
    19107008
"""

from espnet_distill.student.checkpoint import (
    FORMAT,
    FORMAT_VERSION,
    CheckpointError,
    export_student,
    load_student,
    read_checkpoint,
    save_student,
)
from espnet_distill.student.cmvn import CmvnStats, compute_cmvn, compute_cmvn_from_data_dir, load_cmvn, save_cmvn
from espnet_distill.student.config import (
    CnnFrontendConfig,
    EncoderConfig,
    FbankFrontendConfig,
    FrontendConfig,
    HeadsConfig,
    StudentConfig,
    TargetsConfig,
    TeacherInitConfig,
    TeacherSpec,
    UnitHeadConfig,
)
from espnet_distill.student.fbank import KaldiFbank
from espnet_distill.student.model import StudentModel, StudentOutput, build_student
from espnet_distill.student.presets import get_preset, preset_names
from espnet_distill.student.teacher_init import init_from_teacher

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "CheckpointError",
    "CmvnStats",
    "CnnFrontendConfig",
    "EncoderConfig",
    "FbankFrontendConfig",
    "FrontendConfig",
    "HeadsConfig",
    "KaldiFbank",
    "StudentConfig",
    "StudentModel",
    "StudentOutput",
    "TargetsConfig",
    "TeacherInitConfig",
    "TeacherSpec",
    "UnitHeadConfig",
    "build_student",
    "compute_cmvn",
    "compute_cmvn_from_data_dir",
    "export_student",
    "get_preset",
    "init_from_teacher",
    "load_cmvn",
    "load_student",
    "preset_names",
    "read_checkpoint",
    "save_cmvn",
    "save_student",
]
