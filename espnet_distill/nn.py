"""Small tensor operations shared by the teacher and the students."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def masked_group_norm(x: Tensor, lengths: Tensor, norm: nn.GroupNorm) -> Tensor:
    """GroupNorm of ``(B, C, T)`` with statistics over each utterance's first ``lengths`` frames.

    HuBERT Base's first CNN block normalises each channel over time, so over a padded
    batch torch's GroupNorm would let the padding change valid frames. Here torch's fused
    kernel runs on each utterance's valid slice (as if it were alone) and padded frames
    are zero; with nothing padded it is one fused call. Differentiable.

    Args:
        x: ``(B, C, T)`` features; lengths: ``(B,)`` valid frames; norm: the GroupNorm
            whose groups, affine parameters and eps are used.
    """
    b, c, t = x.shape
    lengths = lengths.clamp(min=0, max=t)
    if bool((lengths >= t).all()):
        return F.group_norm(x, norm.num_groups, norm.weight, norm.bias, norm.eps)
    parts = []
    for i, n in enumerate(lengths.tolist()):
        if n == 0:
            parts.append(x.new_zeros(1, c, t))
            continue
        if n * (c // norm.num_groups) == 1:  # one value per group: normalised to 0 (torch refuses it)
            y = x[i : i + 1, :, :n] * 0 + (norm.bias[None, :, None] if norm.affine else 0)
            parts.append(F.pad(y, (0, t - n)))
            continue
        y = F.group_norm(x[i : i + 1, :, :n], norm.num_groups, norm.weight, norm.bias, norm.eps)
        parts.append(F.pad(y, (0, t - n)) if n < t else y)
    return torch.cat(parts, dim=0)
