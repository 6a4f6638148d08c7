"""Kaldi-style data dirs: every problem is reported with the first offenders and their count."""

import numpy as np
import pytest
import soundfile as sf

from espnet_distill.data.kaldi_dir import DataDirError, read_data_dir, validate_data_dir, write_kaldi_file


def _make(tmp_path, n=3, **overrides):
    d = tmp_path / "data"
    wavs = []
    for i in range(n):
        p = tmp_path / f"u{i}.wav"
        sf.write(str(p), np.zeros(800), 16000)
        wavs.append((f"spk-u{i}", str(p)))
    files = {
        "wav.scp": wavs,
        "text": [(u, f"HELLO {i}") for i, (u, _) in enumerate(wavs)],
        "utt2spk": [(u, "spk") for u, _ in wavs],
    }
    files.update(overrides)
    d.mkdir()
    for name, entries in files.items():
        if entries is not None:
            (d / name).write_text("".join(f"{k} {v}\n" for k, v in entries))
    return d, wavs


def test_valid_dir_reads(tmp_path):
    d, wavs = _make(tmp_path)
    data = validate_data_dir(d)
    assert data.utt_ids == [u for u, _ in wavs]
    assert data.texts()["spk-u1"] == "HELLO 1"
    assert len(data) == 3


def test_duplicate_ids_listed(tmp_path):
    d, wavs = _make(tmp_path)
    (d / "wav.scp").write_text("".join(f"{k} {v}\n" for k, v in wavs + [wavs[2]]))
    with pytest.raises(DataDirError, match=r"wav\.scp: duplicate utterance ids: spk-u2 \(1 in all\)"):
        validate_data_dir(d)


def test_text_ids_missing_from_wav_scp(tmp_path):
    d, wavs = _make(tmp_path, text=[(f"spk-u{i}", "A") for i in range(3)] + [(f"spk-x{i}", "B") for i in range(7)])
    with pytest.raises(DataDirError) as err:
        validate_data_dir(d)
    msg = str(err.value)
    assert "text: ids missing from wav.scp: spk-x0, spk-x1, spk-x2, spk-x3, spk-x4, ... (7 in all)" in msg


def test_unsorted_file_named(tmp_path):
    d, wavs = _make(tmp_path)
    (d / "utt2spk").write_text("spk-u2 spk\nspk-u0 spk\nspk-u1 spk\n")
    with pytest.raises(DataDirError, match=r"utt2spk: not sorted by id .*: spk-u0 \(1 in all\)"):
        validate_data_dir(d)


def test_missing_audio_named(tmp_path):
    d, wavs = _make(tmp_path)
    (tmp_path / "u1.wav").unlink()
    with pytest.raises(DataDirError, match=r"missing or unreadable audio: spk-u1 \(.*u1\.wav: audio file does not exist\)"):
        validate_data_dir(d)
    validate_data_dir(d, check_audio=False)  # header checks are optional


def test_missing_wav_scp_and_dir(tmp_path):
    with pytest.raises(DataDirError, match="does not exist"):
        read_data_dir(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataDirError, match=r"no wav\.scp"):
        read_data_dir(tmp_path / "empty")


def test_malformed_line_named(tmp_path):
    d, _ = _make(tmp_path)
    (d / "wav.scp").write_text("lonely-id\n")
    with pytest.raises(DataDirError, match=r"wav\.scp: malformed lines: line 1: 'lonely-id' has no value"):
        read_data_dir(d)


def test_write_sorts_in_byte_order(tmp_path):
    write_kaldi_file(tmp_path / "f", [("b", "1"), ("B", "2"), ("a", "3")])
    assert (tmp_path / "f").read_text() == "B 2\na 3\nb 1\n"
