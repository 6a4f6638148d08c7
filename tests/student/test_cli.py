"""The describe and compute_cmvn entry points."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from espnet_distill.bin import compute_cmvn as compute_cmvn_cli
from espnet_distill.bin import describe as describe_cli
from espnet_distill.data.kaldi_dir import write_kaldi_file
from espnet_distill.student import KaldiFbank, build_student, load_cmvn, save_student
from espnet_distill.student.presets import PRESET_DIR


def test_describe_table_for_a_preset(capsys):
    assert describe_cli.main(["dt_fbank"]) == 0
    out = capsys.readouterr().out
    assert "| **total without heads** | 19,107,008 | 19.11 |" in out
    assert "transformer layers (12 x 1,387,200) | 16,646,400" in out
    assert "320 samples per frame (50 Hz)" in out


def test_describe_json_for_yaml_and_checkpoint(capsys, tmp_path):
    assert describe_cli.main([str(PRESET_DIR / "sw_cnn.yaml"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["parameters"]["total_without_heads"] == 23_491_200
    assert info["parameters"]["pred_heads"] == 3_543_552

    save_student(tmp_path / "s.pt", build_student("tiny_cnn"))
    assert describe_cli.main([str(tmp_path / "s.pt"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["parameters"]["total"] == info["parameters"]["total_without_heads"] == 2_216_000
    assert info["targets"] == "none"


def test_describe_unknown_student_fails_cleanly(capsys):
    assert describe_cli.main(["no_such_student"]) == 2
    assert "neither a student preset" in capsys.readouterr().err


def test_compute_cmvn_from_a_data_dir(tmp_path, speech_paths, speech):
    data = tmp_path / "data"
    data.mkdir()
    write_kaldi_file(data / "wav.scp", [(f"utt{i}", str(p)) for i, p in enumerate(speech_paths)])
    out = tmp_path / "cmvn.npz"
    assert compute_cmvn_cli.main(["--data-dir", str(data), "--out", str(out), "--no-progress"]) == 0
    stats = load_cmvn(out)
    fbank = KaldiFbank(80)
    feats = torch.cat([fbank(w[None], torch.tensor([w.numel()]))[0][0] for w in speech]).double().numpy()
    assert stats.count == feats.shape[0] and stats.num_utts == len(speech)
    normalised = (feats - stats.mean) / stats.std
    np.testing.assert_allclose(normalised.mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(normalised.std(0), 1, atol=1e-6)
    student = build_student("tiny_fbank", cmvn=out)
    np.testing.assert_allclose(student.frontend.cmvn_std.numpy(), stats.std, rtol=1e-6)


def test_compute_cmvn_reports_a_bad_data_dir(tmp_path, capsys):
    assert compute_cmvn_cli.main(["--data-dir", str(tmp_path / "none"), "--out", str(tmp_path / "c.npz")]) == 2
    assert "compute_cmvn: error" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="compute_cmvn"):
        load_cmvn(tmp_path / "c.npz")
