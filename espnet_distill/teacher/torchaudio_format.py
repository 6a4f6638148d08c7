"""torchaudio state dicts: ``hubert_*`` / ``wav2vec2_*`` / ``wavlm_*`` models and ``hubert_pretrain_*`` models.

Two layouts are read:

- **wrapped** (recommended, written by :func:`save_torchaudio_checkpoint`)::

      {"format": "torchaudio", "config": {BackboneConfig fields / torchaudio factory kwargs},
       "state_dict": {...}, "normalize_waveform": bool, "logit_temp": float}

- **raw** ``model.state_dict()`` of a ``Wav2Vec2Model`` (``feature_extractor.*``,
  ``encoder.*``) or of a ``HuBERTPretrainModel`` (``wav2vec2.*``,
  ``mask_generator.mask_embedding``, ``logit_generator.final_proj.*``,
  ``logit_generator.label_embeddings``; the latter two are the unit head).

A raw state dict does not carry its config, so it is inferred from tensor shapes
(:func:`infer_config`): CNN channels / kernels / bias and norm type, width, positional
convolution kernel and groups, layer count, FFN width, and (WavLM) buckets and heads are
read exactly. Three things are not in the shapes and take documented defaults, which the
``config`` argument overrides field by field:

- CNN strides: the HuBERT / wav2vec 2.0 strides ``(5, 2, 2, 2, 2, 2, 2)`` when the kernels
  are ``(10, 3, 3, 3, 3, 2, 2)``; any other CNN needs ``extractor_conv_layer_config``;
- attention heads (HuBERT / wav2vec 2.0): ``D // 64`` (12 for Base, 16 for Large, 20 for
  XLarge); WavLM's heads are read from its relative position embedding;
- pre-LN vs post-LN: pre-LN (``encoder_layer_norm_first``) exactly when the CNN uses
  ``layer_norm``, as in every torchaudio preset (Base: group_norm + post-LN; Large,
  XLarge, LV-60k: layer_norm + pre-LN); WavLM's ``encoder_max_distance`` defaults to 800.

Waveform normalisation defaults to on for ``layer_norm`` CNNs (torchaudio's bundles
normalise HuBERT Large / XLarge inputs), and the unit logit temperature to 0.1
(torchaudio's ``LogitGenerator``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
from torch import Tensor, nn

from espnet_distill.teacher.base import Teacher
from espnet_distill.teacher.checkpoint_io import is_tensor_mapping, read_torch_file
from espnet_distill.teacher.config import BackboneConfig, TeacherFormatError
from espnet_distill.teacher.state import build_teacher

_LG = logging.getLogger(__name__)

_HEAD = {
    "logit_generator.final_proj.weight": "unit_head.final_proj.weight",
    "logit_generator.final_proj.bias": "unit_head.final_proj.bias",
    "logit_generator.label_embeddings": "unit_head.codewords",
}
_IGNORED = re.compile(r"(mask_generator\.mask_embedding|aux\..*)\Z")  # masking embedding, CTC head of ASR bundles
_WEIGHT_NORM = {"weight_g": "parametrizations.weight.original0", "weight_v": "parametrizations.weight.original1"}
_POS_CONV = "encoder.transformer.pos_conv_embed.conv."
_HUBERT_KERNELS = (10, 3, 3, 3, 3, 2, 2)
_HUBERT_STRIDES = (5, 2, 2, 2, 2, 2, 2)
HEAD_DIM = 64


def _canonical(key: str) -> str:
    """Older torchaudio (``weight_norm``) names of the positional convolution -> parametrization names."""
    for old, new in _WEIGHT_NORM.items():
        if key == _POS_CONV + old:
            return _POS_CONV + new
    return key


def backbone_state(state: Mapping[str, Tensor]) -> Tuple[Dict[str, Tensor], bool]:
    """The ``Wav2Vec2Model`` part of a raw state dict, and whether it came from a pretrain model."""
    pretrain = any(k.startswith("wav2vec2.") for k in state)
    prefix = "wav2vec2." if pretrain else ""
    return {
        _canonical(k[len(prefix) :]): v for k, v in state.items() if k.startswith(prefix) and not _IGNORED.match(k)
    }, pretrain


def to_teacher_state(state: Mapping[str, Tensor]) -> Tuple[Dict[str, Tensor], List[str]]:
    """Rename a raw torchaudio state dict to teacher keys; returns ``(state, unknown source keys)``."""
    pretrain = any(k.startswith("wav2vec2.") for k in state)
    out: Dict[str, Tensor] = {}
    unknown: List[str] = []
    for key, value in state.items():
        if key in _HEAD:
            out[_HEAD[key]] = value
        elif _IGNORED.match(key):
            continue
        elif pretrain and key.startswith("wav2vec2."):
            out["backbone." + _canonical(key[len("wav2vec2.") :])] = value
        elif not pretrain and key.startswith(("feature_extractor.", "encoder.")):
            out["backbone." + _canonical(key)] = value
        else:
            unknown.append(key)
    return out, unknown


def _source_name(pretrain: bool, key_prefix: str = ""):
    inverse = {v: k for k, v in _HEAD.items()}

    def name(key: str) -> str:
        if key in inverse:
            return key_prefix + inverse[key]
        if key.startswith("backbone."):
            return key_prefix + ("wav2vec2." if pretrain else "") + key[len("backbone.") :]
        return key

    return name


def infer_config(
    state: Mapping[str, Tensor], overrides: Optional[Mapping[str, Any]] = None, what: str = "state dict"
) -> BackboneConfig:
    """Infer a :class:`BackboneConfig` from a ``Wav2Vec2Model`` state dict's shapes.

    Args:
        state: ``Wav2Vec2Model`` keys (no ``wav2vec2.`` prefix).
        overrides: fields to take as given instead (see the module docstring for what
            cannot be inferred).
        what: the checkpoint, for messages.
    """
    overrides = dict(overrides or {})
    conv = _conv_shapes(state, what)
    kernels = tuple(k for _, k in conv)
    proj = _require(state, "encoder.feature_projection.projection.weight", what)
    dim = int(proj.shape[0])
    pos_v = _require(state, _POS_CONV + "parametrizations.weight.original1", what)
    layers = _count(state, r"encoder\.transformer\.layers\.(\d+)\.")
    rel = state.get("encoder.transformer.layers.0.attention.rel_attn_embed.weight")
    inferred: Dict[str, Any] = {
        "model_type": "wavlm" if rel is not None else "hubert",
        "extractor_mode": "layer_norm"
        if "feature_extractor.conv_layers.1.layer_norm.weight" in state
        else "group_norm",
        "extractor_conv_bias": "feature_extractor.conv_layers.0.conv.bias" in state,
        "encoder_embed_dim": dim,
        "encoder_pos_conv_kernel": int(pos_v.shape[2]),
        "encoder_pos_conv_groups": dim // int(pos_v.shape[1]),
        "encoder_num_layers": layers,
        "encoder_num_heads": int(rel.shape[1]) if rel is not None else max(1, dim // HEAD_DIM),
        "encoder_ff_interm_features": int(
            _require(state, "encoder.transformer.layers.0.feed_forward.intermediate_dense.weight", what).shape[0]
        ),
    }
    if rel is not None:
        inferred["encoder_num_buckets"] = int(rel.shape[0])
    mode = overrides.get("extractor_mode", inferred["extractor_mode"])
    inferred["encoder_layer_norm_first"] = mode == "layer_norm"
    if "extractor_conv_layer_config" not in overrides:
        if kernels != _HUBERT_KERNELS:
            raise TeacherFormatError(
                f"{what}: cannot infer the CNN strides of kernels {list(kernels)} (only the HuBERT/wav2vec 2.0 "
                f"CNN {list(_HUBERT_KERNELS)} is known); pass config={{'extractor_conv_layer_config': "
                "[[channels, kernel, stride], ...]}} or save the checkpoint with its config "
                "(espnet_distill.teacher.torchaudio_format.save_torchaudio_checkpoint)"
            )
        inferred["extractor_conv_layer_config"] = [(c, k, s) for (c, k), s in zip(conv, _HUBERT_STRIDES, strict=True)]
    inferred.update(overrides)
    return BackboneConfig.from_dict(inferred)


def _conv_shapes(state: Mapping[str, Tensor], what: str) -> List[Tuple[int, int]]:
    shapes = []
    while f"feature_extractor.conv_layers.{len(shapes)}.conv.weight" in state:
        weight = state[f"feature_extractor.conv_layers.{len(shapes)}.conv.weight"]
        shapes.append((int(weight.shape[0]), int(weight.shape[2])))
    if not shapes:
        raise TeacherFormatError(f"{what}: no CNN weights (feature_extractor.conv_layers.0.conv.weight is missing)")
    return shapes


def _count(state: Mapping[str, Tensor], pattern: str) -> int:
    regex = re.compile(pattern)
    indices = {int(m.group(1)) for k in state for m in [regex.match(k)] if m}
    return max(indices) + 1 if indices else 0


def _require(state: Mapping[str, Tensor], key: str, what: str) -> Tensor:
    if key not in state:
        raise TeacherFormatError(f"{what}: missing key {key!r}, needed to infer the architecture")
    return state[key]


def looks_like_torchaudio(obj: Any) -> bool:
    """A wrapped ``{config, state_dict}`` file or a raw ``Wav2Vec2Model`` / ``HuBERTPretrainModel`` state dict."""
    if isinstance(obj, dict) and isinstance(obj.get("config"), Mapping) and is_tensor_mapping(obj.get("state_dict")):
        return True
    return is_tensor_mapping(obj) and any(
        k.startswith(("encoder.feature_projection.", "wav2vec2.encoder.feature_projection.")) for k in obj
    )


def teacher_from_torchaudio_state(
    state: Mapping[str, Tensor],
    *,
    what: str,
    source: str,
    source_format: str = "torchaudio",
    config: Optional[Mapping[str, Any]] = None,
    infer: bool = True,
    normalize_waveform: Optional[bool] = None,
    logit_temp: float = 0.1,
    key_prefix: str = "",
) -> Teacher:
    """A :class:`Teacher` from a raw torchaudio state dict.

    Args:
        state: ``Wav2Vec2Model`` or ``HuBERTPretrainModel`` state dict.
        what, source, source_format: for messages and provenance.
        config: the full config (``infer=False``) or overrides of the inferred one.
        infer: infer the config from shapes, ``config`` overriding fields.
        normalize_waveform: ``None`` means on for ``layer_norm`` CNNs.
        logit_temp: unit logit temperature.
        key_prefix: prefix of the keys in the file, for messages (ESPnet's encoder prefix).
    """
    mapped, unknown = to_teacher_state(state)
    unknown = [key_prefix + k for k in unknown]
    pretrain = any(k.startswith("wav2vec2.") for k in state)
    if infer:
        backbone, _ = backbone_state(state)
        arch = infer_config(backbone, config, what)
    else:
        arch = BackboneConfig.from_dict(dict(config or {}))
    normalize = arch.extractor_mode == "layer_norm" if normalize_waveform is None else bool(normalize_waveform)
    _LG.info("%s: %s, normalize %s", what, arch.describe(), normalize)
    return build_teacher(
        arch,
        mapped,
        what=what,
        unknown=unknown,
        source_name=_source_name(pretrain, key_prefix),
        logit_temp=logit_temp,
        normalize_waveform=normalize,
        source=source,
        source_format=source_format,
    )


def load_torchaudio(
    path: Path,
    *,
    obj: Any = None,
    config: Optional[Mapping[str, Any]] = None,
    normalize_waveform: Optional[bool] = None,
) -> Teacher:
    """Load a torchaudio checkpoint file (wrapped or raw, see the module docstring).

    Args:
        path: the file.
        obj: its contents when already read.
        config: for raw state dicts, fields overriding the inferred config.
        normalize_waveform: override of the stored / default setting.
    """
    path = Path(path)
    what = f"torchaudio checkpoint {path}"
    obj = read_torch_file(path) if obj is None else obj
    if not looks_like_torchaudio(obj):
        found = sorted(obj)[:8] if isinstance(obj, dict) else type(obj).__name__
        raise TeacherFormatError(
            f"{path} is not a torchaudio checkpoint: expected a Wav2Vec2Model / HuBERTPretrainModel state dict "
            f"or {{'config', 'state_dict'}}, found {found}"
        )
    if "state_dict" in obj and isinstance(obj.get("config"), Mapping):
        if config:
            raise TeacherFormatError(f"{what} stores its config; config= only applies to raw state dicts")
        stored = obj.get("normalize_waveform")
        return teacher_from_torchaudio_state(
            obj["state_dict"],
            what=what,
            source=str(path),
            config=obj["config"],
            infer=False,
            normalize_waveform=stored if normalize_waveform is None else normalize_waveform,
            logit_temp=float(obj.get("logit_temp", 0.1)),
        )
    return teacher_from_torchaudio_state(
        obj, what=what, source=str(path), config=config, normalize_waveform=normalize_waveform
    )


def save_torchaudio_checkpoint(
    model: nn.Module,
    path: Path,
    config: BackboneConfig,
    *,
    normalize_waveform: Optional[bool] = None,
    logit_temp: float = 0.1,
) -> Path:
    """Write a torchaudio model with its config (the wrapped layout), loadable with ``weights_only=True``.

    Args:
        model: a torchaudio ``Wav2Vec2Model`` or ``HuBERTPretrainModel``.
        path: the output file.
        config: its architecture.
        normalize_waveform: stored for the loader (``None``: the loader's default).
        logit_temp: unit logit temperature (pretrain models).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data: Dict[str, Any] = {
        "format": "torchaudio",
        "config": config.to_dict(),
        "logit_temp": float(logit_temp),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    if normalize_waveform is not None:
        data["normalize_waveform"] = bool(normalize_waveform)
    torch.save(data, path)
    return path
