"""Export a CNN student as an s3prl ``distiller`` checkpoint (what ``distiller_local`` reads).

s3prl's ``DistillerModel`` is DistilHuBERT's architecture, which our CNN students share
(a conv front-end without bias, GroupNorm or LayerNorm blocks, a projection with no
LayerNorm, a post-LN Transformer with a convolutional positional embedding). The
exported student has no distillation heads, so it uses DistillerModel's head-free
``self-hidden`` mode: its "predictions" are the front-end output and every layer
output again, all of one size, which s3prl's ``Featurizer`` accepts.
``S3PRLUpstream("distiller_local")`` then yields ``2 * (L + 1)`` hidden states: the
front-end output, layers 1..L, and the same ``L + 1`` tensors repeated.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict

import torch

from espnet_distill.common import Pathlike, atomic_write
from espnet_distill.student import StudentModel



def distiller_config(student: StudentModel) -> Dict:
    """The ``Config["distiller"]`` dict s3prl's ``DistillerConfig`` reads."""
    config = student.config
    if config.frontend.type != "cnn":
        raise ValueError(
            f"s3prl's DistillerModel has a waveform CNN front-end; this student's is "
            f"'{config.frontend.type}'. Use the upstream 'distill_student_local' for it instead"
        )
    cnn, enc = config.frontend.cnn, config.encoder
    num_states = enc.num_layers + 1
    return {
        "extractor_mode": "default" if cnn.mode == "group_norm" else "layer_norm",
        "extractor_conv_feature_layers": repr([tuple(int(v) for v in c) for c in cnn.conv_layers]),
        "extractor_dropout": 0.0,
        "feature_grad_mult": 1.0,
        "conv_pos": enc.pos_conv_kernel,
        "conv_pos_groups": enc.pos_conv_groups,
        "encoder_layers": enc.num_layers,
        "encoder_embed_dim": enc.embed_dim,
        "encoder_ffn_embed_dim": enc.ffn_dim,
        "encoder_attention_heads": enc.num_heads,
        "activation_fn": "gelu",
        "layer_norm_first": False,
        "dropout": enc.dropout,
        "attention_dropout": enc.attention_dropout,
        "activation_dropout": enc.activation_dropout,
        "encoder_layerdrop": 0.0,
        "final_dim": enc.embed_dim,
        "out_layer_type": "self-hidden",
        "task_emb_type": "self-hidden",
        "n_tasks": num_states,
        "pred_layer_id": list(range(num_states)),
        "init_teacher_conv_layers": False,
        "init_teacher_encoder_layers": False,
    }


def distiller_state_dict(student: StudentModel) -> Dict[str, torch.Tensor]:
    """Our student's body (no heads) under DistillerModel's parameter names."""
    layer_norm_mode = student.config.frontend.cnn.mode == "layer_norm"
    norm_target = r"feature_extractor.conv_layers.\1.2.1." if layer_norm_mode else r"feature_extractor.conv_layers.\1.2."
    renames = [
        (r"^frontend\.conv_layers\.(\d+)\.conv\.", r"feature_extractor.conv_layers.\1.0."),
        (r"^frontend\.conv_layers\.(\d+)\.norm\.", norm_target),
        (r"^frontend\.proj\.", "post_extract_proj."),
        (r"^encoder\.pos_conv\.conv\.parametrizations\.weight\.original0$", "encoder.pos_conv.0.weight_g"),
        (r"^encoder\.pos_conv\.conv\.parametrizations\.weight\.original1$", "encoder.pos_conv.0.weight_v"),
        (r"^encoder\.pos_conv\.conv\.bias$", "encoder.pos_conv.0.bias"),
    ]
    out = {}
    for key, value in student.without_heads().state_dict().items():
        new = key
        for pattern, repl in renames:
            new = re.sub(pattern, repl, new)
        out[new] = value.detach().cpu().clone()
    return out


def export_s3prl_distiller(student: StudentModel, path: Pathlike, provenance: Dict | None = None) -> Path:
    """Write ``{"Config": {"distiller": ...}, "Distiller": state_dict}`` atomically.

    The file holds only plain types and tensors (no pickled Namespace or scheduler),
    so it also loads with ``torch.load(weights_only=True)``.
    """
    path = Path(path)
    payload = {
        "Config": {"distiller": distiller_config(student)},
        "Distiller": distiller_state_dict(student),
        "espnet_distill": provenance or {},
    }
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))
