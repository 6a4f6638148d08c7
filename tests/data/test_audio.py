"""load_audio: one reader, float32 mono 16 kHz, and errors that name the file."""

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio.functional as AF

from espnet_distill.data.audio import AudioError, audio_info, load_audio, save_audio


def _tone(n=16000, rate=16000, channels=1):
    t = np.arange(n) / rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t)
    return np.stack([x * (c + 1) / channels for c in range(channels)], axis=1) if channels > 1 else x


@pytest.mark.parametrize("fmt,subtype", [("WAV", "PCM_16"), ("FLAC", "PCM_16"), ("NIST", "PCM_16"), ("WAV", "FLOAT")])
def test_reads_formats_as_float32_mono(tmp_path, fmt, subtype):
    path = tmp_path / f"a.{fmt.lower()}"
    sf.write(str(path), _tone(), 16000, format=fmt, subtype=subtype)
    wav = load_audio(path)
    assert wav.dtype == torch.float32 and wav.shape == (16000,)
    assert torch.allclose(wav, torch.from_numpy(_tone()).float(), atol=1e-4)


def test_missing_file_named(tmp_path):
    with pytest.raises(AudioError, match=r"nope\.wav: audio file does not exist"):
        load_audio(tmp_path / "nope.wav")


def test_not_audio_named(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio")
    with pytest.raises(AudioError, match=r"notes\.wav: not a readable audio file"):
        load_audio(path)


def test_truncated_file_named(tmp_path):
    path = tmp_path / "cut.flac"
    sf.write(str(path), _tone(48000), 16000, format="FLAC")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(AudioError, match=r"cut\.flac"):
        load_audio(path)


def test_empty_file_named(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(str(path), np.zeros(0), 16000)
    with pytest.raises(AudioError, match=r"empty\.wav: audio file holds no samples"):
        load_audio(path)


def test_nan_samples_named(tmp_path):
    path = tmp_path / "nan.wav"
    x = _tone()
    x[100:103] = np.nan
    sf.write(str(path), x, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan\.wav: 3 samples are NaN or infinite"):
        load_audio(path)


def test_stereo_is_an_error_unless_downmixed(tmp_path):
    path = tmp_path / "stereo.wav"
    stereo = _tone(channels=2)
    sf.write(str(path), stereo, 16000)
    with pytest.raises(AudioError, match=r"stereo\.wav: expected mono audio, found 2 channels"):
        load_audio(path)
    mono = load_audio(path, downmix=True)
    assert torch.allclose(mono, torch.from_numpy(stereo.mean(1)).float(), atol=1e-4)


def test_other_rate_is_an_error_unless_resampled(tmp_path):
    path = tmp_path / "cd.wav"
    x = _tone(44100, 44100)
    sf.write(str(path), x, 44100, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"cd\.wav: expected a sample rate of 16000 Hz, found 44100 Hz"):
        load_audio(path)
    wav = load_audio(path, resample=True)
    ref = AF.resample(torch.from_numpy(x).float(), 44100, 16000)
    assert wav.shape == (16000,) and torch.allclose(wav, ref)


def test_too_short_named(tmp_path):
    path = tmp_path / "blip.wav"
    sf.write(str(path), _tone(100), 16000)
    with pytest.raises(AudioError, match=r"blip\.wav: too short, 100 samples .* at least 400 needed"):
        load_audio(path, min_samples=400)


def test_save_and_info_round_trip(tmp_path):
    path = tmp_path / "x" / "y.wav"
    save_audio(path, torch.from_numpy(_tone()).float())
    info = audio_info(path)
    assert (info.sample_rate, info.num_samples, info.num_channels) == (16000, 16000, 1)
    assert info.duration == pytest.approx(1.0)
