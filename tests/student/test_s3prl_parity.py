"""Structural parity with s3prl's DistillerModel (DistilHuBERT): same config, mapped weights, same outputs.

The key mapping below is the one a checkpoint exporter needs; every student key
(except the unit head, which s3prl does not have) maps onto exactly one s3prl key
and every s3prl key is covered.
"""

from __future__ import annotations

import re
from typing import Dict

import pytest
import torch

from espnet_distill.student import StudentConfig, build_student

s3prl_model = pytest.importorskip("s3prl.upstream.distiller.model", reason="needs s3prl (espnet-s3prl)")

TOL = dict(atol=1e-4, rtol=0)
# s3prl builds its positional conv with the deprecated torch.nn.utils.weight_norm
pytestmark = pytest.mark.filterwarnings("ignore:.*weight_norm.*:FutureWarning")


def tiny_config(mode: str, targets: dict) -> StudentConfig:
    return StudentConfig.from_dict(
        {
            "frontend": {
                "type": "cnn",
                "cnn": {"conv_layers": [[32, 10, 5]] + [[32, 3, 2]] * 4 + [[32, 2, 2]] * 2, "mode": mode},
            },
            "encoder": {
                "num_layers": 3,
                "embed_dim": 64,
                "ffn_dim": 96,
                "num_heads": 4,
                "pos_conv_kernel": 16,
                "pos_conv_groups": 4,
            },
            "heads": {"targets": targets},
            "teacher": {"dim": 48, "num_layers": 12},
        }
    )


def s3prl_config(config: StudentConfig) -> "s3prl_model.DistillerConfig":
    cnn, enc = config.frontend.cnn, config.encoder
    return s3prl_model.DistillerConfig(
        {
            "extractor_mode": "default" if cnn.mode == "group_norm" else "layer_norm",
            "extractor_conv_feature_layers": repr([tuple(c) for c in cnn.conv_layers]),
            "conv_pos": enc.pos_conv_kernel,
            "conv_pos_groups": enc.pos_conv_groups,
            "encoder_layers": enc.num_layers,
            "encoder_embed_dim": enc.embed_dim,
            "encoder_ffn_embed_dim": enc.ffn_dim,
            "encoder_attention_heads": enc.num_heads,
            **_s3prl_heads(config),
        }
    )


def _s3prl_heads(config: StudentConfig) -> dict:
    """s3prl has prediction heads ("expand-last") but no layer-to-layer heads: those map to none."""
    targets = config.heads.targets
    if targets is None or targets.type != "prediction_heads":
        return {"out_layer_type": "none", "task_emb_type": "none", "n_tasks": 1}
    return {
        "final_dim": config.teacher.dim,
        "out_layer_type": "expand-last",
        "task_emb_type": "expand-last",
        "n_tasks": targets.num_targets,
        "pred_layer_id": list(targets.teacher_layers),
        "out_layer_inter_dim": targets.inter_dim or -1,
    }


def to_s3prl_state_dict(student) -> Dict[str, torch.Tensor]:
    """Our DistillerModel-shaped student -> s3prl ``DistillerModel`` state dict."""
    out: Dict[str, torch.Tensor] = {}
    layer_norm_mode = student.config.frontend.cnn.mode == "layer_norm"
    heads = []
    for key, value in student.state_dict().items():
        if key.startswith(("unit_head.", "frontend_head.", "pred_heads.projs.")):
            continue  # no s3prl counterpart
        m = re.fullmatch(r"pred_heads\.heads\.(\d+)\.(weight|bias)", key)
        if m:
            heads.append((int(m.group(1)), m.group(2), value))
            continue
        new = re.sub(r"^frontend\.conv_layers\.(\d+)\.conv\.", r"feature_extractor.conv_layers.\1.0.", key)
        new = re.sub(
            r"^frontend\.conv_layers\.(\d+)\.norm\.",
            r"feature_extractor.conv_layers.\1.2.1." if layer_norm_mode else r"feature_extractor.conv_layers.\1.2.",
            new,
        )
        new = new.replace("frontend.proj.", "post_extract_proj.")
        new = new.replace("encoder.pos_conv.conv.parametrizations.weight.original0", "encoder.pos_conv.0.weight_g")
        new = new.replace("encoder.pos_conv.conv.parametrizations.weight.original1", "encoder.pos_conv.0.weight_v")
        new = new.replace("encoder.pos_conv.conv.bias", "encoder.pos_conv.0.bias")
        new = new.replace("pred_heads.expand.", "output_layer.0.")
        out[new] = value
    if not heads:
        return out
    heads.sort()
    weights = [v for _, kind, v in heads if kind == "weight"]
    biases = [v for _, kind, v in heads if kind == "bias"]
    out["output_layer.2.weight"] = torch.stack([w.t() for w in weights])  # (N, inter, final_dim)
    out["output_layer.2.bias"] = torch.stack(biases)[None, None]  # (1, 1, N, final_dim)
    return out


@pytest.mark.parametrize("mode", ["group_norm", "layer_norm"])
@pytest.mark.parametrize("inter_dim", [None, 40])
def test_transformer_outputs_match_s3prl_distiller(mode, inter_dim):
    torch.manual_seed(0)
    config = tiny_config(mode, {"type": "prediction_heads", "teacher_layers": [4, 8, 12], "inter_dim": inter_dim})
    ours = build_student(config).eval()
    ref = s3prl_model.DistillerModel(s3prl_config(config)).eval()
    ref.load_state_dict(to_s3prl_state_dict(ours), strict=True)

    wave = 0.1 * torch.randn(2, 12000)
    with torch.no_grad():
        out = ours(wave)
        _, feat_final, pred, _, layer_hiddens = ref(wave, torch.ones_like(wave, dtype=torch.long), get_hidden=True)
    torch.testing.assert_close(out.hidden_states[0], feat_final, **TOL)
    assert len(layer_hiddens) == config.num_layers
    for k, hidden in enumerate(layer_hiddens, start=1):
        torch.testing.assert_close(out.hidden_states[k], hidden, **TOL)
    assert pred.shape[1] == len(out.predictions)
    for n, prediction in enumerate(out.predictions):
        torch.testing.assert_close(prediction, pred[:, n], **TOL)


def test_parameter_counts_match_s3prl_without_heads():
    config = tiny_config("group_norm", {"type": "prediction_heads", "teacher_layers": [4, 12]})
    ours = build_student(config)
    ref = s3prl_model.DistillerModel(s3prl_config(config))
    ref_body = sum(p.numel() for n, p in ref.named_parameters() if not n.startswith("output_layer"))
    assert ours.count_parameters(include_heads=False) == ref_body


@pytest.mark.parametrize("preset", ["sw_cnn", "dt_cnn"])
def test_full_size_presets_match_s3prl_distiller(preset):
    """The real DistilHuBERT (S&W) and D&T students, on 0.5 s of audio."""
    torch.manual_seed(0)
    ours = build_student(preset).eval()
    ref = s3prl_model.DistillerModel(s3prl_config(ours.config)).eval()
    ref.load_state_dict(to_s3prl_state_dict(ours), strict=True)
    wave = 0.1 * torch.randn(1, 8000)
    with torch.no_grad():
        out = ours(wave)
        _, feat_final, _, _, layer_hiddens = ref(
            wave, torch.ones_like(wave, dtype=torch.long), get_hidden=True, no_pred=True
        )
    torch.testing.assert_close(out.hidden_states[0], feat_final, **TOL)
    for k, hidden in enumerate(layer_hiddens, start=1):
        torch.testing.assert_close(out.hidden_states[k], hidden, **TOL)
