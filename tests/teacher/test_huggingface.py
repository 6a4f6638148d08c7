"""HuggingFace directories: parity with transformers' own models, prefixes, .bin weights, errors."""

from __future__ import annotations

import json

import pytest
import torch

from espnet_distill.teacher import TeacherFormatError, load_teacher
from tests.oracles.teachers import save_hf_directory, tiny_config
from tests.teacher.helpers import assert_states_close, check_padding, noise_wavs


def _reference(model, wav, normalize=False):
    """transformers' L + 1 hidden states on one unpadded utterance.

    The last one is ``last_hidden_state``: for pre-LN models it has the final LayerNorm,
    as in fairseq and s3prl (transformers >= 5 leaves it out of ``hidden_states[-1]``).
    """
    x = torch.nn.functional.layer_norm(wav, wav.shape) if normalize else wav
    with torch.no_grad():
        out = model(x, output_hidden_states=True)
    return list(out.hidden_states[:-1]) + [out.last_hidden_state]


@pytest.mark.parametrize(
    "model_type, large, weights, ctc",
    [
        ("hubert", False, "safetensors", False),
        ("hubert", True, "bin", False),
        ("hubert", False, "safetensors", True),
        ("wavlm", False, "safetensors", False),
        ("wav2vec2", True, "safetensors", False),
    ],
)
def test_matches_transformers(tmp_path, model_type, large, weights, ctc):
    config = tiny_config(large=large, model_type=model_type)
    reference = save_hf_directory(config, tmp_path / "hf", seed=3, weights=weights, ctc=ctc)
    if ctc:
        reference = reference.hubert
    teacher = load_teacher(tmp_path / "hf")
    assert teacher.source_format == "hf" and teacher.backbone_config.model_type == model_type
    assert teacher.normalize_waveform == large  # layer_norm CNN models were pre-trained on normalised audio
    assert not teacher.has_unit_head
    wav = noise_wavs([10000], seed=1)[0][None]
    out = teacher(wav)
    assert out.unit_logits is None
    assert_states_close(out.hidden_states, _reference(reference, wav, normalize=large))


def test_wavlm_padding(tmp_path):
    save_hf_directory(tiny_config(model_type="wavlm"), tmp_path / "hf", seed=4)
    check_padding(load_teacher(tmp_path / "hf"), noise_wavs([9000, 5200, 7100], seed=2))


def test_file_inside_directory_and_format_alias(tmp_path):
    save_hf_directory(tiny_config(), tmp_path / "hf", seed=5)
    for source in (tmp_path / "hf" / "config.json", tmp_path / "hf" / "model.safetensors"):
        assert load_teacher(source).source_format == "hf"
    assert load_teacher(tmp_path / "hf", format="huggingface").source_format == "hf"


def test_units_from_a_unitless_teacher(tmp_path):
    save_hf_directory(tiny_config(), tmp_path / "hf", seed=6)
    with pytest.raises(TeacherFormatError, match="has no unit head"):
        load_teacher(tmp_path / "hf", need_units=True)
    teacher = load_teacher(tmp_path / "hf")
    with pytest.raises(ValueError, match="has no unit head"):
        _ = teacher.codewords
    with pytest.raises(ValueError, match="has no unit head"):
        teacher(torch.zeros(1, 4000), need_units=True)


def test_wrong_model_type(tmp_path):
    save_hf_directory(tiny_config(), tmp_path / "hf", seed=7)
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    config["model_type"] = "bert"
    (tmp_path / "hf" / "config.json").write_text(json.dumps(config))
    with pytest.raises(TeacherFormatError, match="model_type must be 'hubert', 'wavlm' or 'wav2vec2', found 'bert'"):
        load_teacher(tmp_path / "hf")


def test_missing_and_unexpected_keys_are_named(tmp_path):
    from safetensors.torch import load_file, save_file

    save_hf_directory(tiny_config(), tmp_path / "hf", seed=8)
    path = tmp_path / "hf" / "model.safetensors"
    state = load_file(path)
    del state["encoder.layers.2.feed_forward.output_dense.bias"]
    state["encoder.layers.2.adapter.weight"] = torch.zeros(3)
    save_file(state, path)
    with pytest.raises(TeacherFormatError) as err:
        load_teacher(tmp_path / "hf")
    assert "missing keys: encoder.layers.2.feed_forward.output_dense.bias" in str(err.value)
    assert "unexpected keys: encoder.layers.2.adapter.weight" in str(err.value)


def test_architecture_mismatch_is_named(tmp_path):
    save_hf_directory(tiny_config(), tmp_path / "hf", seed=9)
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    config["intermediate_size"] = 64
    (tmp_path / "hf" / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        TeacherFormatError, match=r"intermediate_dense\.weight: expected \(64, 128\), found \(256, 128\)"
    ):
        load_teacher(tmp_path / "hf")


def test_unsupported_config_value(tmp_path):
    save_hf_directory(tiny_config(), tmp_path / "hf", seed=10)
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    config["feat_proj_layer_norm"] = False
    (tmp_path / "hf" / "config.json").write_text(json.dumps(config))
    with pytest.raises(TeacherFormatError, match="feat_proj_layer_norm"):
        load_teacher(tmp_path / "hf")


def test_directory_without_weights(tmp_path):
    save_hf_directory(tiny_config(), tmp_path / "hf", seed=11)
    (tmp_path / "hf" / "model.safetensors").unlink()
    with pytest.raises(TeacherFormatError, match="has no weights"):
        load_teacher(tmp_path / "hf")


def test_older_weight_norm_names(tmp_path):
    """Hub checkpoints written before torch's parametrized weight norm name it weight_g / weight_v."""
    from safetensors.torch import load_file, save_file

    reference = save_hf_directory(tiny_config(), tmp_path / "hf", seed=12)
    path = tmp_path / "hf" / "model.safetensors"
    old = {"parametrizations.weight.original0": "weight_g", "parametrizations.weight.original1": "weight_v"}
    state = {}
    for key, value in load_file(path).items():
        for new_name, old_name in old.items():
            key = key.replace(new_name, old_name)
        state[key] = value
    assert "encoder.pos_conv_embed.conv.weight_g" in state
    save_file(state, path)
    wav = noise_wavs([6000], seed=3)[0][None]
    assert_states_close(load_teacher(tmp_path / "hf")(wav).hidden_states, _reference(reference, wav))
