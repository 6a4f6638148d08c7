"""L_reg, DistilHuBERT's regression loss: L1 + (-log sigmoid(cos)) per target.

For target n with prediction ``y`` and teacher hidden state ``h`` (both ``(B, T, D)``)
and the set V of valid frames::

    L1_n  = sum_{t in V} sum_d |y_td - h_td| / (|V| * D)
    cos_n = sum_{t in V} -log sigmoid(cos(y_t, h_t)) / |V|
    L_reg = l1_weight * mean_n L1_n + cos_weight * mean_n cos_n

Targets are **averaged** (as s3prl's ``.mean()`` over the head axis), so the scale of
L_reg, and the meaning of the L_disc weight, do not depend on how many targets there
are. Frames are pooled over the batch (a long utterance weighs more, as in s3prl).
Unlike the authors' and s3prl's code, padded frames are excluded. Computed in fp32.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from espnet_distill.losses._masking import check_aligned, masked_frame_mean


def l1_per_frame(prediction: Tensor, target: Tensor) -> Tensor:
    """``(B, T)`` mean absolute error over the feature dim (fp32)."""
    return (prediction.float() - target.float()).abs().mean(dim=-1)


def cos_per_frame(prediction: Tensor, target: Tensor) -> Tensor:
    """``(B, T)`` ``-log sigmoid(cos(prediction, target))`` (fp32)."""
    cos = F.cosine_similarity(prediction.float(), target.float(), dim=-1, eps=1e-8)
    return -F.logsigmoid(cos)


class RegressionLoss(nn.Module):
    """L1 + cosine regression onto teacher hidden states, over valid frames.

    Args:
        l1_weight: weight of the L1 term (DistilHuBERT: 1).
        cos_weight: weight of the -log sigmoid(cos) term (DistilHuBERT: 1).
    """

    def __init__(self, l1_weight: float = 1.0, cos_weight: float = 1.0):
        super().__init__()
        if l1_weight < 0 or cos_weight < 0 or l1_weight + cos_weight == 0:
            raise ValueError(f"l1_weight and cos_weight must be >= 0 and not both 0, found {l1_weight}, {cos_weight}")
        self.l1_weight = float(l1_weight)
        self.cos_weight = float(cos_weight)

    def forward(
        self,
        predictions: Sequence[Tensor],
        targets: Sequence[Tensor],
        mask: Tensor,
        names: Optional[Sequence[str]] = None,
    ) -> Tuple[Tensor, Dict[str, Tensor]]:
        """Compute L_reg.

        Args:
            predictions: N student predictions ``(B, T, D_t)``.
            targets: N teacher hidden states ``(B, T, D_t)`` (no gradient needed).
            mask: ``(B, T)`` 1 on valid frames (:func:`espnet_distill.frames.valid_mask`).
            names: a name per target for the per-target terms (default ``0..N-1``).

        Returns:
            The weighted loss (0-dim fp32) and unweighted, detached terms:
            ``reg_l1``, ``reg_cos`` (means over targets) and ``reg_l1_<name>``,
            ``reg_cos_<name>`` per target.
        """
        if len(predictions) != len(targets) or not predictions:
            raise ValueError(
                f"expected as many targets as predictions (at least 1), found {len(targets)} and {len(predictions)}"
            )
        names = list(names) if names is not None else [str(i) for i in range(len(predictions))]
        terms: Dict[str, Tensor] = {}
        l1s, coss = [], []
        for name, pred, target in zip(names, predictions, targets):
            check_aligned(f"regression target {name}", pred, target)
            if pred.shape != target.shape:
                raise ValueError(
                    f"regression target {name}: prediction {tuple(pred.shape)} vs teacher {tuple(target.shape)}"
                )
            l1 = masked_frame_mean(l1_per_frame(pred, target), mask)
            cos = masked_frame_mean(cos_per_frame(pred, target), mask)
            terms[f"reg_l1_{name}"], terms[f"reg_cos_{name}"] = l1.detach(), cos.detach()
            l1s.append(l1)
            coss.append(cos)
        l1 = torch.stack(l1s).mean()
        cos = torch.stack(coss).mean()
        terms = {"reg_l1": l1.detach(), "reg_cos": cos.detach(), **terms}
        return self.l1_weight * l1 + self.cos_weight * cos, terms

    def extra_repr(self) -> str:
        return f"l1_weight={self.l1_weight}, cos_weight={self.cos_weight}"
