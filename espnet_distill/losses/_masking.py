"""Frame averages shared by the losses: every loss averages over valid frames only
(the masks themselves: :mod:`espnet_distill.frames`)."""

from __future__ import annotations


import torch
from torch import Tensor

from espnet_distill.frames import SAMPLES_PER_FRAME


def masked_frame_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``(B, T)`` per-frame values over the frames where ``mask`` is 1 (0 if none).

    Padded frames are selected out (not multiplied by 0), so a NaN there cannot leak.
    """
    return torch.where(mask > 0, values, values.new_zeros(())).sum() / mask.sum().clamp(min=1.0)


def check_aligned(name: str, student: Tensor, teacher: Tensor) -> None:
    """Student and teacher tensors must share batch and frame axes."""
    if student.shape[:2] != teacher.shape[:2]:
        raise ValueError(
            f"{name}: student and teacher frames differ: student {tuple(student.shape)}, teacher "
            f"{tuple(teacher.shape)} (batch, frames, ...); both must run on the same padded batch at the "
            f"same frame rate ({SAMPLES_PER_FRAME} samples per frame)"
        )
