"""The models compared: one random teacher in two files, our students and s3prl's DistilHuBERT.

The random teacher is written once in two formats with the package's own writers: fairseq's,
which :func:`~espnet_distill.teacher.load_teacher` reads, and s3prl's converted HuBERT layout,
which s3prl's own ``hubert`` expert reads. So every process and both distillation steps use
the same teacher weights.

Front-end / encoder split of the inference table: the teacher and our students as in
:mod:`espnet_distill.benchmark.upstreams`; DistilHuBERT's front-end is its ``forward_feature``
+ ``post_extract_proj`` and its encoder ``encoder(..., get_hidden=True)``, as s3prl's upstream
expert runs it. Distillation heads are not run.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from benchmarks.scales import STUDENTS, Scale
from espnet_distill.benchmark.upstreams import Upstream, student_upstream, teacher_upstream
from espnet_distill.student import CmvnStats, StudentConfig, StudentModel, build_student
from espnet_distill.teacher import Teacher, load_teacher, random_teacher, save_fairseq_checkpoint
from espnet_distill.teacher.s3prl_format import save_s3prl_checkpoint


@dataclass
class TeacherFiles:
    """The benchmark teacher in both formats (same weights)."""

    fairseq: Path
    s3prl: Path


def write_teacher_files(scale: Scale, workdir: Path, seed: int = 0) -> TeacherFiles:
    """Build a random teacher of ``scale`` and save it for both loaders."""
    workdir = Path(workdir)
    teacher = random_teacher(scale.teacher, num_units=scale.num_units, codeword_dim=scale.codeword_dim, seed=seed)
    files = TeacherFiles(fairseq=workdir / "teacher_fairseq.pt", s3prl=workdir / "teacher_s3prl.pt")
    save_fairseq_checkpoint(teacher, files.fairseq)
    save_s3prl_checkpoint(teacher, files.s3prl)
    return files


def load_our_teacher(files: TeacherFiles, device: torch.device) -> Teacher:
    """Our :class:`~espnet_distill.teacher.Teacher` (eval, frozen) on ``device``."""
    return load_teacher(str(files.fairseq)).to(device)


@contextlib.contextmanager
def quiet_stdout():
    """s3prl prints its progress to stdout; send it to stderr (stdout is for the table)."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def load_s3prl_teacher(files: TeacherFiles, device: torch.device) -> nn.Module:
    """s3prl's HuBERT upstream (``s3prl/upstream/hubert/expert.py``) on the converted teacher.

    That is what ``DistillerForPretrain`` gets from ``torch.hub.load("s3prl/s3prl",
    "hubert_base")``; like it, layer drop is switched off and every parameter frozen.
    """
    from s3prl.upstream.hubert.expert import UpstreamExpert

    with quiet_stdout():
        expert = UpstreamExpert(str(files.s3prl))
    expert.model.encoder.layerdrop = 0.0
    for p in expert.parameters():
        p.requires_grad_(False)
    return expert.to(device).eval()


def build_distilhubert(config: Dict[str, Any], device: torch.device) -> nn.Module:
    """s3prl's ``DistillerModel`` built from its ``DistillerConfig`` (random weights)."""
    from s3prl.upstream.distiller.model import DistillerConfig, DistillerModel

    with quiet_stdout():
        model = DistillerModel(DistillerConfig(dict(config)))
    return model.to(device)


def identity_cmvn(config: StudentConfig) -> CmvnStats:
    """Identity CMVN statistics (timing does not depend on them)."""
    n = config.frontend.fbank.num_mel_bins
    return CmvnStats(mean=np.zeros(n), std=np.ones(n))


def build_our_student(config: StudentConfig, teacher: Teacher, device: torch.device) -> StudentModel:
    """``build_student(config, teacher=teacher)``, with identity CMVN for fbank students."""
    cmvn = identity_cmvn(config) if config.frontend.type == "fbank" else None
    return build_student(config, teacher=teacher, cmvn=cmvn).to(device)


def distilhubert_upstream(model: nn.Module, description: str) -> Upstream:
    """s3prl's DistilHuBERT through its own methods, as its upstream expert runs it (no heads)."""

    def frontend(wavs: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor]:
        pad_mask = torch.ones(wavs.shape, dtype=torch.long, device=wavs.device)  # 1 = valid, s3prl's convention
        feat, pad_mask = model.forward_feature(wavs, pad_mask)
        if model.post_extract_proj is not None:
            feat = model.post_extract_proj(feat)
        return feat, pad_mask

    def encoder(state: Tuple[Tensor, Tensor]) -> List[Tensor]:
        feat, pad_mask = state
        _, hidden = model.encoder(feat, ~pad_mask.bool(), get_hidden=True)
        return hidden

    heads = model.output_layer.parameters() if model.output_layer is not None else []
    params = sum(p.numel() for p in model.parameters()) - sum(p.numel() for p in heads)
    return Upstream("distilhubert", description, params, model, frontend, encoder)


def build_upstreams(scale: Scale, files: TeacherFiles, device: torch.device) -> List[Upstream]:
    """Every model of the inference table (:data:`~benchmarks.scales.MODELS`), in eval mode."""
    descriptions = scale.describe()
    teacher = load_our_teacher(files, device)
    upstreams = [teacher_upstream(teacher, descriptions["teacher"])]
    for name in STUDENTS:
        student = build_our_student(scale.student_config(name), teacher, device)
        upstreams.append(student_upstream(name, student, descriptions[name]))
    peer = build_distilhubert(scale.distilhubert, device)
    upstreams.append(distilhubert_upstream(peer, descriptions["distilhubert"]))
    for upstream in upstreams:
        upstream.module.eval()
    return upstreams
