"""StudentConfig: validation, serialisation, derived sizes, presets and their YAML files."""

from __future__ import annotations

import pytest

from espnet_distill.student import StudentConfig, TeacherSpec, get_preset, preset_names
from espnet_distill.student.config import CnnFrontendConfig, EncoderConfig, FbankFrontendConfig, TargetsConfig
from espnet_distill.student.presets import PRESET_DIR


@pytest.mark.parametrize("name", preset_names())
def test_round_trip_dict_and_yaml(name, tmp_path):
    config = get_preset(name)
    assert StudentConfig.from_dict(config.to_dict()) == config
    path = tmp_path / f"{name}.yaml"
    config.to_yaml(path, header="a comment")
    assert StudentConfig.from_yaml(path) == config


@pytest.mark.parametrize("name", preset_names())
def test_conf_yaml_matches_python_preset(name):
    """conf/student/<name>.yaml is the serialised Python preset (regenerate: presets.write_preset_yamls())."""
    assert StudentConfig.from_yaml(PRESET_DIR / f"{name}.yaml") == get_preset(name)


def test_conf_dir_has_no_stray_yaml():
    assert sorted(p.stem for p in PRESET_DIR.glob("*.yaml")) == sorted(preset_names())


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"encoder": {"num_layer": 3}}, "unknown key(s) 'num_layer' (did you mean 'num_layers'?)"),
        ({"frontnd": {}}, "did you mean 'frontend'"),
        ({"encoder": {"num_heads": 7}}, "encoder.num_heads: must divide encoder.embed_dim=768, found 7"),
        ({"encoder": {"num_layers": 0}}, "encoder.num_layers: expected an integer >= 1, found 0"),
        ({"encoder": {"num_layers": "2"}}, "encoder.num_layers: expected an integer >= 1, found str '2'"),
        ({"encoder": {"dropout": 1.5}}, "encoder.dropout: expected a probability in [0, 1), found 1.5"),
        ({"frontend": {"type": "mfcc"}}, "frontend.type: expected one of 'cnn', 'fbank', found 'mfcc'"),
        ({"frontend": {"type": "cnn", "fbank": {}}}, "frontend.fbank: must be null when frontend.type is 'cnn'"),
        (
            {"frontend": {"type": "cnn", "cnn": {"conv_layers": [[512, 10]]}}},
            "frontend.cnn.conv_layers[0]: expected (channels, kernel, stride)",
        ),
        ({"frontend": {"type": "cnn", "cnn": {"mode": "batch_norm"}}}, "frontend.cnn.mode"),
        (
            {"frontend": {"type": "fbank", "cnn": None, "fbank": {"kernel_size": 4}}},
            "frontend.fbank.kernel_size: expected an odd kernel",
        ),
        (
            {"heads": {"targets": {"type": "layer_to_layer", "teacher_layers": [1, 2]}}},
            "heads.targets.student_layers: required",
        ),
        (
            {"heads": {"targets": {"type": "layer_to_layer", "teacher_layers": [1, 2], "student_layers": [1]}}},
            "one entry per teacher layer (2), found 1",
        ),
        (
            {"heads": {"targets": {"type": "layer_to_layer", "teacher_layers": [1], "student_layers": [3]}}},
            "student_layers[0]: expected a student layer in 1..2",
        ),
        (
            {"heads": {"targets": {"teacher_layers": [4, 13]}}},
            "teacher_layers[1]: expected a teacher layer in 0..12 (teacher.num_layers), found 13",
        ),
        ({"heads": {"targets": {"teacher_layers": [4], "student_layers": [1]}}}, "must be null for prediction_heads"),
        ({"heads": {"units": {"type": "type3"}}}, "heads.units.type"),
        ({"heads": {"frontend": "yes"}}, "heads.frontend: expected true or false"),
        ({"heads": []}, "heads: expected a mapping of HeadsConfig fields"),
        ({"init_from_teacher": {"cnn": 1}}, "init_from_teacher.cnn: expected true or false"),
    ],
)
def test_invalid_fields_raise_named_errors(patch, message):
    data = _merge(get_preset("sw_cnn").to_dict(), patch)
    with pytest.raises(ValueError) as err:
        StudentConfig.from_dict(data)
    assert message in str(err.value)


def _merge(base, patch):
    """``base`` with ``patch`` merged in recursively (non-dict values replace)."""
    out = dict(base)
    for key, value in patch.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merge(out[key], value) if both else value
    return out


def test_yaml_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("encoder: {num_layrs: 2}\n")
    with pytest.raises(ValueError, match=r"bad\.yaml: .*num_layrs"):
        StudentConfig.from_yaml(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        StudentConfig.from_yaml(tmp_path / "missing.yaml")


def test_derived_sizes():
    cnn, fbank = get_preset("dt_cnn"), get_preset("dt_fbank")
    for config in (cnn, fbank):
        assert config.output_dim == 480 and config.num_layers == 12
        assert config.downsample_rate == 320 and config.frame_rate == 50.0
    assert cnn.receptive_field == 400
    assert fbank.receptive_field == 400 + 4 * 160
    assert CnnFrontendConfig().channels == 512
    assert [cnn.num_frames(n) for n in (0, 399, 400, 719, 720, 16000)] == [0, 0, 1, 1, 2, 49]
    assert [fbank.num_frames(n) for n in (0, 399, 400, 719, 720, 16000)] == [0, 0, 1, 1, 2, 49]


def test_missing_teacher_sizes_are_listed():
    config = StudentConfig.from_dict({"heads": {"targets": {"teacher_layers": [1]}, "units": {"type": "type1"}}})
    assert config.missing_teacher_fields() == ["teacher.dim", "teacher.num_units", "teacher.codeword_dim"]
    assert get_preset("sw_cnn").without_heads().missing_teacher_fields() == []


def test_with_teacher_fills_sizes_and_checks_layers(tiny_teacher):
    config = get_preset("tiny_fbank")
    config.teacher = TeacherSpec()
    filled = config.with_teacher(tiny_teacher)
    assert filled.teacher == TeacherSpec(dim=256, num_layers=4, num_units=100, codeword_dim=128)
    with pytest.raises(ValueError, match=r"teacher_layers\[1\]: expected a teacher layer in 0..4"):
        get_preset("sw_cnn").with_teacher(tiny_teacher)


def test_sub_configs_validate_on_direct_construction():
    with pytest.raises(ValueError, match="encoder.pos_conv_groups"):
        EncoderConfig(embed_dim=100, num_heads=4, pos_conv_groups=16)
    with pytest.raises(ValueError, match="frontend.fbank.dropout"):
        FbankFrontendConfig(dropout=-0.1)
    with pytest.raises(ValueError, match="inter_dim: only used by prediction_heads"):
        TargetsConfig("layer_to_layer", [1], [1], inter_dim=4)
