"""Export a CNN student as a HuggingFace ``HubertModel`` directory (config.json + safetensors).

The student maps onto ``HubertModel`` with ``feat_proj_layer_norm=False`` (as HF's own
DistilHuBERT conversion, ``ntu-spml/distilhubert``), post-LN layers
(``do_stable_layer_norm=False``) and no masking embedding. HF's ``hidden_states[0]`` is
the encoder input after the positional convolution and LayerNorm, ours is the front-end
output before them; ``hidden_states[k]`` for k = 1..L (layer outputs) are the same.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Dict

import torch

from espnet_distill.common import Pathlike
from espnet_distill.student import StudentModel



def hubert_config_dict(student: StudentModel) -> Dict:
    """Keyword arguments of ``transformers.HubertConfig`` for this student."""
    config = student.config
    if config.frontend.type != "cnn":
        raise ValueError(
            f"HubertModel has a waveform CNN front-end; this student's is '{config.frontend.type}' "
            "(fbank students are exported in the espnet_distill format only)"
        )
    cnn, enc = config.frontend.cnn, config.encoder
    return {
        "feat_extract_norm": "group" if cnn.mode == "group_norm" else "layer",
        "conv_dim": [int(c[0]) for c in cnn.conv_layers],
        "conv_kernel": [int(c[1]) for c in cnn.conv_layers],
        "conv_stride": [int(c[2]) for c in cnn.conv_layers],
        "conv_bias": False,
        "feat_proj_layer_norm": False,
        "feat_proj_dropout": 0.0,
        "hidden_size": enc.embed_dim,
        "num_hidden_layers": enc.num_layers,
        "num_attention_heads": enc.num_heads,
        "intermediate_size": enc.ffn_dim,
        "hidden_act": "gelu",
        "hidden_dropout": enc.dropout,
        "attention_dropout": enc.attention_dropout,
        "activation_dropout": enc.activation_dropout,
        "layerdrop": 0.0,
        "num_conv_pos_embeddings": enc.pos_conv_kernel,
        "num_conv_pos_embedding_groups": enc.pos_conv_groups,
        "do_stable_layer_norm": False,
        "layer_norm_eps": 1e-5,
        "mask_time_prob": 0.0,
        "mask_feature_prob": 0.0,
        "architectures": ["HubertModel"],
    }


_RENAMES = [
    (r"^frontend\.conv_layers\.(\d+)\.conv\.", r"feature_extractor.conv_layers.\1.conv."),
    (r"^frontend\.conv_layers\.(\d+)\.norm\.", r"feature_extractor.conv_layers.\1.layer_norm."),
    (r"^frontend\.proj\.", "feature_projection.projection."),
    (r"^encoder\.pos_conv\.conv\.", "encoder.pos_conv_embed.conv."),
    (r"^encoder\.layers\.(\d+)\.self_attn\.", r"encoder.layers.\1.attention."),
    (r"^encoder\.layers\.(\d+)\.self_attn_layer_norm\.", r"encoder.layers.\1.layer_norm."),
    (r"^encoder\.layers\.(\d+)\.fc1\.", r"encoder.layers.\1.feed_forward.intermediate_dense."),
    (r"^encoder\.layers\.(\d+)\.fc2\.", r"encoder.layers.\1.feed_forward.output_dense."),
]


def hubert_state_dict(student: StudentModel) -> Dict[str, torch.Tensor]:
    """The student's body under ``HubertModel`` parameter names."""
    out = {}
    for key, value in student.without_heads().state_dict().items():
        new = key
        for pattern, repl in _RENAMES:
            new = re.sub(pattern, repl, new)
        out[new] = value.detach().cpu().clone()
    return out


def build_hubert_model(student: StudentModel):
    """A ``transformers.HubertModel`` holding the student's weights (strictly loaded)."""
    from transformers import HubertConfig, HubertModel

    model = HubertModel(HubertConfig(**hubert_config_dict(student)))
    state = hubert_state_dict(student)
    # HF keeps the weight-norm parametrisation under its own names; map ours onto them
    state = _match_weight_norm_names(state, set(model.state_dict()))
    model.load_state_dict(state, strict=True)
    return model.eval()


def export_hf_hubert(student: StudentModel, directory: Pathlike, provenance: Dict | None = None) -> Path:
    """Write ``config.json`` + ``model.safetensors`` (+ our provenance) into ``directory``."""
    directory = Path(directory)
    model = build_hubert_model(student)
    model.save_pretrained(str(directory), safe_serialization=True)
    (directory / "espnet_distill_provenance.json").write_text(json.dumps(provenance or {}, indent=2, default=str))
    return directory


def _match_weight_norm_names(state: Dict[str, torch.Tensor], target_keys: set) -> Dict[str, torch.Tensor]:
    prefix = "encoder.pos_conv_embed.conv."
    if f"{prefix}parametrizations.weight.original0" in target_keys:
        return state
    renamed = dict(state)
    for ours, theirs in (("parametrizations.weight.original0", "weight_g"), ("parametrizations.weight.original1", "weight_v")):
        if prefix + ours in renamed:
            renamed[prefix + theirs] = renamed.pop(prefix + ours)
    return renamed
