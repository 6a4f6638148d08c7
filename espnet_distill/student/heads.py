"""Distillation-only heads (dropped on export).

* :class:`PredictionHeads` (S&W, DistilHuBERT "expand-last"): on the last layer,
  ``Linear(D, inter*N) -> GELU -> N x Linear(inter -> teacher dim)``. s3prl keeps the
  N last Linears in one ``SplitLinear`` whose weight is ``(N, inter, teacher dim)``:
  ``heads[n].weight.T`` is its slice n, ``expand`` is its ``output_layer.0``.
* :class:`LayerToLayerHeads` (D&T): ``Linear(D -> teacher dim)`` per target, each on
  its own (1-based) student layer.
* :class:`UnitHead`: logits over the teacher's K units for the discriminative loss.
* The front-end head of input distillation is a plain ``nn.Linear(D, teacher dim)``.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class PredictionHeads(nn.Module):
    """DistilHuBERT's prediction heads, all on the last student layer.

    Args:
        embed_dim: D.
        inter_dim: width per head of the expanded layer.
        num_targets: N.
        teacher_dim: size of the teacher's hidden states.
    """

    def __init__(self, embed_dim: int, inter_dim: int, num_targets: int, teacher_dim: int):
        super().__init__()
        self.inter_dim = inter_dim
        self.num_targets = num_targets
        self.expand = nn.Linear(embed_dim, inter_dim * num_targets)
        self.heads = nn.ModuleList(nn.Linear(inter_dim, teacher_dim) for _ in range(num_targets))

    def forward(self, hidden_states: Sequence[Tensor]) -> List[Tensor]:
        """``L + 1`` hidden states ``(B, T, D)`` -> N predictions ``(B, T, teacher_dim)``."""
        last = hidden_states[-1]
        h = F.gelu(self.expand(last)).view(*last.shape[:-1], self.num_targets, self.inter_dim)
        return [head(h[..., n, :]) for n, head in enumerate(self.heads)]


class LayerToLayerHeads(nn.Module):
    """One ``Linear(D -> teacher_dim)`` per target, on student layer ``student_layers[i]`` (1-based)."""

    def __init__(self, embed_dim: int, student_layers: Sequence[int], teacher_dim: int):
        super().__init__()
        self.student_layers = list(student_layers)
        self.projs = nn.ModuleList(nn.Linear(embed_dim, teacher_dim) for _ in self.student_layers)

    def forward(self, hidden_states: Sequence[Tensor]) -> List[Tensor]:
        """``L + 1`` hidden states (index k = layer k) -> one prediction per target."""
        return [proj(hidden_states[k]) for proj, k in zip(self.projs, self.student_layers)]


class UnitHead(nn.Module):
    """Scores of the K teacher units from the last student layer.

    ``type2``: ``Linear(D -> K)`` logits. ``type1``: ``Linear(D -> C)``, then cosine
    similarity with the teacher's frozen codewords (a ``(K, C)`` buffer). No
    temperature is applied here (see :class:`~espnet_distill.losses.DiscriminativeLoss`).

    Args:
        kind: ``type1`` or ``type2``.
        embed_dim: D.
        num_units: K.
        codeword_dim: C (``type1`` only).
        codewords: ``(K, C)`` teacher codewords for ``type1``; random until set
            with :meth:`set_codewords` (``build_student(..., teacher=...)`` does it).
    """

    def __init__(
        self,
        kind: str,
        embed_dim: int,
        num_units: int,
        codeword_dim: Optional[int] = None,
        codewords: Optional[Tensor] = None,
    ):
        super().__init__()
        self.kind = kind
        self.num_units = num_units
        if kind == "type2":
            self.proj = nn.Linear(embed_dim, num_units)
            return
        if codeword_dim is None:
            raise ValueError("a type1 unit head needs codeword_dim (teacher.codeword_dim)")
        self.proj = nn.Linear(embed_dim, codeword_dim)
        self.register_buffer("codewords", torch.randn(num_units, codeword_dim))
        if codewords is not None:
            self.set_codewords(codewords)

    def set_codewords(self, codewords: Tensor) -> None:
        """Copy the teacher's ``(K, C)`` codewords (``type1`` only)."""
        if self.kind != "type1":
            raise ValueError("only a type1 unit head uses codewords")
        if tuple(codewords.shape) != tuple(self.codewords.shape):
            raise ValueError(
                f"codewords: expected shape {tuple(self.codewords.shape)} (teacher.num_units, teacher.codeword_dim), "
                f"found {tuple(codewords.shape)}"
            )
        self.codewords.copy_(codewords.detach())

    def forward(self, last_hidden: Tensor) -> Tensor:
        """``(B, T, D)`` -> ``(B, T, K)`` (type1: cosines in [-1, 1]; type2: logits)."""
        if self.kind == "type2":
            return self.proj(last_hidden)
        proj = F.normalize(self.proj(last_hidden).float(), dim=-1, eps=1e-8)
        return proj @ F.normalize(self.codewords.float(), dim=-1, eps=1e-8).t()

    def extra_repr(self) -> str:
        return f"kind={self.kind}, num_units={self.num_units}"
