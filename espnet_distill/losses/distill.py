"""The combined distillation objective over a student and a teacher output.

``stage 1`` (input distillation): ``L = L_front``.
``stage 2``: ``L = L_reg + lambda * L_disc`` (L_disc only when ``disc_weight > 0``).
"""

from __future__ import annotations

from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

from torch import Tensor, nn

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

    def forward(
        self,
        mask: Tensor,
        *,
        front: Optional[Tuple[Tensor, Tensor]] = None,
        targets: Sequence[Tuple[Tensor, Tensor]] = (),
        names: Optional[Sequence[str]] = None,
        units: Optional[Tuple[Tensor, Tensor]] = None,
    ) -> Tuple[Tensor, Dict[str, Tensor]]:
        """The loss of the current stage from paired student / teacher tensors (the pairing is
        :class:`~espnet_distill.tasks.model.DistillModel`'s).

        Args:
            mask: ``(B, T)`` 1 on the frames valid in both (:func:`espnet_distill.frames.valid_mask`).
            front: stage 1: ``(front-end head prediction, teacher hidden state 0)``.
            targets: stage 2: ``(prediction, teacher hidden state)`` pairs, ``(B, T, D_t)``.
            names: a name per target for the logged terms (e.g. ``t4``).
            units: stage 2 with L_disc: ``(student unit scores, teacher unit logits)``, ``(B, T, K)``.

        Returns:
            The total (0-dim fp32) and detached terms: ``loss``; stage 1 ``front``;
            stage 2 ``reg_l1``, ``reg_cos``, ``reg_l1_<name>``, ``reg_cos_<name>`` per
            target, and with L_disc ``disc`` and ``unit_agreement``.
        """
        if self.stage == 1:
            if front is None:
                raise ValueError("stage 1 needs the front-end head's prediction and teacher hidden state 0")
            total, terms = self.frontend(*front, mask)
        else:
            if not targets:
                raise ValueError("stage 2 needs distillation targets: the student has no heads.targets")
            total, terms = self.regression([p for p, _ in targets], [t for _, t in targets], mask, names)
            if self.discriminative.weight > 0:
                if units is None:
                    raise ValueError("disc_weight > 0 needs the student's and the teacher's unit logits")
                disc, disc_terms = self.discriminative(*units, mask)
                total = total + disc
                terms.update(disc_terms)
                terms["unit_agreement"] = unit_agreement(*units, mask)
        return total, {"loss": total.detach(), **terms}

    def extra_repr(self) -> str:
        return f"stage={self.stage}"


def target_names(layers: List[int]) -> List[str]:
    """``t<k>`` per target; ``t<k>_<i>`` when teacher layer k is targeted more than once."""
    counts = Counter(layers)
    return [f"t{k}" if counts[k] == 1 else f"t{k}_{i}" for i, k in enumerate(layers)]
