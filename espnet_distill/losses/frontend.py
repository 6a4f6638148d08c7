"""Input distillation: L_front.

Stage 1 trains only the student's front-end (fbank -> Conv1d + GLU -> Linear) and
a throw-away head ``Linear(D -> teacher dim)`` on its output, with an L1 loss
against the teacher's hidden state 0 (its transformer input)::

    L_front = sum_{t in V} sum_d |head(x)_td - h0_td| / (|V| * D)

over the set V of valid frames (the authors' code averages over padding too).
Stage 1 runs the student with ``frontend_only=True``, so nothing else is in the graph;
stage 2 trains the whole student with L_reg + lambda * L_disc, and no loss reaches the
front-end head then. Computed in fp32.
"""

from __future__ import annotations

from typing import Dict, Tuple

from torch import Tensor, nn

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

    def forward(self, prediction: Tensor, target: Tensor, mask: Tensor) -> Tuple[Tensor, Dict[str, Tensor]]:
        """``(B, T, D_t)`` prediction and teacher state 0, ``(B, T)`` 1 on valid frames ->
        ``weight * L_front`` and ``{"front": L_front}`` (unweighted, detached)."""
        check_aligned("front-end prediction", prediction, target)
        if prediction.shape != target.shape:
            raise ValueError(f"front-end prediction {tuple(prediction.shape)} vs teacher state 0 {tuple(target.shape)}")
        loss = masked_frame_mean(l1_per_frame(prediction, target), mask)
        return self.weight * loss, {"front": loss.detach()}

    def extra_repr(self) -> str:
        return f"weight={self.weight}"
