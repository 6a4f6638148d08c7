"""One way to read audio: float32, mono, 16 kHz, with errors that name the file.

Everything in ``espnet_distill`` that reads a waveform goes through :func:`load_audio`,
so the same checks apply to corpus preparation, CMVN statistics, distillation data
and benchmarks. Audio is read with :mod:`soundfile` (WAV, FLAC, NIST SPHERE, ...),
which is also what ESPnet's ``sound`` loader uses; ``torchaudio.load`` needs
TorchCodec + FFmpeg from torchaudio 2.9 on and is deliberately not used.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
import soundfile as sf
import torch

from espnet_distill.common import Pathlike, SAMPLE_RATE  # noqa: F401  (re-exported)

_LG = logging.getLogger(__name__)



class AudioError(ValueError):
    """Raised for unusable audio; the message always names the file."""


@dataclass(frozen=True)
class AudioInfo:
    """What soundfile reports about a file, without decoding the samples."""

    path: str
    sample_rate: int
    num_samples: int  # per channel (soundfile calls them frames)
    num_channels: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        """Duration in seconds."""
        return self.num_samples / self.sample_rate if self.sample_rate else 0.0


#: libsndfile's report of a WAV whose data chunk is shorter than its header says
_WAV_TRUNCATED = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


def unreadable_hint(path: Pathlike, err: Exception) -> str:
    """What to do about a file libsndfile cannot open, when there is something to say."""
    text = str(err).lower()
    if "unimplemented" in text or "sphere" in text or str(path).lower().endswith((".sph", ".sphere")):
        return ("; NIST SPHERE files compressed with shorten (as LDC ships AN4, TIMIT, WSJ) cannot be read "
                "by libsndfile: convert them first, e.g. sph2pipe -f wav in.sph out.wav")
    return ""


def audio_info(path: Pathlike) -> AudioInfo:
    """Read the header of ``path``.

    Raises:
        AudioError: if the file is missing, soundfile cannot parse its header, or a WAV file
            is truncated (its data chunk is shorter than the header declares).
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: audio file does not exist")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"{path}: not a readable audio file ({err}){unreadable_hint(path, err)}") from err
    truncated = _WAV_TRUNCATED.search(info.extra_info or "")
    if truncated and int(truncated.group(2)) < int(truncated.group(1)):
        raise AudioError(
            f"{path}: truncated WAV file: the header declares {truncated.group(1)} bytes of samples, the file "
            f"holds {truncated.group(2)}; it was cut short (copy or download it again)"
        )
    return AudioInfo(
        path=str(path),
        sample_rate=int(info.samplerate),
        num_samples=int(info.frames),
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
            f"{path}: expected a sample rate of {sample_rate} Hz, found {info.sample_rate} Hz: resample "
            f"the data first (e.g. sox in.wav -r {sample_rate} out.wav; in Python, load_audio(..., resample=True))"
        )
    try:
        data, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"{path}: corrupt audio, decoding failed ({err})") from err
    if data.shape[0] < info.num_samples:
        raise AudioError(f"{path}: corrupt or truncated audio: the header declares {info.num_samples} samples, "
                         f"{data.shape[0]} could be decoded")
    check_samples(data, path)
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


def check_samples(array: np.ndarray, where: str, *, channels: Union[int, None] = None) -> None:
    """Refuse decoded samples that would silently poison training: none at all, NaN or infinite
    values, or (with ``channels``) another number of channels.

    Args:
        array: ``(N,)`` or ``(N, C)`` samples.
        where: what to name in the message (a file, or ``utterance X (file F)``).
        channels: the number of channels the caller takes (``None``: any).

    Raises:
        AudioError: naming ``where``.
    """
    if array.shape[0] == 0:
        raise AudioError(f"{where}: audio file holds no samples")
    found = 1 if array.ndim == 1 else int(array.shape[1])
    if channels is not None and found != channels:
        raise AudioError(f"{where}: expected {'mono' if channels == 1 else f'{channels}-channel'} audio, found "
                         f"{found} channels: mix them down or pick one first (e.g. sox in.wav -c 1 out.wav)")
    finite = np.isfinite(array)
    if not finite.all():
        raise AudioError(f"{where}: {int((~finite).sum())} samples are NaN or infinite; the file is damaged "
                         "(re-create it, or drop the utterance)")


def save_audio(path: Pathlike, wav: torch.Tensor | np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write a mono waveform in [-1, 1] as 16-bit PCM (WAV or FLAC by suffix)."""
    array = wav.detach().cpu().numpy() if isinstance(wav, torch.Tensor) else np.asarray(wav)
    if array.ndim != 1:
        raise AudioError(f"{path}: expected a 1-D waveform, got shape {tuple(array.shape)}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), array, sample_rate, subtype="PCM_16")

