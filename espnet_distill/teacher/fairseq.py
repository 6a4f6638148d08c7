"""fairseq HuBERT pre-training checkpoints (``hubert_base_ls960.pt``, ``hubert_large_ll60k.pt``), without fairseq.

Layout of a fairseq checkpoint (``fairseq.checkpoint_utils.save_state``)::

    {"cfg": {"model": {"_name": "hubert", ...HubertConfig}, "task": {"_name": "hubert_pretraining",
             "normalize": ..., ...}, ...},          # newer; a plain dict (OmegaConf.to_container)
     "args": argparse.Namespace(arch="hubert", ...)  # older; every option flat in one Namespace
     "model": {fairseq parameter name: tensor},
     "task_state": {"dictionaries": [fairseq.data.dictionary.Dictionary]}, ...}

The weights use fairseq's names (``feature_extractor.conv_layers.0.0.weight``,
``encoder.layers.3.fc1.weight``, ``encoder.pos_conv.0.weight_g``, ``final_proj.weight``,
``label_embs_concat``, ...) and are renamed to torchaudio's by :data:`FAIRSEQ_KEYMAPS` (one
table per CNN norm). The same weights and configs also appear in s3prl-converted files and in
ESPnet's fairseq-based HuBERT encoder, whose loaders reuse :func:`teacher_from_fairseq`.

The other direction, :func:`teacher_to_fairseq` and :func:`save_fairseq_checkpoint`, inverts the
same key map and config table: a teacher from any format is written as a fairseq HuBERT.

The unit head is ``final_proj`` (D -> C) and ``label_embs_concat`` (K x C; K = 504 for
HuBERT Base: 500 k-means units + 4 dictionary specials); logits are
``cos(final_proj(h_L), label_embs) / logit_temp``.
"""

from __future__ import annotations

import argparse
import ast
import logging
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
from torch import Tensor

from espnet_distill.common import SAMPLE_RATE, Pathlike
from espnet_distill.teacher.base import Teacher
from espnet_distill.teacher.checkpoint_io import FairseqDictionary, read_torch_file, write_torch_file
from espnet_distill.teacher.config import BackboneConfig, TeacherFormatError
from espnet_distill.teacher.state import KeyMap, build_teacher

_LG = logging.getLogger(__name__)

_B = "backbone."
_T = _B + "encoder.transformer."
_MASK_EMB = "mask_emb"

#: fairseq name -> teacher name (``backbone.`` + torchaudio ``Wav2Vec2Model`` key, or ``unit_head.*``), all but
#: the CNN's norms (:data:`_CONV_NORMS`). Where two fairseq names give one teacher name, the first is written.
_RULES = [
    ("feature_extractor.conv_layers.{i}.0.{p}", _B + "feature_extractor.conv_layers.{i}.conv.{p}"),
    ("layer_norm.{p}", _B + "encoder.feature_projection.layer_norm.{p}"),
    ("post_extract_proj.{p}", _B + "encoder.feature_projection.projection.{p}"),
    ("encoder.pos_conv.0.bias", _T + "pos_conv_embed.conv.bias"),
    ("encoder.pos_conv.0.weight_g", _T + "pos_conv_embed.conv.parametrizations.weight.original0"),
    ("encoder.pos_conv.0.weight_v", _T + "pos_conv_embed.conv.parametrizations.weight.original1"),
    (
        "encoder.pos_conv.0.parametrizations.weight.original0",
        _T + "pos_conv_embed.conv.parametrizations.weight.original0",
    ),
    (
        "encoder.pos_conv.0.parametrizations.weight.original1",
        _T + "pos_conv_embed.conv.parametrizations.weight.original1",
    ),
    ("encoder.layer_norm.{p}", _T + "layer_norm.{p}"),
    ("encoder.layers.{i}.self_attn.{q}_proj.{p}", _T + "layers.{i}.attention.{q}_proj.{p}"),
    ("encoder.layers.{i}.self_attn_layer_norm.{p}", _T + "layers.{i}.layer_norm.{p}"),
    ("encoder.layers.{i}.fc1.{p}", _T + "layers.{i}.feed_forward.intermediate_dense.{p}"),
    ("encoder.layers.{i}.fc2.{p}", _T + "layers.{i}.feed_forward.output_dense.{p}"),
    ("encoder.layers.{i}.final_layer_norm.{p}", _T + "layers.{i}.final_layer_norm.{p}"),
    ("final_proj.{p}", "unit_head.final_proj.{p}"),
    ("label_embs_concat", "unit_head.codewords"),
]
_CONV_NORMS = {
    # extractor_mode "default": one GroupNorm, in the first block (Sequential index 2)
    "group_norm": ("feature_extractor.conv_layers.0.2.{p}", _B + "feature_extractor.conv_layers.0.layer_norm.{p}"),
    # extractor_mode "layer_norm": Sequential(TransposeLast, LayerNorm, TransposeLast) at index 2 of every block
    "layer_norm": (
        "feature_extractor.conv_layers.{i}.2.1.{p}",
        _B + "feature_extractor.conv_layers.{i}.layer_norm.{p}",
    ),
}
#: fairseq name <-> teacher name, one map per CNN norm (:attr:`BackboneConfig.extractor_mode`: the two modes
#: name the first block's norm differently, so one map could not be inverted). The loader reads with it,
#: :func:`teacher_to_fairseq` inverts it.
FAIRSEQ_KEYMAPS = {
    mode: KeyMap(rules=[_RULES[0], norm, *_RULES[1:]], ignore=[_MASK_EMB])  # mask_emb: used in pre-training only
    for mode, norm in _CONV_NORMS.items()
}
#: fairseq ``HubertConfig`` field -> (:class:`BackboneConfig` field, type), read and written as they are.
_CFG_FIELDS = {
    "encoder_layers": ("encoder_num_layers", int),
    "encoder_embed_dim": ("encoder_embed_dim", int),
    "encoder_ffn_embed_dim": ("encoder_ff_interm_features", int),
    "encoder_attention_heads": ("encoder_num_heads", int),
    "conv_bias": ("extractor_conv_bias", bool),
    "conv_pos": ("encoder_pos_conv_kernel", int),
    "conv_pos_groups": ("encoder_pos_conv_groups", int),
    "layer_norm_first": ("encoder_layer_norm_first", bool),
}
#: fairseq ``extractor_mode`` -> :attr:`BackboneConfig.extractor_mode`
_EXTRACTOR_MODES = {"default": "group_norm", "layer_norm": "layer_norm"}

#: fairseq ``HubertConfig`` / ``HubertPretrainingConfig`` defaults of the fields read here
#: (real checkpoints store every field; these fill partial configs, e.g. ESPnet's).
FAIRSEQ_HUBERT_DEFAULTS: Dict[str, Any] = {
    "extractor_mode": "default",
    "encoder_layers": 12,
    "encoder_embed_dim": 768,
    "encoder_ffn_embed_dim": 3072,
    "encoder_attention_heads": 12,
    "activation_fn": "gelu",
    "layer_type": "transformer",
    "final_dim": 0,
    "untie_final_proj": False,
    "layer_norm_first": False,
    "conv_feature_layers": "[(512,10,5)] + [(512,3,2)] * 4 + [(512,2,2)] * 2",
    "conv_bias": False,
    "logit_temp": 0.1,
    "target_glu": False,
    "conv_pos": 128,
    "conv_pos_groups": 16,
}
_PRETRAINED_NAMES = ("hubert",)
_MAX_REPEAT = 64  # bounds "[(512,3,2)] * n" in conv_feature_layers


def parse_conv_layers(spec: Any) -> List[Tuple[int, int, int]]:
    """fairseq's ``conv_feature_layers`` string (``"[(512,10,5)] + [(512,3,2)] * 4"``) without ``eval``.

    Accepts literals, ``+`` and ``*`` only; a list is returned unchanged.
    """
    if isinstance(spec, (list, tuple)):
        value = spec
    else:
        try:
            value = _literal(ast.parse(str(spec), mode="eval").body)
        except (SyntaxError, ValueError) as e:
            raise TeacherFormatError(f"cannot parse conv_feature_layers {spec!r}: {e}") from e
    if not isinstance(value, (list, tuple)) or not all(isinstance(t, (list, tuple)) and len(t) == 3 for t in value):
        raise TeacherFormatError(f"conv_feature_layers must describe [(dim, kernel, stride), ...], found {spec!r}")
    return [tuple(int(v) for v in t) for t in value]


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(n) for n in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
        left, right = _literal(node.left), _literal(node.right)
        if isinstance(node.op, ast.Mult) and not (isinstance(right, int) and 0 <= right <= _MAX_REPEAT):
            raise ValueError(f"a list may be repeated 0..{_MAX_REPEAT} times, found * {right!r}")
        return left + right if isinstance(node.op, ast.Add) else left * right
    raise ValueError(f"unsupported expression {ast.dump(node)}")


def _as_dict(section: Any) -> Dict[str, Any]:
    if section is None:
        return {}
    if isinstance(section, argparse.Namespace):
        return dict(vars(section))
    if isinstance(section, Mapping):
        return dict(section)
    raise TeacherFormatError(f"expected a config mapping or argparse.Namespace, found {type(section).__name__}")


def read_fairseq_cfg(ckpt: Mapping[str, Any], what: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """``(model_cfg, task_cfg)`` of a fairseq checkpoint: from ``cfg`` (newer) or ``args`` (older)."""
    cfg = ckpt.get("cfg")
    if cfg is not None:
        cfg = _as_dict(cfg)
        if "model" not in cfg:
            raise TeacherFormatError(f"{what}: 'cfg' has no 'model' section; found sections {sorted(cfg)}")
        return _as_dict(cfg["model"]), _as_dict(cfg.get("task"))
    args = ckpt.get("args")
    if args is not None:
        flat = _as_dict(args)
        model_cfg = dict(flat, _name=flat.get("arch", flat.get("_name")))
        return model_cfg, flat
    raise TeacherFormatError(f"{what}: neither 'cfg' nor 'args' is set; top-level keys {sorted(ckpt)}")


def backbone_config_from_fairseq(model_cfg: Mapping[str, Any], what: str) -> BackboneConfig:
    """A :class:`BackboneConfig` from fairseq ``HubertConfig`` fields (defaults filled in)."""
    cfg = {**FAIRSEQ_HUBERT_DEFAULTS, **{k: v for k, v in model_cfg.items() if v is not None}}
    for name, supported in (("layer_type", "transformer"), ("activation_fn", "gelu")):
        if str(cfg[name]) != supported:
            raise TeacherFormatError(f"{what}: {name}={cfg[name]!r} is not supported (only {supported!r})")
    if cfg.get("target_glu"):
        raise TeacherFormatError(f"{what}: target_glu=True (a GLU on the label embeddings) is not supported")
    if cfg.get("conv_pos_batch_norm"):
        raise TeacherFormatError(f"{what}: conv_pos_batch_norm=True is not supported")
    if int(cfg.get("pos_conv_depth", 1) or 1) != 1:
        raise TeacherFormatError(f"{what}: pos_conv_depth={cfg['pos_conv_depth']} is not supported (only 1)")
    if str(cfg["extractor_mode"]) not in _EXTRACTOR_MODES:
        raise TeacherFormatError(
            f"{what}: extractor_mode must be one of {sorted(_EXTRACTOR_MODES)}, found {cfg['extractor_mode']!r}"
        )
    return BackboneConfig(
        model_type="hubert",
        extractor_mode=_EXTRACTOR_MODES[str(cfg["extractor_mode"])],
        extractor_conv_layer_config=parse_conv_layers(cfg["conv_feature_layers"]),
        **{ours: kind(cfg[theirs]) for theirs, (ours, kind) in _CFG_FIELDS.items()},
    )


def _check_model_name(model_cfg: Mapping[str, Any], what: str) -> None:
    name = model_cfg.get("_name")
    if name is None or str(name) in _PRETRAINED_NAMES:
        return
    hint = (
        " (a fine-tuned model: use its pre-trained checkpoint)" if "ctc" in str(name) or "seq2seq" in str(name) else ""
    )
    raise TeacherFormatError(
        f"{what}: expected a fairseq HuBERT pre-training model (model._name in {list(_PRETRAINED_NAMES)}), "
        f"found {name!r}{hint}; wav2vec 2.0 / WavLM teachers load from HuggingFace or torchaudio files"
    )


def _fill_identity_projection(weights: Dict[str, Tensor], config: BackboneConfig) -> None:
    """fairseq omits ``post_extract_proj`` when the CNN width equals D; torchaudio always has one."""
    key = _B + "encoder.feature_projection.projection.weight"
    channels = config.extractor_conv_layer_config[-1][0]
    if key not in weights and channels == config.encoder_embed_dim:
        weights[key] = torch.eye(channels)
        weights[key.replace("weight", "bias")] = torch.zeros(channels)


def teacher_from_fairseq(
    model_cfg: Mapping[str, Any],
    task_cfg: Mapping[str, Any],
    weights: Mapping[str, Tensor],
    *,
    what: str,
    source: str,
    source_format: str,
    num_units: Optional[int] = None,
    normalize_waveform: Optional[bool] = None,
    key_prefix: str = "",
) -> Teacher:
    """A :class:`Teacher` from fairseq HuBERT config sections and fairseq-named weights.

    Args:
        model_cfg: fairseq ``HubertConfig`` fields (``cfg.model``).
        task_cfg: ``HubertPretrainingConfig`` fields (``cfg.task``; ``normalize`` is read).
        weights: the fairseq state dict (``ckpt["model"]``).
        what: the checkpoint, for error messages.
        source, source_format: provenance.
        num_units: the dictionary size, when known, checked against ``label_embs_concat``.
        normalize_waveform: override of ``task.normalize``.
        key_prefix: prefix of the weight names in the file, for messages (ESPnet's ``encoder.encoder.``).
    """
    _check_model_name(model_cfg, what)
    if model_cfg.get("target_glu") or any(k.startswith("target_glu.") for k in weights):
        raise TeacherFormatError(f"{what}: target_glu (a GLU on the label embeddings) is not supported")
    config = backbone_config_from_fairseq(model_cfg, what)
    keymap = FAIRSEQ_KEYMAPS[config.extractor_mode]
    mapped, unknown = keymap.convert(weights)
    unknown = [key_prefix + k for k in unknown]
    _fill_identity_projection(mapped, config)
    codewords = mapped.get("unit_head.codewords")
    if codewords is not None and num_units is not None and codewords.shape[0] != num_units:
        raise TeacherFormatError(
            f"{what}: label_embs_concat has {codewords.shape[0]} rows but the dictionaries hold {num_units} "
            "symbols (several label sets are not supported)"
        )
    normalize = bool(task_cfg.get("normalize", False)) if normalize_waveform is None else normalize_waveform
    logit_temp = float(model_cfg.get("logit_temp") or FAIRSEQ_HUBERT_DEFAULTS["logit_temp"])
    _LG.info("%s: %s, logit_temp %g, normalize %s", what, config.describe(), logit_temp, normalize)
    return build_teacher(
        config,
        mapped,
        what=what,
        unknown=unknown,
        logit_temp=logit_temp,
        source_name=lambda k: key_prefix + (keymap.to_source(k) or k),
        normalize_waveform=normalize,
        source=source,
        source_format=source_format,
    )


def dictionary_sizes(ckpt: Mapping[str, Any]) -> Optional[List[int]]:
    """Symbols per label dictionary in ``task_state`` (``None`` when absent)."""
    dicts = (ckpt.get("task_state") or {}).get("dictionaries")
    if not dicts:
        return None
    return [len(getattr(d, "symbols", None) or (d.get("symbols", []) if isinstance(d, dict) else [])) for d in dicts]


def looks_like_fairseq(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("model"), dict) and ("cfg" in obj or "args" in obj)


def load_fairseq(path: Path, *, obj: Any = None, normalize_waveform: Optional[bool] = None) -> Teacher:
    """Load a fairseq HuBERT checkpoint file.

    Args:
        path: the ``.pt`` file.
        obj: its contents when already read (format detection reads it once).
        normalize_waveform: override of ``task.normalize``.
    """
    path = Path(path)
    what = f"fairseq checkpoint {path}"
    ckpt = read_torch_file(path) if obj is None else obj
    if not looks_like_fairseq(ckpt):
        found = sorted(ckpt) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise TeacherFormatError(
            f"{path} is not a fairseq checkpoint: expected keys 'model' and 'cfg' or 'args', found {found}"
        )
    model_cfg, task_cfg = read_fairseq_cfg(ckpt, what)
    sizes = dictionary_sizes(ckpt)
    if sizes is not None and len(sizes) > 1:
        raise TeacherFormatError(f"{what}: {len(sizes)} label dictionaries; only single-target HuBERT is supported")
    return teacher_from_fairseq(
        model_cfg,
        task_cfg,
        ckpt["model"],
        what=what,
        source=str(path),
        source_format="fairseq",
        num_units=sizes[0] if sizes else None,
        normalize_waveform=normalize_waveform,
    )


# -- the other direction: a teacher as a fairseq HuBERT ------------------------------------------
CFG_FORMATS = ("dict", "omegaconf")


def teacher_to_fairseq(teacher: Teacher) -> Tuple[Dict[str, Any], Dict[str, Any], Dict[str, Tensor]]:
    """``(model_cfg, task_cfg, weights)`` of a HuBERT teacher in fairseq's names; the inverse of
    :func:`teacher_from_fairseq`, from the same key map and config table.

    The labels are at the model's frame rate (``label_rate`` 50 Hz for HuBERT), as in HuBERT's
    second iteration. ``mask_emb``, which only pre-training uses and a teacher does not keep, is
    written as zeros, so that fairseq's ``HubertModel`` finds every one of its parameters.

    Raises:
        ValueError: not a HuBERT with its unit head (fairseq's ``HubertModel`` always has one), or
            a CNN as wide as the transformer (fairseq then has no ``post_extract_proj``).
    """
    config = teacher.backbone_config
    if config is None or config.model_type != "hubert" or not teacher.has_unit_head:
        found = "no backbone_config" if config is None else f"a {config.model_type} backbone"
        raise ValueError(
            f"teacher {teacher.source or '(unnamed)'}: a fairseq HuBERT checkpoint needs a HuBERT backbone with "
            f"its unit head (final_proj + label embeddings), found {found}"
            f"{'' if teacher.has_unit_head else ' without a unit head'}"
        )
    if config.extractor_conv_layer_config[-1][0] == config.encoder_embed_dim:
        raise ValueError(
            f"the CNN's width equals encoder_embed_dim ({config.encoder_embed_dim}): fairseq then has no "
            "post_extract_proj, and this teacher's projection cannot be written"
        )
    weights, unknown = FAIRSEQ_KEYMAPS[config.extractor_mode].convert_back(teacher.state_dict())
    if unknown:
        raise ValueError(f"teacher keys without a fairseq name: {unknown}")
    weights = {k: v.detach().cpu().clone() for k, v in weights.items()}
    weights[_MASK_EMB] = torch.zeros(config.encoder_embed_dim)
    label_rate = SAMPLE_RATE / config.stride
    model_cfg = {
        "_name": _PRETRAINED_NAMES[0],
        **FAIRSEQ_HUBERT_DEFAULTS,
        **{theirs: getattr(config, ours) for theirs, (ours, _) in _CFG_FIELDS.items()},
        "extractor_mode": next(k for k, v in _EXTRACTOR_MODES.items() if v == config.extractor_mode),
        "conv_feature_layers": str([tuple(layer) for layer in config.extractor_conv_layer_config]),
        "final_dim": int(teacher.codewords.shape[1]),
        "logit_temp": teacher.logit_temp,
        "label_rate": label_rate,
    }
    task_cfg = {
        "_name": "hubert_pretraining",
        "labels": ["km"],
        "label_rate": label_rate,
        "sample_rate": SAMPLE_RATE,
        "normalize": teacher.normalize_waveform,
    }
    return model_cfg, task_cfg, weights


def save_fairseq_checkpoint(teacher: Teacher, path: Pathlike, *, cfg_format: str = "dict") -> Path:
    """Write a HuBERT teacher as a fairseq HuBERT pre-training checkpoint; :func:`load_fairseq` reads
    it back to the same teacher.

    The layout is fairseq's (see the module docstring): its parameter names, ``cfg`` with the model
    and task sections, ``task_state`` with the label ``Dictionary`` (pickled under fairseq's class
    name, without fairseq: :func:`~espnet_distill.teacher.checkpoint_io.write_torch_file`) and the
    training-state entries that fairseq's loader expects, empty.

    Args:
        teacher: a HuBERT teacher with its unit head (see :func:`teacher_to_fairseq`).
        path: the ``.pt`` file.
        cfg_format: ``dict`` (plain containers, as fairseq >= 0.12 writes ``cfg``) or ``omegaconf`` (an
            omegaconf ``DictConfig`` with ``label_rate: ${task.label_rate}``, as in the released
            ``hubert_base_ls960.pt``).
    """
    if cfg_format not in CFG_FORMATS:
        raise ValueError(f"cfg_format: expected one of {CFG_FORMATS}, found {cfg_format!r}")
    model_cfg, task_cfg, weights = teacher_to_fairseq(teacher)
    cfg: Any = {"_name": None, "model": model_cfg, "task": task_cfg}
    if cfg_format == "omegaconf":
        from omegaconf import OmegaConf  # installed with ESPnet

        cfg = OmegaConf.create({**cfg, "model": {**model_cfg, "label_rate": "${task.label_rate}"}})
    ckpt = {
        "args": None,
        "cfg": cfg,
        "model": weights,
        "criterion": None,
        "optimizer_history": [{"criterion_name": "HubertCriterion", "lr_scheduler_state": {}, "num_updates": 0}],
        "task_state": {"dictionaries": [FairseqDictionary.for_units(teacher.num_units)]},
        "extra_state": {},
    }
    return write_torch_file(path, ckpt)
