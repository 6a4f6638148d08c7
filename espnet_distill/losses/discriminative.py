"""L_disc, the discriminative loss the paper's abstract introduces, and the unit-agreement metric.

The teacher's unit posteriors are ``p_T = softmax(teacher unit_logits)``; those
logits are already HuBERT's ``cos(final_proj(h_L), codewords) / tau``. The
student's are ``p_S = softmax(student unit scores / temperature)`` (no division
when ``temperature`` is ``None``: the authors' final "type2, no tau"). Then::

    L_disc = sum_{t in V} KL(p_T,t || p_S,t) / |V|

over the set V of valid frames. The authors' code (``kl_div(..., "batchmean")``)
also averages over padded frames; this one does not. Computed in fp32.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from espnet_distill.losses._masking import check_aligned, masked_frame_mean


def kl_per_frame(student_logits: Tensor, teacher_logits: Tensor, temperature: Optional[float] = None) -> Tensor:
    """``(B, T)`` KL(softmax(teacher) || softmax(student / temperature)) in fp32."""
    s = student_logits.float()
    if temperature is not None:
        s = s / temperature
    log_p_s = F.log_softmax(s, dim=-1)
    log_p_t = F.log_softmax(teacher_logits.float(), dim=-1)
    return F.kl_div(log_p_s, log_p_t, reduction="none", log_target=True).sum(dim=-1)


class DiscriminativeLoss(nn.Module):
    """KL divergence from the teacher's unit posteriors to the student's, over valid frames.

    Args:
        weight: lambda, the weight of L_disc in the total loss (the authors' checkpoint names show 0.2-0.8).
        temperature: divide the student's scores by this before the softmax;
            ``None`` = do not (type2 "no tau", the authors' final choice). With a
            type1 head (cosines) use the teacher's logit temperature (0.1).
    """

    def __init__(self, weight: float = 1.0, temperature: Optional[float] = None):
        super().__init__()
        if weight < 0:
            raise ValueError(f"weight: expected >= 0, found {weight}")
        if temperature is not None and temperature <= 0:
            raise ValueError(f"temperature: expected > 0 or None, found {temperature}")
        self.weight = float(weight)
        self.temperature = temperature

    def forward(
        self, student_logits: Tensor, teacher_logits: Tensor, mask: Tensor
    ) -> Tuple[Tensor, Dict[str, Tensor]]:
        """Compute ``weight * L_disc``.

        Args:
            student_logits: ``(B, T, K)`` student unit scores.
            teacher_logits: ``(B, T, K)`` teacher unit logits.
            mask: ``(B, T)`` 1 on valid frames.

        Returns:
            ``weight * L_disc`` (0-dim fp32) and ``{"disc": L_disc}`` (unweighted, detached).
        """
        check_aligned("unit logits", student_logits, teacher_logits)
        if student_logits.shape[-1] != teacher_logits.shape[-1]:
            raise ValueError(
                f"unit logits: the student scores {student_logits.shape[-1]} units, the teacher "
                f"{teacher_logits.shape[-1]} (teacher.num_units must match the teacher)"
            )
        kl = masked_frame_mean(kl_per_frame(student_logits, teacher_logits, self.temperature), mask)
        return self.weight * kl, {"disc": kl.detach()}

    def extra_repr(self) -> str:
        return f"weight={self.weight}, temperature={self.temperature}"


@torch.no_grad()
def unit_agreement(student_logits: Tensor, teacher_logits: Tensor, mask: Tensor) -> Tensor:
    """Share of valid frames whose most likely unit is the same for student and teacher.

    Args:
        student_logits, teacher_logits: ``(B, T, K)``.
        mask: ``(B, T)`` 1 on valid frames.

    Returns:
        0-dim fp32 in [0, 1] (0 when there is no valid frame).
    """
    check_aligned("unit logits", student_logits, teacher_logits)
    same = (student_logits.argmax(-1) == teacher_logits.argmax(-1)).float()
    return masked_frame_mean(same, mask)
