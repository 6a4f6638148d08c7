"""torchaudio checkpoints: wrapped {config, state_dict} and raw state dicts with an inferred config."""

from __future__ import annotations

import pytest
import torch

from espnet_distill.teacher import TeacherFormatError, load_teacher, save_torchaudio_checkpoint
from espnet_distill.teacher.torchaudio_format import infer_config
from tests.oracles.teachers import random_hubert_pretrain, save_torchaudio_state_dict, tiny_config
from tests.teacher.helpers import (
    assert_states_close,
    check_padding,
    noise_wavs,
    torchaudio_reference,
    unit_logits_float64,
)


@pytest.mark.parametrize("large", [False, True])
@pytest.mark.parametrize("layout", ["wrapped", "raw_pretrain", "raw_model"])
def test_matches_torchaudio(tmp_path, large, layout):
    config = tiny_config(large=large)
    model = random_hubert_pretrain(config, num_units=22, codeword_dim=12, seed=11)
    path = tmp_path / "ta.pt"
    if layout == "wrapped":
        save_torchaudio_checkpoint(model, path, config, normalize_waveform=large)
    elif layout == "raw_pretrain":
        save_torchaudio_state_dict(model, path)
    else:
        save_torchaudio_state_dict(model.wav2vec2, path)
    teacher = load_teacher(path)
    assert teacher.source_format == "torchaudio"
    assert teacher.backbone_config == config  # stored, or inferred from shapes
    assert teacher.normalize_waveform == large
    assert teacher.has_unit_head == (layout != "raw_model")
    wav = noise_wavs([11000], seed=5)[0][None]
    out = teacher(wav)
    assert_states_close(out.hidden_states, torchaudio_reference(model.wav2vec2, wav, normalize=large))
    if teacher.has_unit_head:
        head = model.logit_generator
        expected = unit_logits_float64(
            torchaudio_reference(model.wav2vec2, wav, normalize=large, dtype=torch.float64)[-1],
            head.final_proj.weight,
            head.final_proj.bias,
            head.label_embeddings,
        )
        assert float((out.unit_logits.double() - expected).abs().max()) < 1e-4


def test_padding(tmp_path):
    config = tiny_config(large=True)
    path = save_torchaudio_checkpoint(
        random_hubert_pretrain(config, seed=12), tmp_path / "ta.pt", config, normalize_waveform=True
    )
    check_padding(load_teacher(path), noise_wavs([8000, 12345, 4000], seed=6))


def test_raw_state_dict_needs_strides_for_an_unknown_cnn(tmp_path):
    conv = [(32, 8, 4), (32, 4, 2), (32, 4, 2)]
    config = tiny_config(extractor_conv_layer_config=conv)
    model = random_hubert_pretrain(config, seed=13)
    path = save_torchaudio_state_dict(model, tmp_path / "ta.pt")
    with pytest.raises(TeacherFormatError, match=r"cannot infer the CNN strides of kernels \[8, 4, 4\]"):
        load_teacher(path)
    teacher = load_teacher(path, config={"extractor_conv_layer_config": conv})
    wav = noise_wavs([5000])[0][None]
    assert_states_close(teacher(wav).hidden_states, torchaudio_reference(model.wav2vec2, wav))


def test_config_overrides_what_shapes_cannot_tell(tmp_path):
    """Heads and pre-/post-LN are not in the shapes: defaults D // 64 and 'pre-LN iff layer_norm CNN'."""
    config = tiny_config(encoder_num_heads=4, encoder_layer_norm_first=True)
    model = random_hubert_pretrain(config, seed=14)
    path = save_torchaudio_state_dict(model, tmp_path / "ta.pt")
    inferred = load_teacher(path).backbone_config
    assert inferred.encoder_num_heads == 2 and not inferred.encoder_layer_norm_first
    teacher = load_teacher(path, config={"encoder_num_heads": 4, "encoder_layer_norm_first": True})
    assert teacher.backbone_config == config
    side = tmp_path / "arch.yaml"
    side.write_text("encoder_num_heads: 4\nencoder_layer_norm_first: true\n")
    assert load_teacher(path, config=side).backbone_config == config
    wav = noise_wavs([5000])[0][None]
    assert_states_close(teacher(wav).hidden_states, torchaudio_reference(model.wav2vec2, wav))


def test_infer_wavlm_config():
    config = tiny_config(model_type="wavlm", encoder_num_heads=4, encoder_num_buckets=64)
    assert infer_config(config.build().state_dict()) == config


def test_missing_and_unexpected_keys_are_named(tmp_path):
    config = tiny_config()
    state = random_hubert_pretrain(config, seed=15).state_dict()
    del state["wav2vec2.encoder.transformer.layers.1.final_layer_norm.bias"]
    state["wav2vec2.encoder.transformer.layers.1.extra.weight"] = torch.zeros(2)
    state["logit_generator.temperature"] = torch.ones(1)
    torch.save(state, tmp_path / "ta.pt")
    with pytest.raises(TeacherFormatError) as err:
        load_teacher(tmp_path / "ta.pt")
    message = str(err.value)
    assert "missing keys: wav2vec2.encoder.transformer.layers.1.final_layer_norm.bias" in message
    assert "logit_generator.temperature" in message and "wav2vec2.encoder.transformer.layers.1.extra.weight" in message


def test_incomplete_unit_head(tmp_path):
    config = tiny_config()
    state = random_hubert_pretrain(config, seed=16).state_dict()
    del state["logit_generator.label_embeddings"]
    torch.save(state, tmp_path / "ta.pt")
    with pytest.raises(TeacherFormatError, match="incomplete unit head: missing.*logit_generator.label_embeddings"):
        load_teacher(tmp_path / "ta.pt")


def test_config_on_a_wrapped_file_is_refused(tmp_path):
    config = tiny_config()
    path = save_torchaudio_checkpoint(random_hubert_pretrain(config, seed=17), tmp_path / "ta.pt", config)
    with pytest.raises(TeacherFormatError, match="stores its config"):
        load_teacher(path, config={"encoder_num_heads": 4})
