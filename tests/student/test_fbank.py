"""The fbank front-end: Kaldi compatibility and frame counts equal to HuBERT's CNN."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchaudio
from hypothesis import example, given, settings
from hypothesis import strategies as st

from espnet_distill.student import KaldiFbank
from espnet_distill.student.components import CnnFrontend
from espnet_distill.student.config import HUBERT_CONV_LAYERS, CnnFrontendConfig, FbankFrontendConfig
from espnet_distill.student.fbank import FbankFrontend
from tests.student.helpers import noise_wavs, pad_batch

MAX_SAMPLES = 250_000  # the distillation crop length (15.6 s)


def kaldi_reference(wav: torch.Tensor, dtype=torch.float64) -> torch.Tensor:
    """torchaudio's Kaldi fbank with its defaults (dither 0), 80 bins, waveform x 2^15."""
    return torchaudio.compliance.kaldi.fbank(wav[None].to(dtype) * 32768, num_mel_bins=80).float()


@pytest.fixture(scope="module")
def tiny_hubert_cnn():
    """HuBERT's kernels and strides with 4 channels: the frame count depends on nothing else."""
    torch.manual_seed(0)
    config = CnnFrontendConfig(conv_layers=[(4, k, s) for _, k, s in HUBERT_CONV_LAYERS])
    return CnnFrontend(config, embed_dim=8).eval()


@pytest.fixture(scope="module")
def fbank_frontend():
    torch.manual_seed(0)
    return FbankFrontend(FbankFrontendConfig(), embed_dim=8).eval()


def test_frame_count_formulas_agree_for_every_length():
    """Exhaustively: HuBERT CNN frames == fbank (1 + (n-400)//160) -> Conv1d(k5, s2, p2) frames, n = 0..250,000."""
    n = np.arange(MAX_SAMPLES + 1)
    cnn = n.copy()
    for _, kernel, stride in HUBERT_CONV_LAYERS:
        cnn = np.maximum((cnn - kernel) // stride + 1, 0)
    fbank = np.where(n >= 400, 1 + (n - 400) // 160, 0)
    sub = np.where(fbank > 0, (fbank + 2 * 2 - 5) // 2 + 1, 0)
    np.testing.assert_array_equal(cnn, sub)
    np.testing.assert_array_equal(cnn, np.where(n >= 400, (n - 400) // 320 + 1, 0))
    fb_config, cnn_config = FbankFrontendConfig(), CnnFrontendConfig()
    for length in (0, 399, 400, 559, 560, 719, 720, 1039, 1040, 16000, MAX_SAMPLES):
        assert fb_config.num_frames(length) == cnn_config.num_frames(length) == cnn[length]


@settings(max_examples=100, deadline=None)
@given(length=st.integers(400, MAX_SAMPLES))
@example(length=400)
@example(length=719)
@example(length=720)
@example(length=MAX_SAMPLES)
def test_fbank_frontend_has_the_cnn_frame_count(length, tiny_hubert_cnn, fbank_frontend):
    """The modules themselves (not only the formulas) give equal frame counts and lengths."""
    wav = torch.zeros(1, length)
    wav[0, :: max(1, length // 97)] = 0.1  # any content; the count must not depend on it
    lengths = torch.tensor([length])
    with torch.no_grad():
        x_cnn, n_cnn = tiny_hubert_cnn(wav, lengths)
        x_fb, n_fb = fbank_frontend(wav, lengths)
    assert x_cnn.shape[1] == x_fb.shape[1] == (length - 400) // 320 + 1
    assert n_cnn.tolist() == n_fb.tolist() == [x_cnn.shape[1]]


@settings(max_examples=25, deadline=None)
@given(
    lengths=st.lists(st.integers(400, 40_000), min_size=1, max_size=4),
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([1e-3, 0.05, 0.9]),
)
def test_batched_fbank_matches_torchaudio_per_utterance(lengths, seed, scale):
    """Every utterance of a padded batch gets torchaudio's fbank on its own (<= 1e-3 in log-mel).

    The reference is torchaudio's fbank run in float64, as ours: torchaudio's default
    float32 result is itself up to ~1.5e-3 off its float64 result on real speech, so a
    float32 comparison would measure torchaudio's rounding (see the speech test below).
    """
    wavs = [w * scale / 0.3 for w in noise_wavs(lengths, seed)]
    batch, lens = pad_batch(wavs)
    feats, frames = KaldiFbank(80)(batch, lens)
    for i, wav in enumerate(wavs):
        ref = kaldi_reference(wav)
        assert int(frames[i]) == ref.shape[0]
        assert (feats[i, : ref.shape[0]] - ref).abs().max().item() <= 1e-3


def test_fbank_matches_torchaudio_on_speech(speech):
    batch, lens = pad_batch(speech)
    feats, frames = KaldiFbank(80)(batch, lens)
    for i, wav in enumerate(speech):
        ref64, ref32 = kaldi_reference(wav), kaldi_reference(wav, torch.float32)
        got = feats[i, : int(frames[i])]
        assert got.shape == ref64.shape
        assert (got - ref64).abs().max().item() <= 1e-3
        # torchaudio's default float32 computation rounds low-energy bins by ~1e-3 itself
        assert (got - ref32).abs().max().item() <= 5e-3


def test_fbank_of_digital_silence_is_the_kaldi_floor():
    feats, _ = KaldiFbank(80)(torch.zeros(1, 1600), torch.tensor([1600]))
    ref = kaldi_reference(torch.zeros(1600))
    assert torch.equal(feats[0], ref)


def test_fbank_buffers_are_not_state():
    assert list(KaldiFbank(80).state_dict()) == []
