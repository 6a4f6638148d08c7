"""Building blocks of the student: the waveform CNN and the post-LN transformer encoder.

The modules are laid out like s3prl's ``DistillerModel`` (and fairseq's HuBERT), so
that a later exporter can map every weight one-to-one:

=====================================================  ==============================================
here                                                   s3prl ``DistillerModel``
=====================================================  ==============================================
``frontend.conv_layers.{i}.conv``                      ``feature_extractor.conv_layers.{i}.0``
``frontend.conv_layers.0.norm`` (group_norm mode)      ``feature_extractor.conv_layers.0.2``
``frontend.conv_layers.{i}.norm`` (layer_norm mode)    ``feature_extractor.conv_layers.{i}.2.1``
``frontend.proj``                                      ``post_extract_proj``
``encoder.pos_conv.conv`` (weight norm, dim 2)         ``encoder.pos_conv.0`` (``weight_g``/``weight_v``)
``encoder.layer_norm``                                 ``encoder.layer_norm``
``encoder.layers.{i}.self_attn.{q,k,v,out}_proj``      same
``encoder.layers.{i}.{self_attn_layer_norm,fc1,fc2,final_layer_norm}``  same
=====================================================  ==============================================
"""

from __future__ import annotations

import math
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from espnet_distill.frames import conv_frames, masked_group_norm, padding_mask
from espnet_distill.student.config import CnnFrontendConfig, EncoderConfig


class GradMultiply(torch.autograd.Function):
    """Identity forward, gradient scaled by ``scale`` backward (fairseq ``feature_grad_mult``)."""

    @staticmethod
    def forward(ctx, x: Tensor, scale: float) -> Tensor:
        ctx.scale = scale
        return x.clone()

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad * ctx.scale, None


class ConvBlock(nn.Module):
    """Conv1d (no bias) -> optional GroupNorm / LayerNorm over channels -> GELU.

    The GroupNorm (one group per channel, i.e. per-channel statistics over time) is
    computed over the valid frames only, so padding does not change valid outputs.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, norm: Optional[str]):
        super().__init__()
        self.kernel_size = kernel
        self.stride = stride
        self.conv = nn.Conv1d(in_channels, out_channels, kernel, stride=stride, bias=False)
        nn.init.kaiming_normal_(self.conv.weight)
        if norm == "group_norm":
            self.norm: Optional[nn.Module] = nn.GroupNorm(out_channels, out_channels, affine=True)
        elif norm == "layer_norm":
            self.norm = nn.LayerNorm(out_channels)
        else:
            self.norm = None

    def forward(self, x: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor]:
        """``(B, C_in, T_in)``, ``(B,)`` -> ``(B, C_out, T_out)``, ``(B,)`` valid frames."""
        x = self.conv(x)
        lengths = conv_frames(lengths, self.kernel_size, self.stride)
        if isinstance(self.norm, nn.GroupNorm):
            # statistics in fp32 (as fairseq's Fp32GroupNorm), over valid frames only
            x = masked_group_norm(x.float(), lengths, self.norm).to(x.dtype)
        elif isinstance(self.norm, nn.LayerNorm):
            x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        return F.gelu(x), lengths


class CnnFrontend(nn.Module):
    """HuBERT's waveform CNN followed by the projection to D (s3prl ``post_extract_proj``).

    No LayerNorm on the CNN features (as DistilHuBERT); no projection when the CNN
    already has D channels (as s3prl).

    Args:
        config: the CNN settings.
        embed_dim: D, the encoder width.
    """

    def __init__(self, config: CnnFrontendConfig, embed_dim: int):
        super().__init__()
        self.config = config
        blocks, in_ch = [], 1
        for i, (channels, kernel, stride) in enumerate(config.conv_layers):
            norm = "layer_norm" if config.mode == "layer_norm" else ("group_norm" if i == 0 else None)
            blocks.append(ConvBlock(in_ch, channels, kernel, stride, norm))
            in_ch = channels
        self.conv_layers = nn.ModuleList(blocks)
        self.proj: Optional[nn.Linear] = nn.Linear(in_ch, embed_dim) if in_ch != embed_dim else None
        self.embed_dim = embed_dim

    @property
    def receptive_field(self) -> int:
        return self.config.receptive_field

    def forward(self, wavs: Tensor, lengths: Tensor, *, extractor_grad: bool = True) -> Tuple[Tensor, Tensor]:
        """Waveforms to D-dim frames.

        Args:
            wavs: ``(B, N)`` zero-padded waveforms in [-1, 1].
            lengths: ``(B,)`` valid samples.
            extractor_grad: ``False`` runs the conv blocks without gradients (fairseq's
                ``feature_grad_mult: 0`` in fine-tuning); the projection to D still trains.

        Returns:
            ``(B, T, D)`` features (zero on padded frames) and ``(B,)`` valid frames,
            ``T = floor((N - 400) / 320) + 1`` for HuBERT's CNN (0 if ``N < 400``).
        """
        if wavs.shape[1] < self.receptive_field:
            return wavs.new_zeros(wavs.shape[0], 0, self.embed_dim), torch.zeros_like(lengths)
        x = wavs.unsqueeze(1)
        with torch.set_grad_enabled(extractor_grad and torch.is_grad_enabled()):
            for block in self.conv_layers:
                x, lengths = block(x, lengths)
        if self.config.grad_mult != 1.0 and self.training and x.requires_grad:
            x = GradMultiply.apply(x, self.config.grad_mult)
        x = x.transpose(1, 2)
        if self.proj is not None:
            x = self.proj(x)
        return x.masked_fill(padding_mask(lengths, x.shape[1])[..., None], 0.0), lengths


class PositionalConv(nn.Module):
    """Convolutional relative positional embedding: weight-normed grouped Conv1d -> GELU.

    Padding ``kernel // 2`` on both sides and, for an even kernel, dropping the
    last output frame keeps the length (fairseq ``SamePad``).
    """

    def __init__(self, embed_dim: int, kernel: int, groups: int):
        super().__init__()
        conv = nn.Conv1d(embed_dim, embed_dim, kernel, padding=kernel // 2, groups=groups)
        nn.init.normal_(conv.weight, mean=0.0, std=math.sqrt(4.0 / (kernel * embed_dim)))
        nn.init.zeros_(conv.bias)
        self.conv = nn.utils.parametrizations.weight_norm(conv, name="weight", dim=2)
        self.num_remove = 1 if kernel % 2 == 0 else 0

    def forward(self, x: Tensor) -> Tensor:
        """``(B, T, D)`` -> ``(B, T, D)``."""
        y = self.conv(x.transpose(1, 2))
        if self.num_remove:
            y = y[..., : -self.num_remove]
        return F.gelu(y).transpose(1, 2)


class SelfAttention(nn.Module):
    """Multi-head self-attention through ``F.scaled_dot_product_attention``."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x: Tensor, attend: Tensor) -> Tensor:
        """Attend over the keys allowed by ``attend``.

        Args:
            x: ``(B, T, D)``.
            attend: ``(B, 1, 1, T)`` bool, True on keys that may be attended to.
        """
        b, t, d = x.shape

        def heads(proj: nn.Linear) -> Tensor:
            return proj(x).view(b, t, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, T, d_h)

        y = F.scaled_dot_product_attention(
            heads(self.q_proj),
            heads(self.k_proj),
            heads(self.v_proj),
            attn_mask=attend,
            dropout_p=self.dropout if self.training else 0.0,
        )
        return self.out_proj(y.transpose(1, 2).reshape(b, t, d))


class EncoderLayer(nn.Module):
    """Post-LN transformer layer (fairseq ``TransformerSentenceEncoderLayer``, ``layer_norm_first=False``)."""

    def __init__(self, config: EncoderConfig):
        super().__init__()
        d = config.embed_dim
        self.self_attn = SelfAttention(d, config.num_heads, config.attention_dropout)
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, config.ffn_dim)
        self.fc2 = nn.Linear(config.ffn_dim, d)
        self.final_layer_norm = nn.LayerNorm(d)
        self.dropout = nn.Dropout(config.dropout)
        self.activation_dropout = nn.Dropout(config.activation_dropout)

    def forward(self, x: Tensor, attend: Tensor) -> Tensor:
        """``(B, T, D)`` -> ``(B, T, D)``; ``attend`` as in :meth:`SelfAttention.forward`."""
        x = self.self_attn_layer_norm(x + self.dropout(self.self_attn(x, attend)))
        y = self.fc2(self.activation_dropout(F.gelu(self.fc1(x))))
        return self.final_layer_norm(x + self.dropout(y))


class TransformerEncoder(nn.Module):
    """Positional conv -> LayerNorm -> dropout -> L post-LN layers (DistilHuBERT's encoder)."""

    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.config = config
        self.pos_conv = PositionalConv(config.embed_dim, config.pos_conv_kernel, config.pos_conv_groups)
        self.layer_norm = nn.LayerNorm(config.embed_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.num_layers))
        self.layers.apply(_init_bert_linear)

    def forward(self, x: Tensor, lengths: Tensor, num_layers: Optional[int] = None,
                layerdrop: float = 0.0) -> List[Tensor]:
        """Run the encoder.

        Args:
            x: ``(B, T, D)`` front-end output.
            lengths: ``(B,)`` valid frames.
            num_layers: stop after this many layers (default: all).
            layerdrop: in training, skip each layer with this probability (fairseq's
                ``layerdrop``; the whole batch skips it, drawn from torch's RNG); a
                skipped layer's hidden state is its input.

        Returns:
            ``num_layers + 1`` tensors ``(B, T, D)``: index 0 is ``x`` with padded
            frames zeroed (the encoder input, before the positional conv), index k
            the output of layer k. Padded frames of layer outputs are unspecified.
        """
        pad = padding_mask(lengths, x.shape[1])
        x = x.masked_fill(pad[..., None], 0.0)  # the positional conv must see zeros past the end
        hidden = [x]
        h = self.dropout(self.layer_norm(x + self.pos_conv(x)))
        attend = ~pad
        # an utterance with no valid frame would attend to nothing (NaN); let it attend to all
        attend = attend | (lengths == 0)[:, None]
        attend = attend[:, None, None, :]
        drop = layerdrop > 0 and self.training
        for layer in self.layers[:num_layers]:
            if not (drop and float(torch.rand(())) < layerdrop):
                h = layer(h, attend)
            hidden.append(h)
        return hidden


def _init_bert_linear(module: nn.Module) -> None:
    """BERT initialisation of the transformer's Linear layers (as fairseq / s3prl)."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
