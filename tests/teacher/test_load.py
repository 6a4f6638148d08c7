"""load_teacher: format detection, overrides, known names offline, files that are not checkpoints."""

from __future__ import annotations

import time
import zipfile

import pytest
import torch
import torchaudio

from espnet_distill.teacher import FORMATS, TeacherFormatError, detect_format, load_teacher
from espnet_distill.teacher.load import parse_dtype
from tests.oracles.teachers import base_config, make_teacher_checkpoint, randomize_
from tests.teacher.helpers import assert_states_close, check_padding, noise_wavs, torchaudio_reference


class NotAllowed:
    """A class a checkpoint must not be allowed to instantiate."""

    def __init__(self):
        self.payload = 1


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """One tiny teacher per format (hf/espnet directories, the rest files)."""
    root = tmp_path_factory.mktemp("formats")
    suffix = {"hf": "", "espnet": "", "espnet_fairseq": ""}
    return {
        fmt: make_teacher_checkpoint(fmt, root / f"{fmt}{suffix.get(fmt, '.pt')}", seed=41)
        for fmt in (
            "fairseq",
            "fairseq_args",
            "s3prl",
            "hf",
            "torchaudio",
            "torchaudio_raw",
            "espnet",
            "espnet_fairseq",
        )
    }


EXPECTED = {
    "fairseq": "fairseq",
    "fairseq_args": "fairseq",
    "s3prl": "s3prl",
    "hf": "hf",
    "torchaudio": "torchaudio",
    "torchaudio_raw": "torchaudio",
    "espnet": "espnet",
    "espnet_fairseq": "espnet",
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_detects_every_format(checkpoints, kind):
    fmt, _ = detect_format(checkpoints[kind])
    assert fmt == EXPECTED[kind]
    teacher = load_teacher(checkpoints[kind])
    assert teacher.source_format == EXPECTED[kind]
    assert teacher.has_unit_head == (kind != "hf")
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    teacher.train()
    assert not teacher.training  # a teacher stays in eval mode
    out = teacher(torch.zeros(2, 4000), torch.tensor([4000, 3000]))
    assert len(out.hidden_states) == teacher.num_layers + 1 == 4
    assert out.lengths.tolist() == [12, 9] and out.hidden_states[3].shape == (2, 12, 128)
    assert not out.hidden_states[0].requires_grad and out.hidden_states[0].grad_fn is None  # run under no_grad


@pytest.mark.parametrize("kind", ["fairseq", "espnet_fairseq"])
def test_padding(checkpoints, kind):
    check_padding(load_teacher(checkpoints[kind]), noise_wavs([7000, 12000, 4100], seed=12))


def test_format_override_mismatch(checkpoints):
    with pytest.raises(
        TeacherFormatError, match="is not a fairseq checkpoint: expected keys 'model' and 'cfg' or 'args'"
    ):
        load_teacher(checkpoints["s3prl"], format="fairseq")
    with pytest.raises(TeacherFormatError, match="is not a torchaudio checkpoint"):
        load_teacher(checkpoints["fairseq"], format="torchaudio")
    with pytest.raises(TeacherFormatError, match="format must be one of"):
        load_teacher(checkpoints["fairseq"], format="onnx")
    with pytest.raises(TeacherFormatError, match="config= applies to torchaudio and espnet"):
        load_teacher(checkpoints["fairseq"], config={"encoder_num_heads": 2})


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("notes.txt", b"hello, I am text\n", "is not a teacher checkpoint"),
        ("empty.pt", b"", "is not a teacher checkpoint"),
        ("random.pt", bytes(range(256)) * 4, "is not a teacher checkpoint"),
        ("config.json", b'{"model_type": "hubert"}', "no weights"),
    ],
)
def test_not_a_checkpoint(tmp_path, name, content, expected):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(TeacherFormatError, match=expected):
        load_teacher(tmp_path / name)


def test_zip_that_is_not_torch(tmp_path):
    with zipfile.ZipFile(tmp_path / "x.pt", "w") as z:
        z.writestr("readme.txt", "not a checkpoint")
    with pytest.raises(TeacherFormatError, match="is not a teacher checkpoint"):
        load_teacher(tmp_path / "x.pt")


def test_torch_file_of_another_kind(tmp_path):
    torch.save({"optimizer": {"lr": 0.1}, "step": 3}, tmp_path / "opt.pt")
    with pytest.raises(
        TeacherFormatError, match=r"not a recognised teacher checkpoint \(top-level keys \['optimizer', 'step'\]\)"
    ):
        load_teacher(tmp_path / "opt.pt")
    torch.save({"encoder.pos_conv.0.bias": torch.zeros(2)}, tmp_path / "w.pt")
    with pytest.raises(TeacherFormatError, match="fairseq-named weights without their config"):
        load_teacher(tmp_path / "w.pt")


def test_directory_of_another_kind(tmp_path):
    (tmp_path / "readme.md").write_text("hi")
    with pytest.raises(
        TeacherFormatError, match=r"neither a HuggingFace model \(config.json\) nor an ESPnet experiment"
    ):
        load_teacher(tmp_path)


def test_pickled_classes_are_refused(tmp_path):
    torch.save({"cfg": {"model": {}}, "model": {}, "extra": NotAllowed()}, tmp_path / "evil.pt")
    with pytest.raises(TeacherFormatError, match=r"not allow-listed.*NotAllowed"):
        load_teacher(tmp_path / "evil.pt")


def test_unknown_name():
    with pytest.raises(
        TeacherFormatError, match=r"no such file or directory, and not a known name \(known: hubert_base_ls960"
    ):
        load_teacher("hubert_bass_ls960")


def test_known_fairseq_name_uses_the_download_dir(tmp_path, checkpoints, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "hubert_base_ls960.pt").write_bytes(checkpoints["fairseq"].read_bytes())
    teacher = load_teacher("hubert_base_ls960", download_dir=tmp_path)
    assert teacher.source == str(tmp_path / "hubert_base_ls960.pt") and teacher.source_format == "fairseq"


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "hubert_large_ll60k",
            r"downloads are disabled.*https://dl\.fbaipublicfiles\.com/hubert/hubert_large_ll60k\.pt",
        ),
        ("hf:facebook/hubert-base-ls960", "downloads are disabled"),
        ("facebook/hubert-large-ll60k", "downloads are disabled"),
        ("torchaudio:HUBERT_BASE", "downloads are disabled"),
        ("torchaudio:NOT_A_BUNDLE", "is not a wav2vec 2.0 / HuBERT / WavLM bundle"),
    ],
)
def test_known_names_fail_fast_offline(tmp_path, monkeypatch, name, expected):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(TeacherFormatError, match=expected):
        load_teacher(name, download_dir=tmp_path)
    assert time.monotonic() - start < 10


def test_known_name_with_the_wrong_format(tmp_path):
    with pytest.raises(TeacherFormatError, match="is a known fairseq teacher, but format='hf'"):
        load_teacher("hubert_base_ls960", format="hf", download_dir=tmp_path)


def test_autocast_and_device_options(checkpoints):
    assert parse_dtype("bf16") is torch.bfloat16 and parse_dtype("fp16") is torch.float16
    assert parse_dtype("fp32") is None and parse_dtype(torch.float32) is None
    with pytest.raises(TeacherFormatError, match="autocast_dtype"):
        parse_dtype("int8")
    teacher = load_teacher(checkpoints["fairseq"], autocast_dtype="bf16", device="cpu")
    assert teacher.autocast_dtype is torch.bfloat16
    out = teacher(torch.zeros(1, 4000))  # autocast applies on GPU only: CPU runs fp32
    assert out.hidden_states[0].dtype == torch.float32


def test_need_units(checkpoints):
    assert load_teacher(checkpoints["fairseq"], need_units=True).num_units == 24
    with pytest.raises(TeacherFormatError, match="has no unit head"):
        load_teacher(checkpoints["hf"], need_units=True)


def test_formats_listed():
    assert set(FORMATS) == {"fairseq", "s3prl", "hf", "espnet", "torchaudio"}


def test_torchaudio_bundle_from_the_download_dir(tmp_path, monkeypatch):
    """``torchaudio:HUBERT_BASE`` with its weight file already in place: no network, bundle config used."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    bundle = torchaudio.pipelines.HUBERT_BASE
    model = randomize_(base_config().build(), seed=61).eval()
    (tmp_path / "torchaudio").mkdir()
    torch.save(model.state_dict(), tmp_path / "torchaudio" / "hubert_fairseq_base_ls960.pth")
    teacher = load_teacher("torchaudio:HUBERT_BASE", download_dir=tmp_path)
    assert teacher.source == "torchaudio:HUBERT_BASE" and not teacher.has_unit_head
    assert teacher.backbone_config == base_config() and teacher.normalize_waveform == bundle._normalize_waveform
    wav = noise_wavs([4000])[0][None]
    assert_states_close(teacher(wav).hidden_states, torchaudio_reference(model, wav))
