"""Frames and masks: how many frames a signal gives and which of them are padding.

The one owner of these facts in the package: the length formula of an unpadded or padded
convolution (for Python ints and for tensors of lengths), the padding mask, and the
GroupNorm whose statistics ignore padding. Every model here (teacher, students, units)
calls these instead of restating them.

Frame rates: HuBERT's CNN (kernels 10,3,3,3,3,2,2; strides 5,2,2,2,2,2,2) turns N samples
into ``floor((N - 400) / 320) + 1`` frames; Kaldi fbank (25 ms / 10 ms, ``snip_edges``) gives
``floor((N - 400) / 160) + 1`` and a stride-2 convolution with padding ``k // 2`` halves that
to the same ``floor((N - 400) / 320) + 1``, so student and teacher frames agree.
"""

from __future__ import annotations

from typing import Iterable, Tuple, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: Samples per output frame of the HuBERT CNN and of the fbank front-end (20 ms at 16 kHz).
SAMPLES_PER_FRAME = 320

Length = TypeVar("Length", int, Tensor)


def conv_frames(length: Length, kernel: int, stride: int, padding: int = 0) -> Length:
    """Frames out of a convolution: ``floor((N + 2 * padding - kernel) / stride) + 1``, at
    least 0. ``length`` is an int or a tensor of lengths (returned as the same kind)."""
    if isinstance(length, Tensor):
        return torch.clamp(torch.div(length + 2 * padding - kernel, stride, rounding_mode="floor") + 1, min=0)
    return max((length + 2 * padding - kernel) // stride + 1, 0)


def stack_frames(length: Length, layers: Iterable[Tuple[int, int]]) -> Length:
    """:func:`conv_frames` through a stack of unpadded ``(kernel, stride)`` convolutions."""
    for kernel, stride in layers:
        length = conv_frames(length, kernel, stride)
    return length


def padding_mask(lengths: Tensor, num_frames: int) -> Tensor:
    """``(B, T)`` bool, True on padded frames (``t >= lengths[b]``)."""
    return torch.arange(num_frames, device=lengths.device)[None, :] >= lengths[:, None]


def valid_mask(lengths: Tensor, num_frames: int) -> Tensor:
    """``(B, T)`` float32, 1 on valid frames: the complement of :func:`padding_mask`."""
    return (~padding_mask(lengths, num_frames)).float()


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
    if torch.compiler.is_exporting():  # the loop below depends on the data: ONNX / torch.export graphs
        return _masked_group_norm_vectorised(x, lengths, norm)
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


def _masked_group_norm_vectorised(x: Tensor, lengths: Tensor, norm: nn.GroupNorm) -> Tensor:
    """:func:`masked_group_norm` as masked sums over the whole batch, with no data-dependent branch.

    The same statistics (biased variance over each utterance's valid frames, padded frames
    zero, an empty utterance all zero); it differs from torch's fused kernel by float
    rounding only (about 1e-6), so eager code keeps the fused kernel and graphs use this.
    """
    b, c, t = x.shape
    g = norm.num_groups
    valid = (~padding_mask(lengths, t)).to(x.dtype)[:, None, None, :]  # (B, 1, 1, T)
    xg = x.reshape(b, g, c // g, t)
    count = (lengths.to(x.dtype) * (c // g)).clamp(min=1.0)[:, None, None, None]
    mean = (xg * valid).sum(dim=(2, 3), keepdim=True) / count
    var = ((xg - mean).square() * valid).sum(dim=(2, 3), keepdim=True) / count
    y = ((xg - mean) * torch.rsqrt(var + norm.eps)).reshape(b, c, t)
    if norm.affine:
        y = y * norm.weight[None, :, None] + norm.bias[None, :, None]
    return y * valid[:, 0]
