"""Dynamic int8 quantisation: which layers, how close to fp32, at load time, in the ESPnet frontend."""

from __future__ import annotations

import pytest
import torch

from espnet_distill.espnet.frontend import DistillStudentFrontend
from espnet_distill.export.onnx_format import padded_batch
from espnet_distill.frames import valid_mask
from espnet_distill.student import load_student, save_student
from espnet_distill.student.quantize import layer_precisions, quantize_student

#: Largest relative L2 error of a hidden state accepted from int8 (random micro students measure 0.5-2 %).
MAX_RELATIVE_ERROR = 0.05


def relative_errors(ref, got):
    """Relative L2 error of each hidden state over the valid frames."""
    mask = valid_mask(ref.lengths, ref.hidden_states[0].shape[1])[..., None]
    return [float(((b - a) * mask).norm() / (a * mask).norm()) for a, b in zip(ref.hidden_states, got.hidden_states)]


@pytest.mark.parametrize("kind", ["cnn", "fbank"])
def test_int8_quantises_linear_layers_only_and_stays_close(kind, students):
    student = students[kind]
    int8 = quantize_student(student)
    precisions = layer_precisions(int8)
    linear = [n for n, m in student.named_modules() if isinstance(m, torch.nn.Linear)]
    convs = [n for n, m in student.named_modules() if isinstance(m, torch.nn.Conv1d)]
    assert linear and convs
    assert {n: precisions[n] for n in linear} == {n: "int8" for n in linear}  # attention, FFN and projection
    assert {n: precisions[n] for n in convs} == {n: "float" for n in convs}  # CNN / subsampler, positional conv
    assert set(layer_precisions(student).values()) == {"float"}  # the original is untouched

    wavs, lengths = padded_batch((8_001, 13_579, 10_203), seed=2)
    with torch.no_grad():
        ref, got = student(wavs, lengths), int8(wavs, lengths)
    assert torch.equal(got.lengths, ref.lengths)
    errors = relative_errors(ref, got)
    assert 0 < max(errors) < MAX_RELATIVE_ERROR, errors


def test_int8_at_load_time(students, tmp_path):
    path = save_student(tmp_path / "student.pth", students["cnn"])
    int8 = load_student(path, quantize="int8")
    assert layer_precisions(int8)["encoder.layers.0.fc1"] == "int8"
    with pytest.raises(ValueError, match=r"quantize must be one of int8, found 'int4'"):
        load_student(path, quantize="int4")


def test_torchao_method_runs(students):
    """The recommended torchao path works (slow on CPUs without VNNI/AMX: see student/quantize.py)."""
    pytest.importorskip("torchao")
    int8 = quantize_student(students["fbank"], method="torchao")
    assert layer_precisions(int8)["encoder.layers.1.fc2"] == "int8"
    assert layer_precisions(int8)["frontend.subsampler"] == "float"
    wavs, lengths = padded_batch((8_001, 5_003), seed=4)
    with torch.no_grad():
        errors = relative_errors(students["fbank"](wavs, lengths), int8(wavs, lengths))
    assert max(errors) < MAX_RELATIVE_ERROR, errors


def test_frontend_quantize_option(students, tmp_path):
    """``frontend_conf: {quantize: int8}``: decoding runs an int8 copy, the state dict stays fp32."""
    path = save_student(tmp_path / "student.pth", students["fbank"])
    fp32 = DistillStudentFrontend(student=str(path), output="weighted_sum").eval()
    int8 = DistillStudentFrontend(student=str(path), output="weighted_sum", quantize="int8").eval()
    assert sorted(int8.state_dict()) == sorted(fp32.state_dict())
    wavs, lengths = padded_batch((8_001, 13_579), seed=6)
    with torch.no_grad():
        ref, ref_lens = fp32(wavs, lengths)
        got, got_lens = int8(wavs, lengths)
    assert torch.equal(got_lens, ref_lens)
    mask = valid_mask(ref_lens, ref.shape[1])[..., None]
    assert 0 < float(((got - ref) * mask).norm() / (ref * mask).norm()) < MAX_RELATIVE_ERROR
    assert layer_precisions(int8._quantized[0])["encoder.layers.0.fc1"] == "int8"

    int8.load_state_dict(fp32.state_dict())  # new weights: the int8 copy is made again
    assert not int8._quantized
    with pytest.raises(ValueError, match="quantize is for decoding"):
        int8.train()(wavs, lengths)
    with pytest.raises(ValueError, match="distill_student frontend: quantize must be one of int8, found 'fp16'"):
        DistillStudentFrontend(student=str(path), quantize="fp16")
