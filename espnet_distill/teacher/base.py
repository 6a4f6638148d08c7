"""The one teacher API every checkpoint format is loaded into.

Whatever the source (fairseq, HuggingFace, torchaudio, ESPnet, s3prl), a teacher is
a torchaudio :class:`~torchaudio.models.Wav2Vec2Model` (the reference implementation
of wav2vec 2.0 / HuBERT / WavLM) plus, for HuBERT checkpoints that keep it, the
pre-training unit head. :class:`Teacher` runs it frozen, in eval mode, under
``torch.no_grad`` and returns a :class:`TeacherOutput` (plain tensors: a loss may keep
them for its backward pass without copying them).

Hidden states follow the s3prl / HuggingFace convention for a model with L layers:
``hidden_states[0]`` is the transformer input (CNN features -> feature projection ->
convolutional positional embedding -> encoder LayerNorm for post-LN models),
``hidden_states[k]`` for ``k = 1..L`` is the output of layer k (1-based); for pre-LN
models (HuBERT Large) the last one has the final LayerNorm applied.

Padding: the first CNN block of HuBERT Base normalises each channel over time
(GroupNorm), so torchaudio's and fairseq's models give different features for an
utterance alone and inside a zero-padded batch. :class:`Teacher` normalises over the
valid samples only, so each utterance of a padded batch gets the features it gets
alone.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchaudio.models import Wav2Vec2Model

from espnet_distill.frames import conv_frames, masked_group_norm, padding_mask, valid_mask

from espnet_distill.teacher.config import BackboneConfig

_LG = logging.getLogger(__name__)


@dataclass
class TeacherOutput:
    """What a teacher returns for a batch.

    Attributes:
        hidden_states: ``L + 1`` tensors of shape ``(B, T', D)``; index 0 is the
            transformer input, index k the output of layer k (1-based).
        lengths: ``(B,)`` number of valid frames per utterance.
        unit_logits: ``(B, T', K)`` HuBERT pre-training logits over its K units
            (cosine similarity / logit temperature), or ``None`` when the
            teacher has no unit head.
    """

    hidden_states: List[Tensor]
    lengths: Tensor
    unit_logits: Optional[Tensor] = None

    @property
    def padding_mask(self) -> Tensor:
        """``(B, T')`` bool, True on padded frames."""
        t = self.hidden_states[0].shape[1]
        return padding_mask(self.lengths, t)


class UnitHead(nn.Module):
    """HuBERT's pre-training head: ``final_proj`` and the codeword embeddings.

    ``logits = cos(final_proj(h_L), codewords) / logit_temp`` for every unit, which
    is the logit HuBERT is pre-trained with (fairseq ``HubertModel.compute_nce``,
    torchaudio ``LogitGenerator``), here for all K units instead of sampled ones.

    Args:
        final_proj: ``Linear(D, C)``; fairseq ``final_proj``, torchaudio
            ``logit_generator.final_proj``.
        codewords: ``(K, C)``; fairseq ``label_embs_concat`` (500 k-means units +
            4 dictionary specials for HuBERT Base), torchaudio
            ``logit_generator.label_embeddings``.
        logit_temp: fairseq ``logit_temp`` (0.1 for HuBERT Base).
    """

    def __init__(self, final_proj: nn.Linear, codewords: Tensor, logit_temp: float = 0.1):
        super().__init__()
        if codewords.ndim != 2 or codewords.shape[1] != final_proj.out_features:
            raise ValueError(
                f"codewords must have shape (K, {final_proj.out_features}) to match final_proj, "
                f"found {tuple(codewords.shape)}"
            )
        self.final_proj = final_proj
        self.register_buffer("codewords", codewords.detach().clone())
        self.logit_temp = float(logit_temp)

    @property
    def num_units(self) -> int:
        return int(self.codewords.shape[0])

    def forward(self, last_hidden: Tensor) -> Tensor:
        """``(B, T, D)`` last-layer output -> ``(B, T, K)`` unit logits (fp32)."""
        proj = self.final_proj(last_hidden).float()
        proj = F.normalize(proj, dim=-1, eps=1e-8)
        codes = F.normalize(self.codewords.float(), dim=-1, eps=1e-8)
        return proj @ codes.t() / self.logit_temp


class Teacher(nn.Module):
    """A frozen SSL teacher with the :class:`TeacherOutput` API.

    Args:
        backbone: a torchaudio ``Wav2Vec2Model`` (HuBERT, wav2vec 2.0 or WavLM).
        unit_head: HuBERT's pre-training head, or ``None`` (regression-only teacher).
        source: where the weights came from, for logs and provenance.
        source_format: the checkpoint format that was read (``fairseq``, ``hf``, ...).
        normalize_waveform: layer-normalise each waveform first (fairseq
            ``task.normalize``; True for HuBERT Large, False for Base).
        backbone_config: the architecture (a
            :class:`~espnet_distill.teacher.config.BackboneConfig`), set by the loaders.
    """

    def __init__(
        self,
        backbone: Wav2Vec2Model,
        unit_head: Optional[UnitHead] = None,
        *,
        source: str = "",
        source_format: str = "",
        normalize_waveform: bool = False,
        backbone_config: Optional[BackboneConfig] = None,
    ):
        super().__init__()
        self.backbone = backbone
        self.backbone_config = backbone_config
        self.unit_head = unit_head
        self.source = source
        self.source_format = source_format
        self.normalize_waveform = normalize_waveform
        self.autocast_dtype: Optional[torch.dtype] = None
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    # -- properties -------------------------------------------------------------------
    @property
    def num_layers(self) -> int:
        """Number of transformer layers L (hidden states are L + 1)."""
        return len(self.backbone.encoder.transformer.layers)

    @property
    def hidden_size(self) -> int:
        return int(self.backbone.encoder.feature_projection.projection.out_features)

    @property
    def num_units(self) -> Optional[int]:
        return self.unit_head.num_units if self.unit_head is not None else None

    @property
    def has_unit_head(self) -> bool:
        return self.unit_head is not None

    @property
    def codewords(self) -> Tensor:
        """``(K, C)`` frozen codeword embeddings (for the student's type1 unit head)."""
        self._require_units()
        return self.unit_head.codewords

    @property
    def logit_temp(self) -> float:
        self._require_units()
        return self.unit_head.logit_temp

    @property
    def downsample_rate(self) -> int:
        """Samples per output frame: the product of the CNN strides (320 for HuBERT)."""
        rate = 1
        for layer in self.backbone.feature_extractor.conv_layers:
            rate *= layer.stride
        return rate

    @property
    def receptive_field(self) -> int:
        """Samples seen by one output frame of the CNN (400 for HuBERT)."""
        field = 1
        for layer in reversed(self.backbone.feature_extractor.conv_layers):
            field = (field - 1) * layer.stride + layer.kernel_size
        return field

    def count_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def train(self, mode: bool = True) -> "Teacher":
        """A teacher never leaves eval mode: dropout and layer drop stay off."""
        return super().train(False)

    def _require_units(self) -> None:
        if self.unit_head is None:
            raise ValueError(
                f"teacher {self.source or '(unnamed)'} ({self.source_format or 'unknown format'}) has no "
                "unit head (final_proj + label embeddings): unit posteriors and the discriminative "
                "loss need a HuBERT pre-training checkpoint (fairseq, torchaudio hubert_pretrain_*, "
                "ESPnet HuBERT or s3prl-converted)"
            )

    # -- forward ----------------------------------------------------------------------
    def forward(self, wavs: Tensor, wav_lengths: Optional[Tensor] = None, *, need_units: Optional[bool] = None) -> TeacherOutput:
        """Run the teacher.

        Args:
            wavs: ``(B, T)`` float32 waveforms at 16 kHz, zero-padded.
            wav_lengths: ``(B,)`` valid samples; ``None`` means all are valid.
            need_units: compute ``unit_logits``; ``None`` means "if there is a
                unit head". ``True`` on a teacher without one is an error.

        Returns:
            :class:`TeacherOutput` (tensors created under ``no_grad``: they need no
            grad and a loss can keep them for its backward pass as they are).
        """
        if wavs.ndim != 2:
            raise ValueError(f"expected waveforms of shape (batch, samples), found {tuple(wavs.shape)}")
        if need_units:
            self._require_units()
        if need_units is None:
            need_units = self.unit_head is not None
        if wav_lengths is None:
            wav_lengths = torch.full((wavs.shape[0],), wavs.shape[1], dtype=torch.long, device=wavs.device)
        with torch.no_grad(), self._autocast(wavs.device):
            return self._forward(wavs, wav_lengths.to(wavs.device), need_units)

    def _autocast(self, device: torch.device):
        """fp32 unless ``autocast_dtype`` is set, whatever autocast the caller runs under."""
        if device.type not in ("cuda", "cpu"):
            return contextlib.nullcontext()
        if self.autocast_dtype is None:
            return torch.autocast(device.type, enabled=False)
        return torch.autocast(device.type, dtype=self.autocast_dtype)

    def _forward(self, wavs: Tensor, wav_lengths: Tensor, need_units: bool) -> TeacherOutput:
        if self.normalize_waveform:
            wavs = masked_layer_norm_1d(wavs, wav_lengths)
        feats, lengths = masked_feature_extractor(self.backbone.feature_extractor, wavs, wav_lengths)
        encoder = self.backbone.encoder
        x, attn_mask = encoder._preprocess(feats, lengths)
        transformer = encoder.transformer
        x = transformer._preprocess(x)
        hidden = [x]
        position_bias = None
        key_padding_mask = None
        if _is_wavlm(transformer):
            # torchaudio's WavLM attention takes a key padding mask instead of an additive mask
            padded = padding_mask(lengths, x.shape[1])
            key_padding_mask = torch.zeros(padded.shape, dtype=x.dtype, device=x.device)
            key_padding_mask = key_padding_mask.masked_fill(padded, float("-inf"))
            attn_mask = None
        for layer in transformer.layers:
            x, position_bias = layer(x, attn_mask, position_bias=position_bias, key_padding_mask=key_padding_mask)
            hidden.append(x)
        if not transformer.layer_norm_first:  # i.e. a pre-LN encoder (torchaudio's flag is inverted)
            hidden[-1] = transformer.layer_norm(hidden[-1])
        hidden = [h.float() for h in hidden]
        logits = self.unit_head(hidden[-1]) if need_units else None
        return TeacherOutput(hidden_states=hidden, lengths=lengths, unit_logits=logits)


def _is_wavlm(transformer: nn.Module) -> bool:
    return len(transformer.layers) > 0 and hasattr(transformer.layers[0].attention, "rel_attn_embed")


def masked_layer_norm_1d(wavs: Tensor, lengths: Tensor, eps: float = 1e-5) -> Tensor:
    """Normalise each waveform to zero mean / unit variance over its valid samples."""
    mask = valid_mask(lengths, wavs.shape[1]).to(wavs.dtype)
    n = mask.sum(1, keepdim=True).clamp(min=1)
    mean = (wavs * mask).sum(1, keepdim=True) / n
    var = (((wavs - mean) * mask) ** 2).sum(1, keepdim=True) / n
    return (wavs - mean) / torch.sqrt(var + eps) * mask


def masked_feature_extractor(extractor: nn.Module, wavs: Tensor, lengths: Tensor):
    """torchaudio's ``FeatureExtractor`` with GroupNorm statistics over valid frames only.

    Args:
        extractor: ``Wav2Vec2Model.feature_extractor``.
        wavs: ``(B, T)``; lengths: ``(B,)`` valid samples.

    Returns:
        ``(B, T', C)`` features and ``(B,)`` valid frames. Frame t of an utterance
        depends only on its own valid samples, as when it is run alone.
    """
    x = wavs.unsqueeze(1)
    for block in extractor.conv_layers:
        x = block.conv(x)
        lengths = conv_frames(lengths, block.kernel_size, block.stride)
        norm = block.layer_norm
        if isinstance(norm, nn.GroupNorm):
            x = masked_group_norm(x, lengths, norm)
        elif norm is not None:
            x = norm(x)
        x = F.gelu(x)
    return x.transpose(1, 2), lengths


def random_teacher(config, *, num_units: int = 504, codeword_dim: int = 256, seed: int = 0) -> "Teacher":
    """A teacher of architecture ``config`` (a :class:`~espnet_distill.teacher.BackboneConfig`; its
    default is HuBERT Base) with random weights and a ``num_units`` x ``codeword_dim`` unit head
    (HuBERT Base: 504 x 256): for speed measurements and tests, where the weights do not matter."""
    torch.manual_seed(seed)
    head = UnitHead(nn.Linear(config.encoder_embed_dim, codeword_dim), torch.randn(num_units, codeword_dim))
    return Teacher(config.build(), head, source="random", backbone_config=config)

