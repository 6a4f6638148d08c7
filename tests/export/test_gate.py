"""The accuracy gate: a fine-tuned ESPnet ASR model decoded with its student as trained, int8 and ONNX."""

from __future__ import annotations

import json

import pytest

from espnet_distill.bin import export_student as export_cli
from espnet_distill.data.kaldi_dir import read_data_dir, write_kaldi_file
from espnet_distill.export.gate import GateResult

#: Utterances decoded (twice) per gate run: ESPnet's CTC prefix search dominates the test's time.
NUM_UTTS = 6


@pytest.fixture(scope="module")
def test_dir(synth_corpus, tmp_path_factory):
    """The first utterances of the corpus's test set, as a Kaldi-style dir."""
    data = read_data_dir(synth_corpus / "test")
    keep = data.utt_ids[:NUM_UTTS]
    out = tmp_path_factory.mktemp("test_subset")
    write_kaldi_file(out / "wav.scp", [(u, str(data.wav_path(u).resolve())) for u in keep])
    write_kaldi_file(out / "text", [(u, data.texts()[u]) for u in keep])
    return out


def test_gate_decision():
    result = GateResult("int8", cer_before=0.200, cer_after=0.204, wer_before=0.5, wer_after=0.5, num_utts=10,
                        changed_utts=1, max_cer_increase=0.01)
    assert result.passed and abs(result.cer_increase - 0.004) < 1e-12
    assert "CER 20.00 % -> 20.40 % (+0.40 points, at most +1.00 allowed)" in result.message()
    result.max_cer_increase = 0.0
    assert not result.passed and result.message().startswith("accuracy gate FAILED (int8)")
    assert result.to_dict()["passed"] is False


def test_gate_passes_int8_with_a_loose_threshold(asr_exp, test_dir, capsys, monkeypatch):
    monkeypatch.chdir(asr_exp)  # where the model was trained, as for asr_inference
    assert export_cli.main(["--asr_exp", "exp", "--data_dir", str(test_dir), "--quantize", "int8",
                            "--max_cer_increase", "1.0"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["variant"] == "int8" and report["passed"] and report["num_utts"] == NUM_UTTS
    assert report["cer_before"] > 0 and report["cer_after"] > 0  # a barely trained model: far from perfect


def test_gate_refuses_onnx_with_an_impossible_threshold(asr_exp, test_dir, capsys, monkeypatch, tmp_path):
    """A negative threshold demands a CER drop no export gives: exit 1 and a message; the fp32 ONNX
    student itself decodes every utterance as torch does."""
    monkeypatch.chdir(asr_exp)
    code = export_cli.main(["--asr_exp", "exp", "--data_dir", str(test_dir), "--format", "onnx",
                            "--max_cer_increase", "-10", "--out", str(tmp_path / "asr_student.onnx")])
    captured = capsys.readouterr()
    assert code == 1
    report = json.loads(captured.out)
    assert report["variant"] == "onnx" and not report["passed"]
    assert report["changed_utts"] == 0 and report["cer_after"] == report["cer_before"]
    assert "accuracy gate FAILED (onnx)" in captured.err and "not shipping it" in captured.err
    assert (tmp_path / "asr_student.onnx").is_file()  # the fine-tuned student, verified against torch


def test_gate_needs_a_variant_and_data(asr_exp, capsys):
    with pytest.raises(SystemExit) as exit_info:
        export_cli.main(["--asr_exp", str(asr_exp / "exp"), "--data_dir", "data/test"])
    assert exit_info.value.code == 2 and "--quantize int8 and/or --format onnx" in capsys.readouterr().err
    assert export_cli.main(["--asr_exp", str(asr_exp), "--data_dir", "nowhere", "--quantize", "int8"]) == 2
    assert "no config.yaml; expected an ESPnet ASR experiment directory" in capsys.readouterr().err
