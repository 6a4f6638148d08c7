"""The sections of a :class:`~espnet_distill.student.config.StudentConfig`.

Each section is a dataclass that validates itself in ``__post_init__``: a bad value
raises a ``ValueError`` naming the field by its dotted path in the whole config,
what was expected and what was found. Derived sizes are properties.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional, Tuple, Union

from espnet_distill.common import SAMPLE_RATE  # noqa: F401  (re-exported)
from espnet_distill.frames import conv_frames, stack_frames

#: HuBERT / wav2vec 2.0 CNN: (channels, kernel, stride) per layer; fairseq ``conv_feature_layers``.
HUBERT_CONV_LAYERS: Tuple[Tuple[int, int, int], ...] = ((512, 10, 5),) + ((512, 3, 2),) * 4 + ((512, 2, 2),) * 2
#: Kaldi fbank framing at 16 kHz: 25 ms windows every 10 ms, ``snip_edges=True``.
FBANK_FRAME_LENGTH = 400
FBANK_FRAME_SHIFT = 160
#: The fbank subsampler's stride: 10 ms fbank frames -> 20 ms, HuBERT's frame rate.
FBANK_SUBSAMPLING = 2


# -- small checks ---------------------------------------------------------------------
def _check_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: expected an integer >= {minimum}, found {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, found {value}")
    return value


def _check_prob(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name}: expected a probability in [0, 1), found {value!r}")
    return float(value)


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name}: expected true or false, found {type(value).__name__} {value!r}")
    return value


def _check_choice(name: str, value: Any, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, choices))}, found {value!r}")
    return value


def _check_int_list(name: str, value: Any, minimum: int) -> List[int]:
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{name}: expected a non-empty list of integers, found {value!r}")
    return [_check_int(f"{name}[{i}]", v, minimum) for i, v in enumerate(value)]


# -- front-ends -----------------------------------------------------------------------
@dataclass
class CnnFrontendConfig:
    """HuBERT's waveform CNN (no conv bias, no LayerNorm on its output).

    Attributes:
        conv_layers: ``(channels, kernel, stride)`` per conv; fairseq
            ``conv_feature_layers``, s3prl ``extractor_conv_feature_layers``.
        mode: ``group_norm`` (GroupNorm on the first conv only; HuBERT Base, s3prl
            ``default``) or ``layer_norm`` (LayerNorm after every conv; HuBERT Large).
        grad_mult: gradient scale into the CNN (DistilHuBERT uses 0.1); s3prl
            ``feature_grad_mult``.
    """

    conv_layers: List[Tuple[int, int, int]] = field(default_factory=lambda: [tuple(c) for c in HUBERT_CONV_LAYERS])
    mode: str = "group_norm"
    grad_mult: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.conv_layers, (list, tuple)) or not self.conv_layers:
            raise ValueError(
                "frontend.cnn.conv_layers: expected a non-empty list of (channels, kernel, stride), "
                f"found {self.conv_layers!r}"
            )
        layers = []
        for i, layer in enumerate(self.conv_layers):
            if not isinstance(layer, (list, tuple)) or len(layer) != 3:
                raise ValueError(f"frontend.cnn.conv_layers[{i}]: expected (channels, kernel, stride), found {layer!r}")
            layers.append(tuple(_check_int(f"frontend.cnn.conv_layers[{i}]", v) for v in layer))
        self.conv_layers = layers
        _check_choice("frontend.cnn.mode", self.mode, ("group_norm", "layer_norm"))
        if (
            isinstance(self.grad_mult, bool)
            or not isinstance(self.grad_mult, (int, float))
            or not 0 < self.grad_mult <= 1
        ):
            raise ValueError(f"frontend.cnn.grad_mult: expected a number in (0, 1], found {self.grad_mult!r}")
        self.grad_mult = float(self.grad_mult)

    @property
    def channels(self) -> int:
        return self.conv_layers[-1][0]

    @property
    def downsample_rate(self) -> int:
        rate = 1
        for _, _, stride in self.conv_layers:
            rate *= stride
        return rate

    @property
    def receptive_field(self) -> int:
        field_ = 1
        for _, kernel, stride in reversed(self.conv_layers):
            field_ = (field_ - 1) * stride + kernel
        return field_

    def num_frames(self, num_samples: int) -> int:
        return stack_frames(num_samples, [(k, s) for _, k, s in self.conv_layers])


@dataclass
class FbankFrontendConfig:
    """Kaldi fbank -> global CMVN -> Conv1d(mels -> 2D, k, stride 2, pad k//2) + GLU -> Linear D->D -> dropout.

    Framing is fixed to Kaldi's 25 ms / 10 ms at 16 kHz (``snip_edges``) so that,
    with an odd kernel, the output has exactly the HuBERT CNN's frame count.

    Attributes:
        num_mel_bins: fbank dimension (80 in the authors' distiller_fbank upstream).
        kernel_size: the subsampler's kernel (odd; 5 as fairseq's ``Conv1dSubsampler``).
        dropout: dropout after the Linear.
        cmvn_path: ``.npz`` written by ``python -m espnet_distill.bin.compute_cmvn``;
            read when the student is built. The statistics themselves live in the
            model's buffers (and checkpoints), so a built student never needs the file.
    """

    num_mel_bins: int = 80
    kernel_size: int = 5
    dropout: float = 0.1
    cmvn_path: Optional[str] = None

    def __post_init__(self) -> None:
        _check_int("frontend.fbank.num_mel_bins", self.num_mel_bins)
        _check_int("frontend.fbank.kernel_size", self.kernel_size)
        if self.kernel_size % 2 == 0:
            raise ValueError(
                f"frontend.fbank.kernel_size: expected an odd kernel (padding kernel//2 keeps the HuBERT frame count), "
                f"found {self.kernel_size}"
            )
        self.dropout = _check_prob("frontend.fbank.dropout", self.dropout)
        if self.cmvn_path is not None and not isinstance(self.cmvn_path, (str, Path)):
            raise ValueError(f"frontend.fbank.cmvn_path: expected a path or null, found {self.cmvn_path!r}")
        if self.cmvn_path is not None:
            self.cmvn_path = str(self.cmvn_path)

    @property
    def downsample_rate(self) -> int:
        return FBANK_FRAME_SHIFT * FBANK_SUBSAMPLING

    @property
    def receptive_field(self) -> int:
        return FBANK_FRAME_LENGTH + (self.kernel_size - 1) * FBANK_FRAME_SHIFT

    def num_frames(self, num_samples: int) -> int:
        fbank = conv_frames(num_samples, FBANK_FRAME_LENGTH, FBANK_FRAME_SHIFT)
        pad = self.kernel_size // 2
        return max((fbank + 2 * pad - self.kernel_size) // FBANK_SUBSAMPLING + 1, 0) if fbank else 0


@dataclass
class FrontendConfig:
    """Which front-end, and its settings (only the section of ``type`` may be set)."""

    type: str = "cnn"
    cnn: Optional[CnnFrontendConfig] = None
    fbank: Optional[FbankFrontendConfig] = None

    def __post_init__(self) -> None:
        _check_choice("frontend.type", self.type, ("cnn", "fbank"))
        other = "fbank" if self.type == "cnn" else "cnn"
        if getattr(self, other) is not None:
            raise ValueError(f"frontend.{other}: must be null when frontend.type is '{self.type}'")
        if getattr(self, self.type) is None:
            setattr(self, self.type, CnnFrontendConfig() if self.type == "cnn" else FbankFrontendConfig())

    @property
    def settings(self) -> Union[CnnFrontendConfig, FbankFrontendConfig]:
        return self.cnn if self.type == "cnn" else self.fbank


# -- encoder --------------------------------------------------------------------------
@dataclass
class EncoderConfig:
    """Post-LN transformer (DistilHuBERT / HuBERT Base layout).

    Attributes:
        num_layers: transformer layers L; fairseq/s3prl ``encoder_layers``.
        embed_dim: model dim D; ``encoder_embed_dim``, HF ``hidden_size``.
        ffn_dim: feed-forward inner dim; ``encoder_ffn_embed_dim``, HF ``intermediate_size``.
        num_heads: attention heads; ``encoder_attention_heads``.
        pos_conv_kernel: positional conv kernel; ``conv_pos``, HF ``num_conv_pos_embeddings``.
        pos_conv_groups: positional conv groups; ``conv_pos_groups``.
        dropout: residual dropout (and after the positional embedding); ``dropout``.
        attention_dropout: on attention weights; ``attention_dropout``.
        activation_dropout: after the FFN activation; ``activation_dropout``.
    """

    num_layers: int = 2
    embed_dim: int = 768
    ffn_dim: int = 3072
    num_heads: int = 12
    pos_conv_kernel: int = 128
    pos_conv_groups: int = 16
    dropout: float = 0.1
    attention_dropout: float = 0.1
    activation_dropout: float = 0.1

    def __post_init__(self) -> None:
        for name in ("num_layers", "embed_dim", "ffn_dim", "num_heads", "pos_conv_kernel", "pos_conv_groups"):
            _check_int(f"encoder.{name}", getattr(self, name))
        for name in ("dropout", "attention_dropout", "activation_dropout"):
            setattr(self, name, _check_prob(f"encoder.{name}", getattr(self, name)))
        if self.embed_dim % self.num_heads:
            raise ValueError(
                f"encoder.num_heads: must divide encoder.embed_dim={self.embed_dim}, found {self.num_heads}"
            )
        if self.embed_dim % self.pos_conv_groups:
            raise ValueError(
                f"encoder.pos_conv_groups: must divide encoder.embed_dim={self.embed_dim}, found {self.pos_conv_groups}"
            )


# -- heads ----------------------------------------------------------------------------
@dataclass
class TargetsConfig:
    """Distillation targets: which teacher layer each prediction is compared with.

    Attributes:
        type: ``prediction_heads`` (S&W, DistilHuBERT "expand-last": on the last
            layer, ``Linear(D, inter_dim*N) -> GELU -> N x Linear(inter_dim -> teacher dim)``)
            or ``layer_to_layer`` (D&T: one ``Linear(D -> teacher dim)`` per target,
            on student layer ``student_layers[i]``).
        teacher_layers: teacher hidden-state index per target (0 = transformer
            input, k = layer k); s3prl ``pred_layer_id``.
        student_layers: ``layer_to_layer`` only: 1-based student layer per target
            (any map, repeats allowed).
        inter_dim: ``prediction_heads`` only: width per head of the expanded layer
            (default: ``encoder.embed_dim``); s3prl ``out_layer_inter_dim``.
    """

    type: str = "prediction_heads"
    teacher_layers: List[int] = field(default_factory=lambda: [4, 8, 12])
    student_layers: Optional[List[int]] = None
    inter_dim: Optional[int] = None

    def __post_init__(self) -> None:
        _check_choice("heads.targets.type", self.type, ("prediction_heads", "layer_to_layer"))
        self.teacher_layers = _check_int_list("heads.targets.teacher_layers", self.teacher_layers, 0)
        if self.type == "prediction_heads":
            if self.student_layers is not None:
                raise ValueError(
                    "heads.targets.student_layers: must be null for prediction_heads (they all sit on the last layer); "
                    f"found {self.student_layers!r}"
                )
            if self.inter_dim is not None:
                _check_int("heads.targets.inter_dim", self.inter_dim)
            return
        if self.inter_dim is not None:
            raise ValueError(f"heads.targets.inter_dim: only used by prediction_heads, found {self.inter_dim!r}")
        if self.student_layers is None:
            raise ValueError(
                "heads.targets.student_layers: required for layer_to_layer (1-based student layer per target)"
            )
        self.student_layers = _check_int_list("heads.targets.student_layers", self.student_layers, 1)
        if len(self.student_layers) != len(self.teacher_layers):
            raise ValueError(
                f"heads.targets.student_layers: expected one entry per teacher layer ({len(self.teacher_layers)}), "
                f"found {len(self.student_layers)}"
            )

    @property
    def num_targets(self) -> int:
        return len(self.teacher_layers)


@dataclass
class UnitHeadConfig:
    """Student head for the discriminative loss over the teacher's K units.

    Attributes:
        type: ``type2``: ``Linear(D -> K)`` logits (the authors' final choice);
            ``type1``: ``Linear(D -> C)`` then cosine similarity with the teacher's
            frozen codewords (K x C). Neither divides by a temperature; that is the
            loss's ``temperature`` option.
    """

    type: str = "type2"

    def __post_init__(self) -> None:
        _check_choice("heads.units.type", self.type, ("type1", "type2"))


@dataclass
class HeadsConfig:
    """Distillation-only heads; all are dropped when the student is exported."""

    targets: Optional[TargetsConfig] = None
    units: Optional[UnitHeadConfig] = None
    frontend: bool = False

    def __post_init__(self) -> None:
        _check_bool("heads.frontend", self.frontend)


@dataclass
class TeacherSpec:
    """Sizes of the teacher the heads are built for; ``None`` = not known yet.

    ``build_student(config, teacher=teacher)`` fills them from the teacher.

    Attributes:
        dim: teacher hidden size (768 for HuBERT Base).
        num_layers: teacher transformer layers (12); bounds ``heads.targets.teacher_layers``.
        num_units: K, the teacher's units (504 for HuBERT Base: 500 + 4 specials).
        codeword_dim: C, the codeword size (256; ``final_proj`` output).
    """

    dim: Optional[int] = None
    num_layers: Optional[int] = None
    num_units: Optional[int] = None
    codeword_dim: Optional[int] = None

    def __post_init__(self) -> None:
        for name in ("dim", "num_layers", "num_units", "codeword_dim"):
            if getattr(self, name) is not None:
                _check_int(f"teacher.{name}", getattr(self, name))


@dataclass
class TeacherInitConfig:
    """Parts copied from the teacher at build time, each only where the shapes match.

    Attributes:
        cnn: the waveform CNN (cnn front-ends).
        projection: the CNN -> D projection (the teacher's LayerNorm before it is
            not copied: DistilHuBERT has none).
        pos_conv: the positional conv and the encoder LayerNorm after it.
        layers: student layer k <- teacher layer k, for k = 1..min(L, L_teacher).
    """

    cnn: bool = False
    projection: bool = False
    pos_conv: bool = False
    layers: bool = False

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check_bool(f"init_from_teacher.{f.name}", getattr(self, f.name))

    @property
    def any(self) -> bool:
        return self.cnn or self.projection or self.pos_conv or self.layers
