"""One way to read audio: float32, mono, 16 kHz, with errors that name the file.

Everything in ``espnet_distill`` that reads a waveform goes through :func:`load_audio`,
so the same checks apply to corpus preparation, CMVN statistics, distillation data
and benchmarks. Audio is read with :mod:`soundfile` (WAV, FLAC, NIST SPHERE, ...),
which is also what ESPnet's ``sound`` loader uses; ``torchaudio.load`` needs
TorchCodec + FFmpeg from torchaudio 2.9 on and is deliberately not used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
import soundfile as sf
import torch

_LG = logging.getLogger(__name__)

SAMPLE_RATE = 16000

Pathlike = Union[str, Path]


class AudioError(ValueError):
    """Raised for unusable audio; the message always names the file."""


@dataclass(frozen=True)
class AudioInfo:
    """What soundfile reports about a file, without decoding the samples."""

    path: str
    sample_rate: int
    num_frames: int
    num_channels: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        """Duration in seconds."""
        return self.num_frames / self.sample_rate if self.sample_rate else 0.0


def audio_info(path: Pathlike) -> AudioInfo:
    """Read the header of ``path``.

    Raises:
        AudioError: if the file is missing or soundfile cannot parse its header.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: audio file does not exist")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"{path}: not a readable audio file ({err})") from err
    return AudioInfo(
        path=str(path),
        sample_rate=int(info.samplerate),
        num_frames=int(info.frames),
        num_channels=int(info.channels),
        format=str(info.format),
        subtype=str(info.subtype),
    )


def load_audio(
    path: Pathlike,
    *,
    sample_rate: int = SAMPLE_RATE,
    resample: bool = False,
    downmix: bool = False,
    min_samples: int = 1,
) -> torch.Tensor:
    """Read ``path`` as a float32 mono waveform in [-1, 1] at ``sample_rate``.

    Args:
        path: a file soundfile can read (WAV, FLAC, NIST SPHERE, OGG, ...).
        sample_rate: the rate the caller needs, in Hz.
        resample: if the file has another rate, convert it with
            ``torchaudio.functional.resample``; otherwise that is an error.
        downmix: if the file has several channels, average them; otherwise
            that is an error.
        min_samples: shortest acceptable result, in samples at ``sample_rate``.

    Returns:
        Tensor of shape ``(num_samples,)``, dtype float32.

    Raises:
        AudioError: missing, unreadable or corrupt file, no samples, NaN/inf
            samples, several channels without ``downmix``, another sample rate
            without ``resample``, or fewer than ``min_samples`` samples.
    """
    info = audio_info(path)
    if info.num_channels > 1 and not downmix:
        raise AudioError(
            f"{path}: expected mono audio, found {info.num_channels} channels "
            "(pass downmix=True to average them)"
        )
    if info.sample_rate != sample_rate and not resample:
        raise AudioError(
            f"{path}: expected a sample rate of {sample_rate} Hz, found "
            f"{info.sample_rate} Hz (pass resample=True to convert)"
        )
    try:
        data, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"{path}: corrupt audio, decoding failed ({err})") from err
    if data.shape[0] == 0:
        raise AudioError(f"{path}: audio file holds no samples")
    if not np.isfinite(data).all():
        bad = int((~np.isfinite(data)).sum())
        raise AudioError(f"{path}: {bad} samples are NaN or infinite")
    wav = torch.from_numpy(data.mean(axis=1) if data.shape[1] > 1 else data[:, 0])
    if file_rate != sample_rate:
        import torchaudio.functional as AF

        _LG.debug("resampling %s from %d to %d Hz", path, file_rate, sample_rate)
        wav = AF.resample(wav, file_rate, sample_rate)
    if wav.numel() < min_samples:
        raise AudioError(
            f"{path}: too short, {wav.numel()} samples "
            f"({wav.numel() / sample_rate:.4f} s); at least {min_samples} needed"
        )
    return wav.contiguous()


def save_audio(path: Pathlike, wav: torch.Tensor | np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write a mono waveform in [-1, 1] as 16-bit PCM (WAV or FLAC by suffix)."""
    array = wav.detach().cpu().numpy() if isinstance(wav, torch.Tensor) else np.asarray(wav)
    if array.ndim != 1:
        raise AudioError(f"{path}: expected a 1-D waveform, got shape {tuple(array.shape)}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), array, sample_rate, subtype="PCM_16")

