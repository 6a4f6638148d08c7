"""The architecture of a teacher backbone, shared by every checkpoint format.

Each loader turns its format's own configuration (fairseq ``cfg.model``, HuggingFace
``config.json``, an ESPnet ``encoder_conf``, ...) into one :class:`BackboneConfig`, which
builds a torchaudio :class:`~torchaudio.models.Wav2Vec2Model` with
``torchaudio.models.wav2vec2_model`` (HuBERT, wav2vec 2.0) or
``torchaudio.models.wavlm_model`` (WavLM). Dropout and layer drop are always 0: a
teacher only runs in eval mode.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Tuple

import torchaudio
from torchaudio.models import Wav2Vec2Model

_LG = logging.getLogger(__name__)

#: HuBERT / wav2vec 2.0 CNN: (channels, kernel, stride) per block; 320 samples per frame.
HUBERT_CONV_LAYERS: Tuple[Tuple[int, int, int], ...] = ((512, 10, 5),) + ((512, 3, 2),) * 4 + ((512, 2, 2),) * 2

MODEL_TYPES = ("hubert", "wav2vec2", "wavlm")
EXTRACTOR_MODES = ("group_norm", "layer_norm")

# keyword arguments of torchaudio's factories that only matter for training; accepted and ignored
_TRAINING_ONLY = {
    "encoder_projection_dropout",
    "encoder_attention_dropout",
    "encoder_ff_interm_dropout",
    "encoder_dropout",
    "encoder_layer_drop",
    "aux_num_out",
}


class TeacherFormatError(ValueError):
    """A teacher checkpoint that cannot be read: wrong format, architecture or keys.

    The message says what was expected and what was found (key names, shapes, fields).
    """


@dataclass
class BackboneConfig:
    """Architecture of a wav2vec 2.0-style backbone (torchaudio factory arguments).

    Attributes:
        model_type: ``hubert`` or ``wav2vec2`` (same network) or ``wavlm``.
        extractor_mode: ``group_norm`` (fairseq ``default``: GroupNorm in the first CNN
            block only; HuBERT Base) or ``layer_norm`` (LayerNorm in every block; Large).
        extractor_conv_layer_config: ``(channels, kernel, stride)`` per CNN block.
        extractor_conv_bias: whether the CNN convolutions have a bias.
        encoder_embed_dim: transformer width D.
        encoder_pos_conv_kernel: kernel of the convolutional positional embedding.
        encoder_pos_conv_groups: its groups.
        encoder_num_layers: transformer layers L.
        encoder_num_heads: attention heads.
        encoder_ff_interm_features: feed-forward width.
        encoder_layer_norm_first: pre-LN transformer (HuBERT Large) instead of post-LN.
        encoder_num_buckets: WavLM relative-position buckets (ignored otherwise).
        encoder_max_distance: WavLM maximum relative distance (ignored otherwise).
    """

    model_type: str = "hubert"
    extractor_mode: str = "group_norm"
    extractor_conv_layer_config: List[Tuple[int, int, int]] = field(default_factory=lambda: list(HUBERT_CONV_LAYERS))
    extractor_conv_bias: bool = False
    encoder_embed_dim: int = 768
    encoder_pos_conv_kernel: int = 128
    encoder_pos_conv_groups: int = 16
    encoder_num_layers: int = 12
    encoder_num_heads: int = 12
    encoder_ff_interm_features: int = 3072
    encoder_layer_norm_first: bool = False
    encoder_num_buckets: int = 320
    encoder_max_distance: int = 800

    def __post_init__(self):
        self.extractor_conv_layer_config = [tuple(int(v) for v in layer) for layer in self.extractor_conv_layer_config]
        self.validate()

    def validate(self) -> None:
        """Raise :class:`TeacherFormatError` on values torchaudio cannot build."""
        if self.model_type not in MODEL_TYPES:
            raise TeacherFormatError(f"model_type must be one of {MODEL_TYPES}, found {self.model_type!r}")
        if self.extractor_mode not in EXTRACTOR_MODES:
            raise TeacherFormatError(f"extractor_mode must be one of {EXTRACTOR_MODES}, found {self.extractor_mode!r}")
        if not self.extractor_conv_layer_config or any(len(t) != 3 for t in self.extractor_conv_layer_config):
            raise TeacherFormatError(
                "extractor_conv_layer_config must be a non-empty list of (channels, kernel, stride), "
                f"found {self.extractor_conv_layer_config!r}"
            )
        if self.encoder_embed_dim % self.encoder_num_heads:
            raise TeacherFormatError(
                f"encoder_embed_dim ({self.encoder_embed_dim}) must be divisible by encoder_num_heads "
                f"({self.encoder_num_heads})"
            )
        if self.encoder_embed_dim % self.encoder_pos_conv_groups:
            raise TeacherFormatError(
                f"encoder_embed_dim ({self.encoder_embed_dim}) must be divisible by encoder_pos_conv_groups "
                f"({self.encoder_pos_conv_groups})"
            )

    # -- conversion -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "BackboneConfig":
        """Build from a mapping of field names (torchaudio factory keyword arguments).

        Training-only arguments of torchaudio's factories (dropouts, layer drop,
        ``aux_num_out``) are accepted and ignored; any other unknown key is an error.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names - _TRAINING_ONLY)
        if unknown:
            raise TeacherFormatError(f"unknown backbone config fields {unknown}; expected a subset of {sorted(names)}")
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_dict(self) -> Dict[str, Any]:
        """Plain types only (lists, ints, strings), safe for ``torch.save``/JSON/YAML."""
        data = dataclasses.asdict(self)
        data["extractor_conv_layer_config"] = [list(t) for t in self.extractor_conv_layer_config]
        return data

    @property
    def stride(self) -> int:
        """Samples per output frame (320 for HuBERT)."""
        rate = 1
        for _, _, stride in self.extractor_conv_layer_config:
            rate *= stride
        return rate

    # -- build ------------------------------------------------------------------------
    def torchaudio_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments of ``torchaudio.models.wav2vec2_model`` / ``wavlm_model``."""
        kwargs = dict(
            extractor_mode=self.extractor_mode,
            extractor_conv_layer_config=[tuple(t) for t in self.extractor_conv_layer_config],
            extractor_conv_bias=self.extractor_conv_bias,
            encoder_embed_dim=self.encoder_embed_dim,
            encoder_projection_dropout=0.0,
            encoder_pos_conv_kernel=self.encoder_pos_conv_kernel,
            encoder_pos_conv_groups=self.encoder_pos_conv_groups,
            encoder_num_layers=self.encoder_num_layers,
            encoder_num_heads=self.encoder_num_heads,
            encoder_attention_dropout=0.0,
            encoder_ff_interm_features=self.encoder_ff_interm_features,
            encoder_ff_interm_dropout=0.0,
            encoder_dropout=0.0,
            encoder_layer_norm_first=self.encoder_layer_norm_first,
            encoder_layer_drop=0.0,
            aux_num_out=None,
        )
        if self.model_type == "wavlm":
            kwargs.update(encoder_num_buckets=self.encoder_num_buckets, encoder_max_distance=self.encoder_max_distance)
        return kwargs

    def build(self) -> Wav2Vec2Model:
        """A randomly initialised torchaudio backbone of this architecture (no dropout)."""
        if self.model_type == "wavlm":
            return torchaudio.models.wavlm_model(**self.torchaudio_kwargs())
        return torchaudio.models.wav2vec2_model(**self.torchaudio_kwargs())

    def describe(self) -> str:
        """One line for logs: ``hubert: 12 x 768 (12 heads, FFN 3072), post-LN, group_norm CNN``."""
        ln = "pre-LN" if self.encoder_layer_norm_first else "post-LN"
        return (
            f"{self.model_type}: {self.encoder_num_layers} x {self.encoder_embed_dim} "
            f"({self.encoder_num_heads} heads, FFN {self.encoder_ff_interm_features}), {ln}, "
            f"{self.extractor_mode} CNN of {len(self.extractor_conv_layer_config)} blocks (stride {self.stride})"
        )
