"""Initialise a student from its teacher, part by part, where the shapes match.

DistilHuBERT copies the teacher's CNN, its ``post_extract_proj``, its positional
conv and its first layers. The teacher is a torchaudio ``Wav2Vec2Model`` (inside
:class:`~espnet_distill.teacher.Teacher`), whose names map to ours as::

    feature_extractor.conv_layers.{i}.conv / .layer_norm      -> frontend.conv_layers.{i}.conv / .norm
    encoder.feature_projection.projection                     -> frontend.proj
    encoder.transformer.pos_conv_embed.conv                   -> encoder.pos_conv.conv
    encoder.transformer.layer_norm                            -> encoder.layer_norm   (post-LN teachers)
    encoder.transformer.layers.{k}.attention.{q,k,v,out}_proj -> encoder.layers.{k}.self_attn.{q,k,v,out}_proj
    ....layers.{k}.layer_norm / final_layer_norm              -> ....layers.{k}.self_attn_layer_norm / final_layer_norm
    ....layers.{k}.feed_forward.intermediate_dense / output_dense -> ....layers.{k}.fc1 / fc2

The teacher's LayerNorm before its projection has no counterpart (DistilHuBERT has
none) and is not copied. Unlike s3prl's DistilHuBERT recipe, ``pos_conv`` also copies
the encoder LayerNorm that follows the positional conv (s3prl leaves it at its
default init), since the copied layers were trained behind it. A part is copied
whole or not at all; each decision is logged and returned.
"""

from __future__ import annotations

import logging
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

from espnet_distill.student.components import CnnFrontend
from espnet_distill.student.config import TeacherInitConfig

_LG = logging.getLogger(__name__)

Pairs = List[Tuple[str, Tensor, Tensor]]  # (name, destination, source)


def init_from_teacher(student: nn.Module, teacher, parts: Optional[TeacherInitConfig] = None) -> Dict[str, str]:
    """Copy the requested parts of ``teacher`` into ``student``.

    Args:
        student: a :class:`~espnet_distill.student.StudentModel`.
        teacher: a :class:`~espnet_distill.teacher.Teacher`.
        parts: what to copy (default: the student config's ``init_from_teacher``).

    Returns:
        ``{part: "copied" | "skipped: <reason>"}`` for each requested part
        (``layers`` reports per layer as ``layer1``, ``layer2``, ...).
    """
    parts = parts or student.config.init_from_teacher
    backbone = teacher.backbone
    report: Dict[str, str] = {}
    if parts.cnn:
        report["cnn"] = _copy(_cnn_pairs(student, backbone))
    if parts.projection:
        report["projection"] = _copy(_projection_pairs(student, backbone))
    if parts.pos_conv:
        report["pos_conv"] = _copy(_pos_conv_pairs(student, backbone))
    if parts.layers:
        t_layers = backbone.encoder.transformer.layers
        for k in range(min(len(student.encoder.layers), len(t_layers))):
            report[f"layer{k + 1}"] = _copy(_layer_pairs(student.encoder.layers[k], t_layers[k]))
    for part, outcome in report.items():
        (_LG.info if outcome == "copied" else _LG.warning)("init from teacher: %s %s", part, outcome)
    return report


def _copy(pairs) -> str:
    """Copy every (dst, src) pair if all shapes match; else a reason to skip."""
    if isinstance(pairs, str):
        return pairs
    for name, dst, src in pairs:
        if dst.shape != src.shape:
            return f"skipped: {name} has shape {tuple(dst.shape)} in the student, {tuple(src.shape)} in the teacher"
    with torch.no_grad():
        for _, dst, src in pairs:
            dst.copy_(src.to(dst.dtype))
    return "copied"


def _params(dst: nn.Module, src: nn.Module, names, prefix: str) -> Pairs:
    return [(f"{prefix}.{n}", getattr(dst, n), getattr(src, n)) for n in names]


def _cnn_pairs(student, backbone):
    fe = student.frontend
    if not isinstance(fe, CnnFrontend):
        return "skipped: the student has no waveform CNN"
    t_blocks = backbone.feature_extractor.conv_layers
    if len(t_blocks) != len(fe.conv_layers):
        return f"skipped: {len(fe.conv_layers)} conv layers in the student, {len(t_blocks)} in the teacher"
    pairs: Pairs = []
    for i, (s, t) in enumerate(zip(fe.conv_layers, t_blocks)):
        if t.conv.bias is not None:
            return "skipped: the teacher's convs have biases, the student's have none"
        pairs.append((f"conv_layers.{i}.conv.weight", s.conv.weight, t.conv.weight))
        s_norm, t_norm = s.norm, t.layer_norm
        if (s_norm is None) != (t_norm is None) or (s_norm is not None and type(s_norm).__name__ != _norm_kind(t_norm)):
            return (
                f"skipped: conv layer {i} is normalised differently (student {_name(s_norm)}, teacher {_name(t_norm)})"
            )
        if s_norm is not None:
            pairs += _params(s_norm, t_norm, ("weight", "bias"), f"conv_layers.{i}.norm")
    return pairs


def _norm_kind(module: nn.Module) -> str:
    return (
        "GroupNorm"
        if isinstance(module, nn.GroupNorm)
        else "LayerNorm"
        if isinstance(module, nn.LayerNorm)
        else type(module).__name__
    )


def _name(module: Optional[nn.Module]) -> str:
    return "none" if module is None else _norm_kind(module)


def _projection_pairs(student, backbone):
    proj = getattr(student.frontend, "proj", None)
    if not isinstance(student.frontend, CnnFrontend) or proj is None:
        return "skipped: the student has no CNN -> D projection"
    return _params(proj, backbone.encoder.feature_projection.projection, ("weight", "bias"), "proj")


def _pos_conv_pairs(student, backbone):
    transformer = backbone.encoder.transformer
    if not transformer.layer_norm_first:  # torchaudio's flag: True = LayerNorm before the layers (post-LN model)
        return "skipped: the teacher is pre-LN, its encoder LayerNorm has another role"
    s_conv, t_conv = student.encoder.pos_conv.conv, transformer.pos_conv_embed.conv
    if s_conv.groups != t_conv.groups or s_conv.kernel_size != t_conv.kernel_size:
        return (
            f"skipped: positional conv kernel/groups {s_conv.kernel_size[0]}/{s_conv.groups} in the student, "
            f"{t_conv.kernel_size[0]}/{t_conv.groups} in the teacher"
        )
    s_weight = s_conv.parametrizations.weight
    if hasattr(t_conv, "parametrizations"):
        t_g, t_v = t_conv.parametrizations.weight.original0, t_conv.parametrizations.weight.original1
    else:  # weight norm removed (torchscript preparation): g = ||v|| over all dims but 2
        t_v = t_conv.weight
        t_g = torch.linalg.vector_norm(t_v, dim=(0, 1), keepdim=True)
    return [
        ("pos_conv.weight_g", s_weight.original0, t_g),
        ("pos_conv.weight_v", s_weight.original1, t_v),
        ("pos_conv.bias", s_conv.bias, t_conv.bias),
    ] + _params(student.encoder.layer_norm, transformer.layer_norm, ("weight", "bias"), "layer_norm")


def _layer_pairs(s_layer, t_layer):
    if t_layer.layer_norm_first:
        return "skipped: the teacher layer is pre-LN, the student's are post-LN"
    t_attn = t_layer.attention
    if not all(hasattr(t_attn, n) for n in ("q_proj", "k_proj", "v_proj", "out_proj")) or hasattr(
        t_attn, "rel_attn_embed"
    ):
        return f"skipped: the teacher's attention ({type(t_attn).__name__}) is not plain multi-head attention"
    if t_attn.num_heads != s_layer.self_attn.num_heads:
        return (
            f"skipped: {s_layer.self_attn.num_heads} attention heads in the student, {t_attn.num_heads} in the teacher"
        )
    pairs: Pairs = []
    for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
        pairs += _params(
            getattr(s_layer.self_attn, proj), getattr(t_attn, proj), ("weight", "bias"), f"self_attn.{proj}"
        )
    modules = [
        (s_layer.self_attn_layer_norm, t_layer.layer_norm, "self_attn_layer_norm"),
        (s_layer.fc1, t_layer.feed_forward.intermediate_dense, "fc1"),
        (s_layer.fc2, t_layer.feed_forward.output_dense, "fc2"),
        (s_layer.final_layer_norm, t_layer.final_layer_norm, "final_layer_norm"),
    ]
    for dst, src, name in modules:
        pairs += _params(dst, src, ("weight", "bias"), name)
    return pairs
