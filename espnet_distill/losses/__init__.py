"""Distillation losses: L_reg (regression), L_disc (discriminative), L_front (input distillation).

Every loss averages over valid frames only (the authors' and s3prl's code include
padded frames), is computed in fp32, and returns ``(weighted loss, detached terms)``.
"""

from espnet_distill.losses.discriminative import DiscriminativeLoss, kl_per_frame, unit_agreement
from espnet_distill.losses.distill import DistillLoss
from espnet_distill.losses.frontend import FrontendLoss
from espnet_distill.losses.regression import RegressionLoss, cos_per_frame, l1_per_frame

__all__ = [
    "DiscriminativeLoss",
    "DistillLoss",
    "FrontendLoss",
    "RegressionLoss",
    "cos_per_frame",
    "kl_per_frame",
    "l1_per_frame",
    "unit_agreement",
]
