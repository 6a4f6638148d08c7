"""The fbank front-end: batched Kaldi fbank, global CMVN, Conv1d subsampler, projection.

Frame counts. Kaldi fbank with ``snip_edges`` gives ``F = 1 + floor((N - 400) / 160)``
frames for ``N >= 400`` samples (0 otherwise). The subsampler (odd kernel k,
padding ``k // 2``, stride 2) gives ``floor((F - 1) / 2) + 1 = floor((N - 400) / 320) + 1``
frames, because ``floor(floor(a / 160) / 2) = floor(a / 320)``. HuBERT's CNN
(kernels 10, 3, 3, 3, 3, 2, 2 and strides 5, 2, 2, 2, 2, 2, 2; receptive field 400,
stride 320) gives the same ``floor((N - 400) / 320) + 1``, by the same identity
applied layer by layer. So the two front-ends agree for every length with no trim
or pad rule; ``tests/student/test_fbank.py`` checks it for every N up to 250,000.

Padding. CMVN is global (per mel bin), so it leaks nothing; padded fbank frames are
zeroed after CMVN so that the subsampler's last valid outputs see zeros beyond the
end, exactly as its zero padding does for the utterance alone.
"""

from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchaudio.compliance.kaldi import get_mel_banks

from espnet_distill.frames import conv_frames, padding_mask
from espnet_distill.student.config import (
    FBANK_FRAME_LENGTH,
    FBANK_FRAME_SHIFT,
    FBANK_SUBSAMPLING,
    SAMPLE_RATE,
    FbankFrontendConfig,
)

#: Kaldi's defaults (``compute-fbank-feats``, ``torchaudio.compliance.kaldi.fbank``).
PREEMPHASIS = 0.97
LOW_FREQ = 20.0
WAVEFORM_SCALE = 2.0**15  # Kaldi reads 16-bit integer samples


def fbank_num_frames(num_samples: Tensor) -> Tensor:
    """Kaldi fbank frames (``snip_edges=True``): ``1 + (N - 400) // 160``, 0 when ``N < 400``."""
    return conv_frames(num_samples, FBANK_FRAME_LENGTH, FBANK_FRAME_SHIFT)


class KaldiFbank(nn.Module):
    """Kaldi-compatible log-mel filterbank, batched, on the module's device.

    Computed in float64 (float32 on MPS) under disabled autocast; returns float32.

    Equals ``torchaudio.compliance.kaldi.fbank(wav * 2**15, num_mel_bins=n)`` with
    its defaults (25 ms / 10 ms, povey window, no dither, DC offset removed,
    pre-emphasis 0.97, FFT size 512, power spectrum, mel bins 20 Hz .. Nyquist,
    log floored at float32 epsilon; the energy floor only matters for the energy
    feature, which is not used) for every utterance of a padded batch.

    Args:
        num_mel_bins: number of mel bins.
    """

    def __init__(self, num_mel_bins: int = 80):
        super().__init__()
        self.num_mel_bins = num_mel_bins
        self.fft_size = 1 << (FBANK_FRAME_LENGTH - 1).bit_length()  # 512
        window = torch.hann_window(FBANK_FRAME_LENGTH, periodic=False, dtype=torch.float64).pow(0.85)
        mel, _ = get_mel_banks(num_mel_bins, self.fft_size, float(SAMPLE_RATE), LOW_FREQ, 0.0, 100.0, -500.0, 1.0)
        mel = F.pad(mel.double(), (0, 1))  # (num_mel_bins, fft_size // 2 + 1): no weight on the Nyquist bin
        # derived constants, not state: kept out of the state dict
        self.register_buffer("window", window, persistent=False)
        self.register_buffer("mel_banks", mel.t().contiguous(), persistent=False)

    def forward(self, wavs: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor]:
        """Log-mel features.

        Args:
            wavs: ``(B, N)`` zero-padded waveforms in [-1, 1] (scaled by 2**15 here).
            lengths: ``(B,)`` valid samples.

        Returns:
            ``(B, F, num_mel_bins)`` fp32 log-mel (frames past an utterance's end are
            unspecified) and ``(B,)`` valid frames.
        """
        frames_out = fbank_num_frames(lengths)
        if wavs.shape[1] < FBANK_FRAME_LENGTH:
            return wavs.new_zeros(wavs.shape[0], 0, self.num_mel_bins, dtype=torch.float32), frames_out
        # float64: in float32 the FFT's rounding error (relative to a frame's total
        # energy) moves the pre-emphasis-attenuated low mel bins of real speech by
        # ~1e-3 in log (torchaudio's float32 fbank is 1.5e-3 off its float64 one).
        # The fbank is < 1 % of the student's compute, so the cost does not matter.
        dtype = torch.float32 if wavs.device.type == "mps" else torch.float64
        with torch.autocast(device_type=wavs.device.type, enabled=False):
            x = wavs.to(dtype) * WAVEFORM_SCALE
            frames = x.unfold(1, FBANK_FRAME_LENGTH, FBANK_FRAME_SHIFT)  # (B, F, 400)
            frames = frames - frames.mean(dim=-1, keepdim=True)
            previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
            frames = (frames - PREEMPHASIS * previous) * self.window.to(dtype)
            spectrum = torch.fft.rfft(frames, n=self.fft_size)  # zero-padded to 512
            power = spectrum.real.square() + spectrum.imag.square()
            mel = power @ self.mel_banks.to(dtype)  # (B, F, num_mel_bins)
            logmel = mel.clamp_min(torch.finfo(torch.float32).eps).log()  # Kaldi's floor
        return logmel.float(), frames_out


class FbankFrontend(nn.Module):
    """Fbank -> global CMVN -> Conv1d(mels -> 2D, k, s2, pad k//2) + GLU -> Linear D->D -> dropout.

    The CMVN statistics are buffers (``cmvn_mean``, ``cmvn_std``), saved in the
    state dict; identity (0 / 1) until :meth:`set_cmvn` is called.

    Args:
        config: the fbank settings.
        embed_dim: D, the encoder width.
    """

    def __init__(self, config: FbankFrontendConfig, embed_dim: int):
        super().__init__()
        self.config = config
        self.embed_dim = embed_dim
        n = config.num_mel_bins
        self.fbank = KaldiFbank(n)
        self.register_buffer("cmvn_mean", torch.zeros(n))
        self.register_buffer("cmvn_std", torch.ones(n))
        k = config.kernel_size
        self.subsampler = nn.Conv1d(n, 2 * embed_dim, k, stride=FBANK_SUBSAMPLING, padding=k // 2)
        self.proj = nn.Linear(embed_dim, embed_dim)
        nn.init.xavier_normal_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)
        self.dropout = nn.Dropout(config.dropout)

    @property
    def receptive_field(self) -> int:
        return self.config.receptive_field

    def set_cmvn(self, mean: Tensor, std: Tensor) -> None:
        """Set the global CMVN statistics (``(num_mel_bins,)`` each; std > 0)."""
        mean = torch.as_tensor(mean, dtype=torch.float32).flatten()
        std = torch.as_tensor(std, dtype=torch.float32).flatten()
        n = self.config.num_mel_bins
        if mean.shape != (n,) or std.shape != (n,):
            raise ValueError(
                f"CMVN statistics must have {n} values each (frontend.fbank.num_mel_bins), "
                f"found mean {tuple(mean.shape)} and std {tuple(std.shape)}"
            )
        if not torch.all(std > 0) or not torch.isfinite(mean).all():
            raise ValueError("CMVN statistics: std must be > 0 and mean finite")
        self.cmvn_mean.copy_(mean)
        self.cmvn_std.copy_(std)

    def forward(self, wavs: Tensor, lengths: Tensor, *, extractor_grad: bool = True) -> Tuple[Tensor, Tensor]:
        """Waveforms to D-dim frames at 20 ms.

        Args:
            wavs: ``(B, N)`` zero-padded waveforms in [-1, 1].
            lengths: ``(B,)`` valid samples.
            extractor_grad: ``False`` runs the Conv1d + GLU subsampler without gradients
                (the counterpart of fairseq's ``feature_grad_mult: 0`` for the waveform
                CNN); the projection to D still trains.

        Returns:
            ``(B, T, D)`` (zero on padded frames) and ``(B,)`` valid frames, with
            ``T = floor((N - 400) / 320) + 1`` (0 if ``N < 400``), as HuBERT's CNN.
        """
        feats, frames = self.fbank(wavs, lengths)
        if feats.shape[1] == 0:
            return wavs.new_zeros(wavs.shape[0], 0, self.embed_dim), frames
        feats = (feats - self.cmvn_mean) / self.cmvn_std
        feats = feats.masked_fill(padding_mask(frames, feats.shape[1])[..., None], 0.0)
        with torch.set_grad_enabled(extractor_grad and torch.is_grad_enabled()):
            x = F.glu(self.subsampler(feats.transpose(1, 2)), dim=1).transpose(1, 2)  # (B, T, D)
        k = self.config.kernel_size
        lengths_out = conv_frames(frames, k, FBANK_SUBSAMPLING, padding=k // 2)
        x = self.dropout(self.proj(x))
        return x.masked_fill(padding_mask(lengths_out, x.shape[1])[..., None], 0.0), lengths_out

    def extra_repr(self) -> str:
        return f"num_mel_bins={self.config.num_mel_bins}, embed_dim={self.embed_dim}"
