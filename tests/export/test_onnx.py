"""ONNX export: the graph's pieces, parity with torch on padded batches, dynamic axes, the CLI."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from espnet_distill.bin import export_student as export_cli
from espnet_distill.export import onnx_format
from espnet_distill.export.onnx_format import load_onnx_student, max_valid_diff, padded_batch, verify_onnx
from espnet_distill.export.onnx_graph import MatrixFbank
from espnet_distill.frames import _masked_group_norm_vectorised, masked_group_norm
from espnet_distill.student import KaldiFbank, save_student

ODD_LENGTHS = (8_001, 13_579, 10_203)


def test_matrix_fbank_is_kaldi_fbank():
    """Framing by reshapes and one float64 matrix = unfold + rfft, to float32 rounding of the log."""
    fbank = KaldiFbank(80)
    wavs, lengths = padded_batch(ODD_LENGTHS + (400, 559), seed=5)
    t = torch.arange(wavs.shape[1]) / 16_000
    wavs[0, :ODD_LENGTHS[0]] += 0.5 * torch.sin(2 * math.pi * 120 * t[:ODD_LENGTHS[0]])  # strong low tone
    ref, ref_frames = fbank(wavs, lengths)
    got, frames = MatrixFbank(fbank)(wavs, lengths)
    assert got.shape == ref.shape and torch.equal(frames, ref_frames)
    assert frames.tolist() == [48, 83, 62, 1, 1]
    assert max_valid_diff([ref], [got], frames) < 1e-5


def test_vectorised_group_norm_is_the_per_utterance_one():
    norm = nn.GroupNorm(8, 8)
    nn.init.normal_(norm.weight)
    nn.init.normal_(norm.bias)
    x = 3.0 * torch.randn(4, 8, 37) + 1.0
    lengths = torch.tensor([37, 20, 1, 0])
    with torch.no_grad():
        ref, got = masked_group_norm(x, lengths, norm), _masked_group_norm_vectorised(x, lengths, norm)
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["cnn", "fbank"])
def test_onnx_reproduces_torch_on_a_padded_batch(kind, students, onnx_files):
    """Every hidden state of every valid frame within 1e-4, on 3 odd lengths padded together."""
    worst = verify_onnx(students[kind], onnx_files[kind], tolerance=1e-4, batches=[ODD_LENGTHS])
    assert worst < 1e-4
    onnx_student = load_onnx_student(onnx_files[kind])
    assert onnx_student.num_layers == students[kind].num_layers == 2
    assert onnx_student.config.to_dict() == students[kind].config.without_heads().to_dict()  # from the metadata


@pytest.mark.parametrize("kind", ["cnn", "fbank"])
def test_onnx_axes_are_dynamic(kind, students, onnx_files):
    """Traced with batch 2 x 24,000 samples; run with batch 5, longer and shorter inputs, and batch 1."""
    onnx_student = load_onnx_student(onnx_files[kind])
    for lens in [(400, 3_217, 31_999, 20_001, 7_777), (41_003,)]:
        wavs, lengths = padded_batch(lens, seed=len(lens))
        with torch.no_grad():
            ref = students[kind](wavs, lengths)
        got = onnx_student(wavs, lengths)
        assert torch.equal(got.lengths, ref.lengths)
        assert got.hidden_states[-1].shape == ref.hidden_states[-1].shape == (len(lens), ref.lengths.max(), 64)
        assert max_valid_diff(ref.hidden_states, got.hidden_states, ref.lengths) < 1e-4
    short = onnx_student(torch.zeros(2, 399), torch.tensor([399, 200]))  # below one frame: no frames, as torch
    assert short.lengths.tolist() == [0, 0] and short.hidden_states[0].shape == (2, 0, 64)


def test_export_command_writes_verified_fp32_and_int8(students, tmp_path, capsys):
    save_student(tmp_path / "student.pth", students["fbank"])
    out = tmp_path / "student.onnx"
    assert export_cli.main([str(tmp_path / "student.pth"), "--format", "onnx", "--quantize", "int8",
                            "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["max_abs_diff"]["onnx"] < 1e-4
    assert report["onnx_int8"] == str(tmp_path / "student.int8.onnx")
    assert 0 < report["quantize"]["relative_diff"] < 0.05
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student.int8.onnx", "student.onnx", "student.pth"]


def test_export_command_refuses_a_graph_that_differs(students, tmp_path, capsys, monkeypatch):
    """A broken exporter (here: one weight changed in the traced copy) fails the check: exit 2, no file."""
    graph_student = onnx_format.graph_student

    def broken(student):
        graph = graph_student(student)
        with torch.no_grad():
            graph.student.encoder.layers[0].fc1.weight[0, 0] += 0.5
        return graph

    monkeypatch.setattr(onnx_format, "graph_student", broken)
    save_student(tmp_path / "student.pth", students["cnn"])
    assert export_cli.main([str(tmp_path / "student.pth"), "--format", "onnx", "--out", str(tmp_path / "s.onnx")]) == 2
    err = capsys.readouterr().err
    assert "ONNX Runtime's hidden states differ from torch's" in err and "do not ship it" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student.pth"]
