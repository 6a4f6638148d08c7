"""The combined distillation objective over a student and a teacher output.

``stage 1`` (input distillation): ``L = L_front``.
``stage 2``: ``L = L_reg + lambda * L_disc`` (L_disc only when ``disc_weight > 0``).
"""

from __future__ import annotations

from collections import Counter
from typing import Dict, List, Optional, Tuple

from torch import Tensor, nn

from espnet_distill.losses._masking import joint_lengths
from espnet_distill.losses.discriminative import DiscriminativeLoss, unit_agreement
from espnet_distill.losses.frontend import STAGES, FrontendLoss
from espnet_distill.losses.regression import RegressionLoss


class DistillLoss(nn.Module):
    """L_reg + lambda * L_disc (stage 2) or L_front (stage 1), with every term for logging.

    Args:
        stage: 1 or 2 (can be changed later through :attr:`stage`).
        l1_weight, cos_weight: L_reg's weights (1 and 1 in DistilHuBERT).
        disc_weight: lambda; 0 turns L_disc off.
        disc_temperature: divide the student's unit scores by this (``None``: not).
        front_weight: weight of L_front in stage 1.
    """

    def __init__(
        self,
        stage: int = 2,
        *,
        l1_weight: float = 1.0,
        cos_weight: float = 1.0,
        disc_weight: float = 0.0,
        disc_temperature: Optional[float] = None,
        front_weight: float = 1.0,
    ):
        super().__init__()
        self.regression = RegressionLoss(l1_weight, cos_weight)
        self.discriminative = DiscriminativeLoss(disc_weight, disc_temperature)
        self.frontend = FrontendLoss(front_weight)
        self.stage = stage

    @property
    def stage(self) -> int:
        return self._stage

    @stage.setter
    def stage(self, value: int) -> None:
        if value not in STAGES:
            raise ValueError(f"stage: expected 1 (front-end only) or 2 (full distillation), found {value!r}")
        self._stage = value

    def forward(self, student, teacher) -> Tuple[Tensor, Dict[str, Tensor]]:
        """Compute the loss of the current stage.

        Args:
            student: a :class:`~espnet_distill.student.StudentOutput`.
            teacher: a :class:`~espnet_distill.teacher.TeacherOutput` for the same batch.

        Returns:
            The total (0-dim fp32) and detached terms: ``loss``; stage 1 ``front``;
            stage 2 ``reg_l1``, ``reg_cos``, ``reg_l1_t<k>``, ``reg_cos_t<k>`` per
            teacher layer k, and with L_disc ``disc`` and ``unit_agreement``.
        """
        lengths = joint_lengths(student.lengths, teacher.lengths)
        if self.stage == 1:
            if student.frontend_prediction is None:
                raise ValueError("stage 1 needs the student's frontend_prediction: the student has no front-end head")
            total, terms = self.frontend(student.frontend_prediction, teacher.hidden_states[0], lengths)
        else:
            total, terms = self._stage2(student, teacher, lengths)
        return total, {"loss": total.detach(), **terms}

    def _stage2(self, student, teacher, lengths: Tensor) -> Tuple[Tensor, Dict[str, Tensor]]:
        if not student.predictions:
            raise ValueError("stage 2 needs distillation predictions: the student has no heads.targets")
        num_teacher = len(teacher.hidden_states)
        bad = [k for k in student.target_layers if not 0 <= k < num_teacher]
        if bad:
            raise ValueError(
                f"target teacher layers {bad} do not exist: the teacher has hidden states 0..{num_teacher - 1}"
            )
        targets = [teacher.hidden_states[k] for k in student.target_layers]
        total, terms = self.regression(student.predictions, targets, lengths, _target_names(student.target_layers))
        if self.discriminative.weight > 0:
            if student.unit_logits is None or teacher.unit_logits is None:
                who = "student (no heads.units)" if student.unit_logits is None else "teacher (no unit head)"
                raise ValueError(f"disc_weight > 0 needs unit logits, but the {who} has none")
            disc, disc_terms = self.discriminative(student.unit_logits, teacher.unit_logits, lengths)
            total = total + disc
            terms.update(disc_terms)
            terms["unit_agreement"] = unit_agreement(student.unit_logits, teacher.unit_logits, lengths)
        return total, terms

    def extra_repr(self) -> str:
        return f"stage={self.stage}"


def _target_names(layers: List[int]) -> List[str]:
    """``t<k>`` per target; ``t<k>_<i>`` when teacher layer k is targeted more than once."""
    counts = Counter(layers)
    return [f"t{k}" if counts[k] == 1 else f"t{k}_{i}" for i, k in enumerate(layers)]
