"""The models under test, as "upstreams": a front-end and an encoder timed apart, as the authors'
scripts/speed_test.py does. Teacher: torchaudio CNN + feature projection, then the transformer layers
(+ pos conv); students: ``student.frontend`` (CNN or fbank), then ``student.encoder``. Distillation
heads are not run: the upstream forward of an exported student has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple

from torch import Tensor, nn

from espnet_distill.student import StudentModel
from espnet_distill.teacher import Teacher


@dataclass
class Upstream:
    """A model under test: its front-end and encoder as two callables.

    Attributes:
        name: the model's name in the report.
        description: its architecture, in words.
        params: parameters without distillation heads.
        module: the module (for ``.eval()`` / ``.to()``).
        frontend: ``(wavs (1, N), lengths (1,)) -> state`` passed to ``encoder``.
        encoder: ``state -> hidden states``.
        of, variant: a variant's fp32 model and its kind (int8, onnx, ...: :mod:`espnet_distill.export.speed`).
    """

    name: str
    description: str
    params: int
    module: nn.Module
    frontend: Callable[[Tensor, Tensor], Any]
    encoder: Callable[[Any], Any]
    of: Optional[str] = None
    variant: str = "fp32"


def teacher_upstream(teacher: Teacher, description: str, name: str = "teacher") -> Upstream:
    """The teacher's backbone (torchaudio ``Wav2Vec2Model``), without the unit head."""
    backbone = teacher.backbone

    def frontend(wavs: Tensor, lengths: Tensor) -> Tensor:
        feats, _ = backbone.feature_extractor(wavs, None)  # batch 1: nothing is padded
        return backbone.encoder.feature_projection(feats)

    def encoder(x: Tensor) -> List[Tensor]:
        return backbone.encoder.transformer.get_intermediate_outputs(x)

    params = sum(p.numel() for p in backbone.parameters())
    return Upstream(name, description, params, backbone, frontend, encoder)


def student_upstream(name: str, student: StudentModel, description: str) -> Upstream:
    """One of our students: ``student.frontend`` then ``student.encoder`` (no heads)."""

    def frontend(wavs: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor]:
        return student.frontend(wavs, lengths)

    def encoder(state: Tuple[Tensor, Tensor]) -> List[Tensor]:
        x, lengths = state
        return student.encoder(x, lengths)

    return Upstream(name, description, student.count_parameters(include_heads=False), student, frontend, encoder)
