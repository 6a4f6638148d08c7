"""StudentModel: outputs, padding invariance, short inputs, parameter counts, build options."""

from __future__ import annotations

import pytest
import torch

from espnet_distill.student import CmvnStats, StudentModel, build_student, get_preset
from espnet_distill.student.presets import PRESET_DIR
from tests.student.helpers import noise_wavs, pad_batch

M = 1e6


@pytest.mark.parametrize(
    "name, millions",
    [("sw_cnn", 23.49), ("dt_cnn", 22.94), ("dt_fbank", 19.11), ("sw_fbank", 20.10)],
)
def test_parameter_counts_without_heads(name, millions):
    assert build_student(name).count_parameters(include_heads=False) / M == pytest.approx(millions, abs=0.02)


def test_exact_component_counts():
    counts = {n: build_student(n).parameter_counts() for n in ("sw_cnn", "dt_cnn", "dt_fbank", "sw_fbank")}
    assert counts["sw_cnn"]["total_without_heads"] == 23_491_200
    assert counts["dt_cnn"]["total_without_heads"] == 22_937_856
    assert counts["dt_fbank"]["total_without_heads"] == 19_107_008
    assert counts["sw_fbank"]["total_without_heads"] == 20_103_296
    assert counts["sw_cnn"]["frontend"] == 4_200_448  # HuBERT's CNN
    assert counts["dt_fbank"]["frontend"] + counts["dt_fbank"]["projection"] == 615_840
    assert counts["sw_cnn"]["pred_heads"] == 3_543_552
    reduction = 1 - counts["dt_fbank"]["total_without_heads"] / counts["dt_cnn"]["total_without_heads"]
    assert reduction == pytest.approx(0.17, abs=0.01)


def test_demo_ablation_students_match_the_demo_student():
    """The demo's S&W ablation has mini_fbank's parameter count (within 0.01 %) and half its depth;
    its CNN ablation differs only in the front-end."""
    counts = {n: build_student(n).parameter_counts() for n in ("mini_fbank", "mini_sw_fbank", "mini_cnn")}
    assert counts["mini_fbank"]["total_without_heads"] == 978_240
    assert counts["mini_sw_fbank"]["total_without_heads"] == 978_304
    assert counts["mini_cnn"]["total_without_heads"] == 1_122_752
    assert get_preset("mini_sw_fbank").encoder.num_layers * 2 == get_preset("mini_fbank").encoder.num_layers
    assert get_preset("mini_cnn").encoder == get_preset("mini_fbank").encoder
    front = {n: c["frontend"] + c["projection"] for n, c in counts.items()}
    cnn_extra = front["mini_cnn"] - front["mini_fbank"]
    assert counts["mini_cnn"]["total_without_heads"] - counts["mini_fbank"]["total_without_heads"] == cnn_extra


def test_cmvn_stats_are_buffers_not_parameters():
    student = build_student("tiny_fbank")
    names = {n for n, _ in student.named_parameters()}
    assert "frontend.cmvn_mean" not in names
    assert {"frontend.cmvn_mean", "frontend.cmvn_std"} <= set(student.state_dict())


@pytest.mark.parametrize("name", ["tiny_cnn", "tiny_fbank", "tiny_sw_cnn"])
def test_output_shapes(name):
    student = build_student(name).eval()
    wavs, lens = pad_batch(noise_wavs([16000, 8000]))
    out = student(wavs, lens)
    cfg = student.config
    assert len(out.hidden_states) == cfg.num_layers + 1
    assert all(h.shape == (2, 49, cfg.output_dim) for h in out.hidden_states)
    assert out.lengths.tolist() == [49, 24]
    assert len(out.predictions) == len(out.target_layers) == cfg.heads.targets.num_targets
    assert all(p.shape == (2, 49, cfg.teacher.dim) for p in out.predictions)
    assert out.unit_logits.shape == (2, 49, cfg.teacher.num_units)
    assert (out.frontend_prediction is not None) == cfg.heads.frontend
    assert out.padding_mask.tolist()[1] == [False] * 24 + [True] * 25
    assert torch.all(out.hidden_states[0][1, 24:] == 0)


@pytest.mark.parametrize("name", ["tiny_cnn", "tiny_fbank", "tiny_sw_cnn"])
def test_padded_batch_equals_each_utterance_alone(name):
    """Valid frames of every output are the same in a padded batch and alone (1e-4)."""
    torch.manual_seed(0)
    student = build_student(name).eval()
    if name == "tiny_fbank":  # realistic CMVN so the features are O(1)
        student.frontend.set_cmvn(torch.full((80,), 8.0), torch.full((80,), 3.0))
    wavs = noise_wavs([24000, 17000, 5003, 400, 719])
    batch, lens = pad_batch(wavs)
    with torch.no_grad():
        out = student(batch, lens)
        for i, wav in enumerate(wavs):
            alone = student(wav[None])
            n = int(alone.lengths[0])
            assert int(out.lengths[i]) == n == alone.hidden_states[0].shape[1]
            pairs = list(zip(out.hidden_states, alone.hidden_states)) + list(zip(out.predictions, alone.predictions))
            pairs.append((out.unit_logits, alone.unit_logits))
            if out.frontend_prediction is not None:
                pairs.append((out.frontend_prediction, alone.frontend_prediction))
            for batched, single in pairs:
                torch.testing.assert_close(batched[i, :n], single[0], atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", ["tiny_cnn", "tiny_fbank"])
def test_too_short_inputs_give_empty_outputs(name):
    student = build_student(name).eval()
    for n in (0, 1, 50, 399):
        out = student(torch.zeros(2, n))
        assert out.lengths.tolist() == [0, 0]
        assert all(h.shape == (2, 0, 192) for h in out.hidden_states)
    out = student(*pad_batch(noise_wavs([800, 100])))  # one utterance has no frame: no NaN anywhere
    assert out.lengths.tolist() == [2, 0]
    assert all(torch.isfinite(h).all() for h in out.hidden_states + out.predictions)


def test_frontend_only_stops_after_the_frontend():
    student = build_student("tiny_fbank").eval()
    wavs, lens = pad_batch(noise_wavs([8000]))
    full, front = student(wavs, lens), student(wavs, lens, frontend_only=True)
    assert len(front.hidden_states) == 1 and front.predictions == [] and front.unit_logits is None
    torch.testing.assert_close(front.frontend_prediction, full.frontend_prediction)


def test_eval_is_deterministic_and_train_backward_is_finite():
    student = build_student("tiny_fbank")
    wavs, lens = pad_batch(noise_wavs([9000, 7000]))
    student.eval()
    a, b = student(wavs, lens), student(wavs, lens)
    assert torch.equal(a.hidden_states[-1], b.hidden_states[-1])
    student.train()
    out = student(wavs, lens)
    sum(p.sum() for p in out.predictions + [out.unit_logits, out.frontend_prediction]).backward()
    grads = [p.grad for p in student.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_cnn_grad_mult_scales_the_cnn_gradient():
    torch.manual_seed(0)
    full = build_student("tiny_cnn")
    scaled_cfg = get_preset("tiny_cnn")
    scaled_cfg.frontend.cnn.grad_mult = 0.1
    scaled = build_student(scaled_cfg)
    scaled.load_state_dict(full.state_dict())
    wavs, lens = pad_batch(noise_wavs([6000]))
    for model in (full, scaled):
        model.eval()  # no dropout, but the multiplier is a training-mode feature: force it on
        model.frontend.train()
        model(wavs, lens).hidden_states[-1].sum().backward()
    g_full = full.frontend.conv_layers[0].conv.weight.grad
    g_scaled = scaled.frontend.conv_layers[0].conv.weight.grad
    torch.testing.assert_close(g_scaled, 0.1 * g_full, rtol=1e-4, atol=1e-7)


def test_build_from_yaml_dict_and_config_give_the_same_model():
    for spec in (PRESET_DIR / "tiny_cnn.yaml", get_preset("tiny_cnn").to_dict(), get_preset("tiny_cnn")):
        assert build_student(spec).count_parameters(include_heads=True) == build_student("tiny_cnn").count_parameters(
            True
        )
    with pytest.raises(ValueError, match="neither a student preset"):
        build_student("no_such_preset")


def test_build_with_cmvn_stats_and_path(tmp_path):
    from espnet_distill.student import save_cmvn

    stats = CmvnStats(torch.arange(80.0).numpy(), torch.full((80,), 2.0).numpy(), count=10)
    student = build_student("tiny_fbank", cmvn=stats)
    assert torch.equal(student.frontend.cmvn_std, torch.full((80,), 2.0))
    save_cmvn(tmp_path / "cmvn.npz", stats)
    student = build_student("tiny_fbank", cmvn=tmp_path / "cmvn.npz")
    assert student.config.frontend.fbank.cmvn_path == str(tmp_path / "cmvn.npz")
    assert torch.equal(student.frontend.cmvn_mean, torch.arange(80.0))
    with pytest.raises(ValueError, match="only fbank front-ends use CMVN"):
        build_student("tiny_cnn", cmvn=stats)
    with pytest.raises(ValueError, match="must have 80 values"):
        student.frontend.set_cmvn(torch.zeros(3), torch.ones(3))


def test_heads_need_teacher_sizes():
    config = get_preset("tiny_cnn")
    config.teacher.dim = None
    with pytest.raises(ValueError, match="need teacher.dim: pass teacher= to build_student"):
        StudentModel(config)


def test_build_with_teacher_adapts_heads_and_codewords(tiny_teacher):
    config = get_preset("tiny_fbank")
    config.heads.units.type = "type1"
    config.teacher.dim, config.teacher.num_units = 999, 7  # overridden by the teacher
    student = build_student(config, teacher=tiny_teacher)
    assert student.config.teacher.dim == 256 and student.unit_head.num_units == 100
    assert torch.equal(student.unit_head.codewords, tiny_teacher.codewords)
    out = student.eval()(*pad_batch(noise_wavs([4000])))
    assert out.unit_logits.abs().max() <= 1.0 + 1e-5  # type1 scores are cosines


@pytest.mark.parametrize("groups", [128, 4])
def test_group_norm_over_valid_matches_each_utterance_alone(groups):
    """Statistics over valid frames: each utterance as nn.GroupNorm normalises it alone, and a
    float64 masked mean/variance written out here; gradients flow; padded frames are zero."""
    from espnet_distill.frames import masked_group_norm

    torch.manual_seed(0)
    norm = torch.nn.GroupNorm(groups, 128).double()
    torch.nn.init.normal_(norm.weight)
    torch.nn.init.normal_(norm.bias)
    x = (3 * torch.randn(4, 128, 300) + 1).double().requires_grad_()
    for lengths in (torch.tensor([300, 200, 1, 0]), torch.full((4,), 300)):
        ours = masked_group_norm(x, lengths, norm)
        for i, n in enumerate(lengths.tolist()):
            if n == 0:
                assert torch.all(ours[i] == 0)
                continue
            if n * (128 // groups) > 1:  # nn.GroupNorm refuses a single value per group
                torch.testing.assert_close(ours[i, :, :n], norm(x[i : i + 1, :, :n])[0], atol=1e-10, rtol=0)
            xg = x[i, :, :n].reshape(groups, -1)
            mean, var = xg.mean(1, keepdim=True), xg.var(1, unbiased=False, keepdim=True)
            ref = ((xg - mean) / torch.sqrt(var + norm.eps)).reshape(128, n) * norm.weight[:, None] + norm.bias[:, None]
            torch.testing.assert_close(ours[i, :, :n], ref, atol=1e-10, rtol=0)
            assert torch.all(ours[i, :, n:] == 0)
        ours.sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all()
        x.grad = None
