"""fairseq HuBERT checkpoints: key map, configs (cfg / args), parity with torchaudio, unit logits, errors,
and the package's own writer checked against the independent one of tests/oracles."""

from __future__ import annotations

import argparse
import re

import pytest
import torch

from espnet_distill.teacher import TeacherFormatError, load_teacher
from espnet_distill.teacher.checkpoint_io import FairseqDictionary, read_torch_file
from espnet_distill.teacher.fairseq import FAIRSEQ_KEYMAPS, parse_conv_layers
from tests.oracles.teachers import (
    edit_fairseq_checkpoint,
    fairseq_model_cfg,
    fairseq_state_dict,
    fairseq_symbols,
    random_hubert_pretrain,
    save_fairseq_checkpoint,
    tiny_config,
)
from tests.teacher.helpers import assert_states_close, noise_wavs, torchaudio_reference, unit_logits_float64


@pytest.fixture(scope="module")
def base_model():
    config = tiny_config()
    return config, random_hubert_pretrain(config, num_units=24, codeword_dim=16, seed=1)


@pytest.fixture(scope="module")
def large_model():
    config = tiny_config(large=True)
    return config, random_hubert_pretrain(config, num_units=20, codeword_dim=12, seed=2)


@pytest.mark.parametrize("style", ["cfg", "args"])
def test_base_matches_torchaudio(tmp_path, base_model, style):
    config, model = base_model
    path = save_fairseq_checkpoint(model, config, tmp_path / "hubert.pt", style=style)
    teacher = load_teacher(path)
    assert teacher.source_format == "fairseq" and not teacher.normalize_waveform
    assert teacher.num_layers == 3 and teacher.hidden_size == 128 and teacher.num_units == 24
    wav = noise_wavs([12000])[0][None]
    out = teacher(wav)
    reference = torchaudio_reference(model.wav2vec2, wav)
    assert len(out.hidden_states) == 4
    assert_states_close(out.hidden_states, reference)
    head = model.logit_generator
    expected = unit_logits_float64(
        torchaudio_reference(model.wav2vec2, wav, dtype=torch.float64)[-1],
        head.final_proj.weight,
        head.final_proj.bias,
        head.label_embeddings,
    )
    assert out.unit_logits.shape == (1, out.hidden_states[0].shape[1], 24)
    assert float((out.unit_logits.double() - expected).abs().max()) < 1e-4


def test_large_style_normalizes_and_is_pre_ln(tmp_path, large_model):
    config, model = large_model
    path = save_fairseq_checkpoint(model, config, tmp_path / "large.pt", normalize=True)
    teacher = load_teacher(path)
    assert teacher.normalize_waveform and teacher.backbone_config.encoder_layer_norm_first
    assert teacher.backbone_config.extractor_mode == "layer_norm" and teacher.backbone_config.extractor_conv_bias
    wav = 3.0 * noise_wavs([9000], seed=3)[0][None]  # scale matters only through the normalisation
    out = teacher(wav)
    assert_states_close(out.hidden_states, torchaudio_reference(model.wav2vec2, wav, normalize=True))
    head = model.logit_generator
    expected = unit_logits_float64(
        torchaudio_reference(model.wav2vec2, wav, normalize=True, dtype=torch.float64)[-1],
        head.final_proj.weight,
        head.final_proj.bias,
        head.label_embeddings,
    )
    assert float((out.unit_logits.double() - expected).abs().max()) < 1e-4


def test_unit_logits_agree_with_torchaudio_pretraining_logits(tmp_path, base_model):
    """Column `label` of our logits is HuBERT's positive logit; the others its negatives."""
    from torchaudio.models.wav2vec2.components import _compute_logits

    config, model = base_model
    teacher = load_teacher(save_fairseq_checkpoint(model, config, tmp_path / "h.pt"))
    wav = noise_wavs([8000], seed=4)[0][None]
    out = teacher(wav)
    last = out.hidden_states[-1][0]
    labels = torch.arange(last.shape[0]) % 24
    with torch.inference_mode():
        reference = _compute_logits(
            model.logit_generator.final_proj(last), labels, model.logit_generator.label_embeddings
        )
    ours = out.unit_logits[0]
    torch.testing.assert_close(ours[torch.arange(len(labels)), labels], reference[:, 0], atol=1e-4, rtol=0)
    negatives = reference[:, 1:].clone()
    finite = torch.isfinite(negatives)  # torchaudio sets the negative equal to the positive to -inf
    torch.testing.assert_close(ours[finite], negatives[finite], atol=1e-4, rtol=0)


def test_key_map_by_hand():
    """A few fairseq names, mapped both ways; the CNN's norms are named by the extractor mode."""
    t = "backbone.encoder.transformer."
    pairs = {
        "feature_extractor.conv_layers.0.0.weight": "backbone.feature_extractor.conv_layers.0.conv.weight",
        "layer_norm.weight": "backbone.encoder.feature_projection.layer_norm.weight",
        "post_extract_proj.bias": "backbone.encoder.feature_projection.projection.bias",
        "encoder.pos_conv.0.weight_g": t + "pos_conv_embed.conv.parametrizations.weight.original0",
        "encoder.layer_norm.bias": t + "layer_norm.bias",
        "encoder.layers.11.self_attn.out_proj.weight": t + "layers.11.attention.out_proj.weight",
        "encoder.layers.3.self_attn_layer_norm.weight": t + "layers.3.layer_norm.weight",
        "encoder.layers.3.fc1.bias": t + "layers.3.feed_forward.intermediate_dense.bias",
        "encoder.layers.3.fc2.weight": t + "layers.3.feed_forward.output_dense.weight",
        "final_proj.weight": "unit_head.final_proj.weight",
        "label_embs_concat": "unit_head.codewords",
    }
    cnn = "backbone.feature_extractor.conv_layers."
    norms = {
        "group_norm": {"feature_extractor.conv_layers.0.2.bias": cnn + "0.layer_norm.bias"},
        "layer_norm": {
            "feature_extractor.conv_layers.0.2.1.bias": cnn + "0.layer_norm.bias",
            "feature_extractor.conv_layers.4.2.1.weight": cnn + "4.layer_norm.weight",
        },
    }
    for mode, keymap in FAIRSEQ_KEYMAPS.items():
        for fairseq_name, teacher_name in {**pairs, **norms[mode]}.items():
            assert keymap.to_target(fairseq_name) == teacher_name, mode
            assert keymap.to_source(teacher_name) == fairseq_name, mode
        assert keymap.to_target("encoder.pos_conv.0.parametrizations.weight.original1") == (
            t + "pos_conv_embed.conv.parametrizations.weight.original1"
        )
        assert keymap.is_ignored("mask_emb")
        assert keymap.to_target("encoder.layers.0.self_attn.bias_k") is None
    assert FAIRSEQ_KEYMAPS["group_norm"].to_target("feature_extractor.conv_layers.4.2.1.weight") is None
    assert FAIRSEQ_KEYMAPS["layer_norm"].to_target("feature_extractor.conv_layers.0.2.weight") is None


def test_writer_covers_every_fairseq_key(base_model, large_model):
    """The independent writer and the loader's map agree on every tensor (by identity of values)."""
    for config, model in (base_model, large_model):
        written = fairseq_state_dict(model)
        mapped, unknown = FAIRSEQ_KEYMAPS[config.extractor_mode].convert(written)
        assert unknown == []
        teacher_keys = set(load_teacher_state_keys(config, model))
        assert set(mapped) == teacher_keys


def load_teacher_state_keys(config, model):
    from espnet_distill.teacher.state import build_teacher

    mapped, _ = FAIRSEQ_KEYMAPS[config.extractor_mode].convert(fairseq_state_dict(model))
    return build_teacher(config, mapped, what="test").state_dict().keys()


def test_dictionary_is_read_without_fairseq(tmp_path, base_model):
    config, model = base_model
    path = save_fairseq_checkpoint(model, config, tmp_path / "h.pt")
    import sys

    assert "fairseq" not in sys.modules  # the writer's placeholder modules are gone
    ckpt = read_torch_file(path)
    dictionary = ckpt["task_state"]["dictionaries"][0]
    assert isinstance(dictionary, FairseqDictionary)
    assert dictionary.symbols[:5] == ["<s>", "<pad>", "</s>", "<unk>", "0"] and len(dictionary) == 24
    assert isinstance(
        read_torch_file(save_fairseq_checkpoint(model, config, tmp_path / "a.pt", style="args"))["args"],
        argparse.Namespace,
    )


def test_identity_projection_when_cnn_width_equals_model_width(tmp_path):
    """fairseq has no post_extract_proj when the CNN already outputs D channels."""
    config = tiny_config(extractor_conv_layer_config=[(128, 10, 5)] + [(128, 3, 2)] * 4 + [(128, 2, 2)] * 2)
    model = random_hubert_pretrain(config, seed=5)
    projection = model.wav2vec2.encoder.feature_projection.projection
    with torch.no_grad():
        projection.weight.copy_(torch.eye(128))
        projection.bias.zero_()
    path = save_fairseq_checkpoint(model, config, tmp_path / "h.pt")
    edit_fairseq_checkpoint(
        path, lambda c: [c["model"].pop(k) for k in ("post_extract_proj.weight", "post_extract_proj.bias")]
    )
    wav = noise_wavs([6000])[0][None]
    assert_states_close(load_teacher(path)(wav).hidden_states, torchaudio_reference(model.wav2vec2, wav))


def test_missing_and_unexpected_keys_are_named(tmp_path, base_model):
    config, model = base_model
    path = save_fairseq_checkpoint(model, config, tmp_path / "h.pt")

    def damage(ckpt):
        del ckpt["model"]["encoder.layers.1.fc2.weight"]
        ckpt["model"]["encoder.layers.1.adapter.weight"] = torch.zeros(2)

    edit_fairseq_checkpoint(path, damage)
    with pytest.raises(TeacherFormatError) as err:
        load_teacher(path)
    message = str(err.value)
    assert "missing keys: encoder.layers.1.fc2.weight" in message
    assert "unexpected keys: encoder.layers.1.adapter.weight" in message


def test_wrong_architecture_is_named(tmp_path, base_model):
    config, model = base_model
    path = save_fairseq_checkpoint(model, config, tmp_path / "h.pt")
    edit_fairseq_checkpoint(path, lambda c: c["cfg"]["model"].update(encoder_ffn_embed_dim=512, encoder_layers=2))
    with pytest.raises(TeacherFormatError) as err:
        load_teacher(path)
    message = str(err.value)
    assert re.search(r"encoder\.layers\.0\.fc1\.weight: expected \(512, 128\), found \(256, 128\)", message)
    assert "unexpected keys: encoder.layers.2." in message


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"_name": "hubert_ctc"}, "fine-tuned"),
        ({"_name": "wav2vec2"}, "'wav2vec2'"),
        ({"layer_type": "conformer"}, "layer_type='conformer'"),
        ({"activation_fn": "relu"}, "activation_fn='relu'"),
        ({"target_glu": True}, "target_glu"),
        ({"extractor_mode": "batch_norm"}, "extractor_mode"),
    ],
)
def test_unsupported_model_configs(tmp_path, base_model, change, expected):
    config, model = base_model
    path = edit_fairseq_checkpoint(
        save_fairseq_checkpoint(model, config, tmp_path / "h.pt"), lambda c: c["cfg"]["model"].update(change)
    )
    with pytest.raises(TeacherFormatError, match=re.escape(expected)):
        load_teacher(path, format="fairseq")


def test_unit_count_must_match_dictionary(tmp_path, base_model):
    config, model = base_model
    path = save_fairseq_checkpoint(model, config, tmp_path / "h.pt")
    edit_fairseq_checkpoint(path, lambda c: c["model"].update(label_embs_concat=torch.zeros(30, 16)))
    with pytest.raises(TeacherFormatError, match="label_embs_concat has 30 rows but the dictionaries hold 24"):
        load_teacher(path)


def test_conv_feature_layers_parser():
    assert parse_conv_layers("[(512,10,5)] + [(512,3,2)] * 4 + [(512,2,2)] * 2") == (
        [(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2
    )
    with pytest.raises(TeacherFormatError, match="cannot parse"):
        parse_conv_layers("__import__('os').system('true')")
    with pytest.raises(TeacherFormatError, match="may be repeated"):
        parse_conv_layers("[(512,3,2)] * 1000000000")


def test_released_checkpoint_layout_loads_without_fairseq_or_omegaconf(tmp_path, base_model):
    """As released: cfg pickled as an omegaconf DictConfig (with an interpolation), numpy values."""
    config, model = base_model
    path = save_fairseq_checkpoint(model, config, tmp_path / "released.pt", style="released")
    found = set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    assert {"omegaconf.dictconfig.DictConfig", "omegaconf.nodes.AnyNode", "numpy.dtype"} <= found
    ckpt = read_torch_file(path)
    assert ckpt["cfg"]["model"]["label_rate"] == 50.0  # ${task.label_rate} resolved
    assert ckpt["cfg"]["criterion"]["loss_weights"] == [10.0]
    assert float(ckpt["optimizer_history"][0]["lr_scheduler_state"]["best"]) == 3.25
    reference = load_teacher(save_fairseq_checkpoint(model, config, tmp_path / "plain.pt", style="cfg"))
    teacher = load_teacher(path)
    wav = noise_wavs([8000])[0][None]
    for a, b in zip(teacher(wav).hidden_states, reference(wav).hidden_states):
        assert torch.equal(a, b)


class _NotAllowed:
    pass


def test_other_globals_are_refused_by_name_and_load_when_trusted(tmp_path, base_model, caplog):
    config, model = base_model
    path = save_fairseq_checkpoint(model, config, tmp_path / "other.pt", style="cfg")
    edit_fairseq_checkpoint(path, lambda ckpt: ckpt["extra_state"].update(note=_NotAllowed()))
    with pytest.raises(TeacherFormatError) as err:
        load_teacher(path)
    message = str(err.value)
    assert f"{__name__}._NotAllowed" in message and "trust_checkpoint=True" in message
    teacher = load_teacher(path, trust_checkpoint=True)
    assert teacher.num_units == 24
    assert "weights_only=False because it is trusted" in caplog.text


# -- the package's writer, against the oracle's -------------------------------------------------
@pytest.mark.parametrize("mode", ["base", "large"])
def test_package_writer_matches_the_oracle(tmp_path, base_model, large_model, mode):
    """:func:`teacher_to_fairseq` (the loader's key map and config table, inverted) writes what the
    independently spelled-out oracle writes: the same names, tensors and config values."""
    from espnet_distill.teacher.fairseq import teacher_to_fairseq

    config, model = base_model if mode == "base" else large_model
    teacher = load_teacher(save_fairseq_checkpoint(model, config, tmp_path / "oracle.pt", normalize=mode == "large"))
    model_cfg, task_cfg, weights = teacher_to_fairseq(teacher)
    expected = fairseq_state_dict(model)
    assert set(weights) == set(expected)
    for key, value in expected.items():
        if key == "mask_emb":  # pre-training only: a teacher does not keep it, zeros are written
            assert torch.equal(weights[key], torch.zeros_like(value))
        else:
            assert torch.equal(weights[key], value), key
    oracle_cfg = fairseq_model_cfg(config, final_dim=16 if mode == "base" else 12)
    assert parse_conv_layers(model_cfg.pop("conv_feature_layers")) == parse_conv_layers(
        oracle_cfg["conv_feature_layers"])
    assert {k: oracle_cfg[k] for k in model_cfg} == model_cfg
    assert task_cfg["normalize"] == (mode == "large") and task_cfg["label_rate"] == 50.0


@pytest.mark.parametrize("cfg_format", ["dict", "omegaconf"])
def test_package_writer_round_trips(tmp_path, large_model, cfg_format):
    import sys

    from espnet_distill.teacher import save_fairseq_checkpoint as write_fairseq

    config, model = large_model
    teacher = load_teacher(save_fairseq_checkpoint(model, config, tmp_path / "oracle.pt", normalize=True))
    path = write_fairseq(teacher, tmp_path / "written.pt", cfg_format=cfg_format)
    assert "fairseq" not in sys.modules  # the Dictionary is pickled under fairseq's name without fairseq
    found = set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    assert "fairseq.data.dictionary.Dictionary" in found
    assert ("omegaconf.dictconfig.DictConfig" in found) == (cfg_format == "omegaconf")
    ckpt = read_torch_file(path)
    assert ckpt["task_state"]["dictionaries"][0].symbols == fairseq_symbols(20)
    assert ckpt["cfg"]["model"]["label_rate"] == 50.0  # ${task.label_rate} resolved in the omegaconf form
    again = load_teacher(path)
    assert again.source_format == "fairseq" and again.normalize_waveform and again.logit_temp == teacher.logit_temp
    assert again.backbone_config == teacher.backbone_config
    state = teacher.state_dict()
    assert all(torch.equal(v, state[k]) for k, v in again.state_dict().items())


def test_package_writer_refuses_what_fairseq_cannot_hold(tmp_path, base_model):
    from espnet_distill.teacher import Teacher
    from espnet_distill.teacher import save_fairseq_checkpoint as write_fairseq

    config, model = base_model
    teacher = load_teacher(save_fairseq_checkpoint(model, config, tmp_path / "h.pt"))
    with pytest.raises(ValueError, match="cfg_format"):
        write_fairseq(teacher, tmp_path / "x.pt", cfg_format="yaml")
    headless = Teacher(teacher.backbone, None, backbone_config=config)
    with pytest.raises(ValueError, match="without a unit head"):
        write_fairseq(headless, tmp_path / "y.pt")
    assert not (tmp_path / "x.pt").exists() and not (tmp_path / "y.pt").exists()

