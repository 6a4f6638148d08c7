"""Initialisation from the teacher: copied where shapes match, skipped (and reported) elsewhere."""

from __future__ import annotations

import torch

from espnet_distill.student import build_student, get_preset, init_from_teacher
from espnet_distill.student.config import TeacherInitConfig
from tests.student.helpers import make_tiny_teacher, noise_wavs, pad_batch


def test_sw_student_copies_cnn_projection_pos_conv_and_layers(tiny_teacher):
    student = build_student("tiny_sw_cnn", teacher=tiny_teacher)
    tb = tiny_teacher.backbone
    for s_block, t_block in zip(student.frontend.conv_layers, tb.feature_extractor.conv_layers):
        assert torch.equal(s_block.conv.weight, t_block.conv.weight)
    assert torch.equal(
        student.frontend.conv_layers[0].norm.weight, tb.feature_extractor.conv_layers[0].layer_norm.weight
    )
    assert torch.equal(student.frontend.proj.weight, tb.encoder.feature_projection.projection.weight)
    tr = tb.encoder.transformer
    assert torch.equal(student.encoder.pos_conv.conv.weight, tr.pos_conv_embed.conv.weight)
    assert torch.equal(student.encoder.layer_norm.weight, tr.layer_norm.weight)
    for k in range(2):
        s_layer, t_layer = student.encoder.layers[k], tr.layers[k]
        assert torch.equal(s_layer.self_attn.q_proj.weight, t_layer.attention.q_proj.weight)
        assert torch.equal(s_layer.fc2.bias, t_layer.feed_forward.output_dense.bias)
        assert torch.equal(s_layer.final_layer_norm.weight, t_layer.final_layer_norm.weight)


def test_copied_encoder_computes_what_the_teacher_computes(tiny_teacher):
    """The teacher's projected CNN features through the student's encoder give teacher states 1-2.

    (The student has no LayerNorm before its projection, so the whole models differ;
    from the projection on, pos conv, encoder LayerNorm and layers are the teacher's.)
    """
    from espnet_distill.teacher.base import masked_feature_extractor

    student = build_student("tiny_sw_cnn", teacher=tiny_teacher).eval()
    wavs, lens = pad_batch(noise_wavs([9000, 6000]))
    t_out = tiny_teacher(wavs, lens)
    with torch.no_grad():
        feats, n = masked_feature_extractor(tiny_teacher.backbone.feature_extractor, wavs, lens)
        x = tiny_teacher.backbone.encoder.feature_projection(feats)
        hidden = student.encoder(x, n)
    for k in (1, 2):
        for i in range(2):
            torch.testing.assert_close(hidden[k][i, : n[i]], t_out.hidden_states[k][i, : n[i]], atol=1e-4, rtol=0)


def test_mismatched_parts_are_skipped_with_a_reason(tiny_teacher):
    student = build_student("tiny_cnn")  # 192-dim: only the 128-channel CNN fits the 256-dim teacher
    before = student.encoder.pos_conv.conv.bias.clone()
    report = init_from_teacher(
        student, tiny_teacher, TeacherInitConfig(cnn=True, projection=True, pos_conv=True, layers=True)
    )
    assert report["cnn"] == "copied"
    assert report["projection"].startswith("skipped: proj.weight has shape (192, 128) in the student, (256, 128)")
    assert report["pos_conv"].startswith("skipped")
    assert set(report) == {"cnn", "projection", "pos_conv", "layer1", "layer2", "layer3", "layer4"}
    assert all(report[f"layer{k}"].startswith("skipped") for k in range(1, 5))
    assert torch.equal(student.encoder.pos_conv.conv.bias, before)


def test_fbank_student_and_pre_ln_teacher_skip_cleanly():
    pre_ln = make_tiny_teacher(pre_ln=True)
    report = init_from_teacher(build_student("tiny_sw_cnn"), pre_ln, get_preset("tiny_sw_cnn").init_from_teacher)
    assert report["cnn"] == "copied"
    assert "pre-LN" in report["pos_conv"] and "pre-LN" in report["layer1"]
    report = init_from_teacher(build_student("tiny_fbank"), pre_ln, TeacherInitConfig(cnn=True, projection=True))
    assert report == {
        "cnn": "skipped: the student has no waveform CNN",
        "projection": "skipped: the student has no CNN -> D projection",
    }


def test_layer_norm_cnn_teacher_does_not_fill_a_group_norm_student():
    teacher = make_tiny_teacher(extractor_mode="layer_norm")
    report = init_from_teacher(build_student("tiny_cnn"), teacher, TeacherInitConfig(cnn=True))
    assert report["cnn"].startswith("skipped: conv layer 0 is normalised differently")
