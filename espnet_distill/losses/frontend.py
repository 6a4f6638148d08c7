"""Input distillation: L_front and the stage-1 parameter selection.

Stage 1 trains only the student's front-end (fbank -> Conv1d + GLU -> Linear) and
a throw-away head ``Linear(D -> teacher dim)`` on its output, with an L1 loss
against the teacher's hidden state 0 (its transformer input)::

    L_front = sum_{t in V} sum_d |head(x)_td - h0_td| / (|V| * D)

over the set V of valid frames (the authors' code averages over padding too).
Stage 2 trains the whole student with L_reg + lambda * L_disc; the front-end head
gets no loss then and is frozen. Computed in fp32.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

from torch import Tensor, nn

from espnet_distill.frames import valid_mask
from espnet_distill.losses._masking import check_aligned, masked_frame_mean
from espnet_distill.losses.regression import l1_per_frame

STAGES = (1, 2)


class FrontendLoss(nn.Module):
    """L1 between the front-end head's prediction and the teacher's hidden state 0.

    Args:
        weight: weight of L_front.
    """

    def __init__(self, weight: float = 1.0):
        super().__init__()
        if weight <= 0:
            raise ValueError(f"weight: expected > 0, found {weight}")
        self.weight = float(weight)

    def forward(self, prediction: Tensor, target: Tensor, lengths: Tensor) -> Tuple[Tensor, Dict[str, Tensor]]:
        """``(B, T, D_t)`` prediction and teacher state 0, ``(B,)`` valid frames ->
        ``weight * L_front`` and ``{"front": L_front}`` (unweighted, detached)."""
        check_aligned("front-end prediction", prediction, target)
        if prediction.shape != target.shape:
            raise ValueError(f"front-end prediction {tuple(prediction.shape)} vs teacher state 0 {tuple(target.shape)}")
        loss = masked_frame_mean(l1_per_frame(prediction, target), valid_mask(lengths, prediction.shape[1]))
        return self.weight * loss, {"front": loss.detach()}

    def extra_repr(self) -> str:
        return f"weight={self.weight}"


def set_trainable_for_stage(student: nn.Module, stage: int) -> List[nn.Parameter]:
    """Set ``requires_grad`` for a distillation stage and return the trainable parameters.

    Stage 1: only the front-end and the front-end head. Stage 2: everything except
    the front-end head (which no stage-2 loss reaches).

    Args:
        student: a :class:`~espnet_distill.student.StudentModel`.
        stage: 1 or 2.

    Raises:
        ValueError: unknown stage, or stage 1 for a student without a front-end head.
    """
    if stage not in STAGES:
        raise ValueError(f"stage: expected 1 (front-end only) or 2 (full distillation), found {stage!r}")
    head = student.frontend_head
    if stage == 1 and head is None:
        raise ValueError("stage 1 needs a front-end head: set heads.frontend: true (the fbank presets have one)")
    train_all = stage == 2
    for p in student.parameters():
        p.requires_grad_(train_all)
    if head is not None:
        for p in head.parameters():
            p.requires_grad_(stage == 1)
    if stage == 1:
        for p in student.frontend_parameters():
            p.requires_grad_(True)
    return [p for p in student.parameters() if p.requires_grad]
