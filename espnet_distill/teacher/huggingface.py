"""HuggingFace ``HubertModel`` / ``WavLMModel`` / ``Wav2Vec2Model`` directories, read without transformers.

A directory written by ``save_pretrained`` holds ``config.json`` and the weights
(``model.safetensors``, a sharded ``model.safetensors.index.json``, or
``pytorch_model.bin``). The config is mapped to a :class:`BackboneConfig` and the keys,
which already follow torchaudio's module names, are renamed by :data:`HF_KEYMAP`
(WavLM's separate q/k/v projections are fused into torchaudio's ``in_proj``).

HuggingFace checkpoints do not keep HuBERT's pre-training head (``final_proj`` and the
label embeddings), so these teachers are regression-only: ``unit_logits`` is ``None``.
Whether waveforms are layer-normalised first follows the pre-training recipe of the
architecture: on for ``feat_extract_norm: layer`` models (HuBERT Large/XLarge, wav2vec 2.0
Large LV-60k, WavLM Large), off otherwise; pass ``normalize_waveform`` to override.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import torch
from torch import Tensor

from espnet_distill.teacher.base import Teacher
from espnet_distill.teacher.checkpoint_io import is_tensor_mapping, read_json, read_safetensors, read_torch_file
from espnet_distill.teacher.config import BackboneConfig, TeacherFormatError
from espnet_distill.teacher.state import KeyMap, build_teacher

_LG = logging.getLogger(__name__)

_B = "backbone."
_T = _B + "encoder.transformer."
_POS = "encoder.pos_conv_embed.conv."

#: HuggingFace name (base model, prefix stripped) -> teacher name.
HF_KEYMAP = KeyMap(
    rules=[
        ("feature_extractor.conv_layers.{i}.conv.{p}", _B + "feature_extractor.conv_layers.{i}.conv.{p}"),
        ("feature_extractor.conv_layers.{i}.layer_norm.{p}", _B + "feature_extractor.conv_layers.{i}.layer_norm.{p}"),
        ("feature_projection.layer_norm.{p}", _B + "encoder.feature_projection.layer_norm.{p}"),
        ("feature_projection.projection.{p}", _B + "encoder.feature_projection.projection.{p}"),
        ("encoder.pos_conv_embed.conv.bias", _T + "pos_conv_embed.conv.bias"),
        # weight norm: torch >= 2.1 parametrization names (first: what transformers writes now), then the older ones
        (_POS + "parametrizations.weight.original0", _T + "pos_conv_embed.conv.parametrizations.weight.original0"),
        (_POS + "parametrizations.weight.original1", _T + "pos_conv_embed.conv.parametrizations.weight.original1"),
        (_POS + "weight_g", _T + "pos_conv_embed.conv.parametrizations.weight.original0"),
        (_POS + "weight_v", _T + "pos_conv_embed.conv.parametrizations.weight.original1"),
        ("encoder.layer_norm.{p}", _T + "layer_norm.{p}"),
        ("encoder.layers.{i}.attention.{q}_proj.{p}", _T + "layers.{i}.attention.{q}_proj.{p}"),
        # WavLM extras (its q/k/v are fused afterwards, see _fuse_wavlm_qkv)
        ("encoder.layers.{i}.attention.gru_rel_pos_const", _T + "layers.{i}.attention.gru_rel_pos_const"),
        ("encoder.layers.{i}.attention.gru_rel_pos_linear.{p}", _T + "layers.{i}.attention.gru_rel_pos_linear.{p}"),
        ("encoder.layers.{i}.attention.rel_attn_embed.weight", _T + "layers.{i}.attention.rel_attn_embed.weight"),
        ("encoder.layers.{i}.layer_norm.{p}", _T + "layers.{i}.layer_norm.{p}"),
        (
            "encoder.layers.{i}.feed_forward.intermediate_dense.{p}",
            _T + "layers.{i}.feed_forward.intermediate_dense.{p}",
        ),
        ("encoder.layers.{i}.feed_forward.output_dense.{p}", _T + "layers.{i}.feed_forward.output_dense.{p}"),
        ("encoder.layers.{i}.final_layer_norm.{p}", _T + "layers.{i}.final_layer_norm.{p}"),
    ],
    # pre-training / task heads that are no part of the backbone
    ignore=[r"masked_spec_embed", r"lm_head\..*", r"quantizer\..*", r"project_hid\..*", r"project_q\..*"],
)

#: Defaults of transformers' HubertConfig / WavLMConfig / Wav2Vec2Config for the fields read here.
HF_DEFAULTS: Dict[str, Any] = {
    "conv_dim": [512] * 7,
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "conv_bias": False,
    "feat_extract_norm": "group",
    "hidden_size": 768,
    "num_conv_pos_embeddings": 128,
    "num_conv_pos_embedding_groups": 16,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "do_stable_layer_norm": False,
    "num_buckets": 320,
    "max_bucket_distance": 800,
    "hidden_act": "gelu",
    "feat_extract_activation": "gelu",
    "layer_norm_eps": 1e-5,
    "feat_proj_layer_norm": True,
    "conv_pos_batch_norm": False,
    "add_adapter": False,
}
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


def backbone_config_from_hf(hf: Mapping[str, Any], what: str) -> BackboneConfig:
    """A :class:`BackboneConfig` from a ``config.json`` mapping (transformers' defaults filled in)."""
    model_type = hf.get("model_type")
    if model_type not in ("hubert", "wavlm", "wav2vec2"):
        raise TeacherFormatError(
            f"{what}: model_type must be 'hubert', 'wavlm' or 'wav2vec2', found {model_type!r} "
            f"(architectures {hf.get('architectures')})"
        )
    cfg = {**HF_DEFAULTS, **hf}
    unsupported = {
        "hidden_act": cfg["hidden_act"] != "gelu",
        "feat_extract_activation": cfg["feat_extract_activation"] != "gelu",
        "layer_norm_eps": abs(float(cfg["layer_norm_eps"]) - 1e-5) > 1e-12,
        "feat_proj_layer_norm": not cfg["feat_proj_layer_norm"],
        "conv_pos_batch_norm": bool(cfg["conv_pos_batch_norm"]),
        "add_adapter": bool(cfg["add_adapter"]),
    }
    bad = {k: cfg[k] for k, flag in unsupported.items() if flag}
    if bad:
        raise TeacherFormatError(
            f"{what}: unsupported config values {bad} (supported: gelu activations, layer_norm_eps 1e-5, "
            "feat_proj_layer_norm true, conv_pos_batch_norm false, add_adapter false)"
        )
    if cfg["feat_extract_norm"] not in ("group", "layer"):
        raise TeacherFormatError(
            f"{what}: feat_extract_norm must be 'group' or 'layer', found {cfg['feat_extract_norm']!r}"
        )
    sizes = {k: len(cfg[k]) for k in ("conv_dim", "conv_kernel", "conv_stride")}
    if len(set(sizes.values())) != 1:
        raise TeacherFormatError(f"{what}: conv_dim, conv_kernel and conv_stride differ in length: {sizes}")
    conv = list(zip(cfg["conv_dim"], cfg["conv_kernel"], cfg["conv_stride"], strict=True))
    return BackboneConfig(
        model_type=model_type,
        extractor_mode=f"{cfg['feat_extract_norm']}_norm",
        extractor_conv_layer_config=conv,
        extractor_conv_bias=bool(cfg["conv_bias"]),
        encoder_embed_dim=int(cfg["hidden_size"]),
        encoder_pos_conv_kernel=int(cfg["num_conv_pos_embeddings"]),
        encoder_pos_conv_groups=int(cfg["num_conv_pos_embedding_groups"]),
        encoder_num_layers=int(cfg["num_hidden_layers"]),
        encoder_num_heads=int(cfg["num_attention_heads"]),
        encoder_ff_interm_features=int(cfg["intermediate_size"]),
        encoder_layer_norm_first=bool(cfg["do_stable_layer_norm"]),
        encoder_num_buckets=int(cfg["num_buckets"]),
        encoder_max_distance=int(cfg["max_bucket_distance"]),
    )


def read_hf_weights(directory: Path) -> Dict[str, Tensor]:
    """The state dict of a ``save_pretrained`` directory (single or sharded safetensors, or .bin)."""
    directory = Path(directory)
    if (directory / "model.safetensors").is_file():
        return read_safetensors(directory / "model.safetensors")
    index = directory / "model.safetensors.index.json"
    if index.is_file():
        state: Dict[str, Tensor] = {}
        for shard in sorted(set(read_json(index).get("weight_map", {}).values())):
            state.update(read_safetensors(directory / shard))
        return state
    if (directory / "pytorch_model.bin").is_file():
        state = read_torch_file(directory / "pytorch_model.bin")
        if not is_tensor_mapping(state):
            raise TeacherFormatError(f"{directory / 'pytorch_model.bin'} is not a state dict")
        return state
    found = sorted(p.name for p in directory.iterdir())
    raise TeacherFormatError(f"{directory} has no weights: expected one of {list(_WEIGHT_FILES)}, found {found}")


def _strip_base_prefix(state: Mapping[str, Tensor], model_type: str) -> Dict[str, Tensor]:
    """``HubertForCTC`` & co. keep the base model under ``hubert.`` / ``wavlm.`` / ``wav2vec2.``."""
    prefix = f"{model_type}."
    if any(k.startswith(prefix + "feature_extractor.") for k in state):
        return {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in state.items()}
    return dict(state)


def _fuse_wavlm_qkv(state: Dict[str, Tensor], num_layers: int, what: str) -> None:
    """torchaudio's WavLM attention is an ``nn.MultiheadAttention``: stack q, k, v into ``in_proj``."""
    for i in range(num_layers):
        base = f"{_T}layers.{i}.attention."
        for p in ("weight", "bias"):
            parts = [state.pop(f"{base}{name}_proj.{p}", None) for name in ("q", "k", "v")]
            missing = [
                f"encoder.layers.{i}.attention.{n}_proj.{p}" for n, t in zip("qkv", parts, strict=True) if t is None
            ]
            if missing and len(missing) < 3:
                raise TeacherFormatError(f"{what}: missing keys {missing}")
            if not missing:
                state[f"{base}attention.in_proj_{p}"] = torch.cat(parts)
            out = state.pop(f"{base}out_proj.{p}", None)
            if out is not None:
                state[f"{base}attention.out_proj.{p}"] = out


def _wavlm_source_name(key: str) -> Optional[str]:
    for p in ("weight", "bias"):
        if key.endswith(f"attention.attention.in_proj_{p}"):
            return key.replace(_T, "encoder.").replace(
                f"attention.attention.in_proj_{p}", f"attention.{{q,k,v}}_proj.{p}"
            )
        if key.endswith(f"attention.attention.out_proj.{p}"):
            return key.replace(_T, "encoder.").replace("attention.attention.out_proj", "attention.out_proj")
    return HF_KEYMAP.to_source(key)


def default_normalize(config: BackboneConfig) -> bool:
    """Pre-training recipe default: layer-normalised waveforms for ``layer_norm`` CNNs only."""
    return config.extractor_mode == "layer_norm"


def _preprocessor_normalize(directory: Path) -> Optional[bool]:
    path = directory / "preprocessor_config.json"
    if not path.is_file():
        return None
    value = read_json(path).get("do_normalize")
    return None if value is None else bool(value)


def looks_like_hf_dir(path: Path) -> bool:
    return Path(path).is_dir() and (Path(path) / "config.json").is_file()


def load_huggingface(path: Path, *, normalize_waveform: Optional[bool] = None) -> Teacher:
    """Load a HuggingFace directory (``config.json`` + weights), or a ``config.json`` / weights file in one.

    Args:
        path: the directory, or a file inside it.
        normalize_waveform: override of the architecture default (see the module docstring).
    """
    directory = Path(path) if Path(path).is_dir() else Path(path).parent
    what = f"HuggingFace checkpoint {directory}"
    if not (directory / "config.json").is_file():
        raise TeacherFormatError(f"{what}: no config.json (found {sorted(p.name for p in directory.iterdir())})")
    hf = read_json(directory / "config.json")
    config = backbone_config_from_hf(hf, what)
    state = _strip_base_prefix(read_hf_weights(directory), config.model_type)
    ignored = sorted(k for k in state if HF_KEYMAP.is_ignored(k) and k != "masked_spec_embed")
    if ignored:
        _LG.info("%s: ignoring %d keys of task / pre-training heads (%s ...)", what, len(ignored), ignored[0])
    mapped, unknown = HF_KEYMAP.convert(state)
    source_name = HF_KEYMAP.to_source
    if config.model_type == "wavlm":
        _fuse_wavlm_qkv(mapped, config.encoder_num_layers, what)
        source_name = _wavlm_source_name
    normalize = default_normalize(config) if normalize_waveform is None else normalize_waveform
    declared = _preprocessor_normalize(directory)
    if normalize_waveform is None and declared is not None and declared != normalize:
        _LG.warning(
            "%s: preprocessor_config.json says do_normalize=%s but the %s pre-training recipe used %s; "
            "using %s (pass normalize_waveform to override)",
            what,
            declared,
            config.extractor_mode,
            normalize,
            normalize,
        )
    _LG.info("%s: %s, normalize %s", what, config.describe(), normalize)
    return build_teacher(
        config,
        mapped,
        what=what,
        unknown=unknown,
        source_name=source_name,
        normalize_waveform=normalize,
        source=str(directory),
        source_format="hf",
    )
