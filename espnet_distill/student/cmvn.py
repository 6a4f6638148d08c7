"""Global CMVN statistics for the fbank front-end.

The statistics are computed with the student's own batched Kaldi fbank
(:class:`~espnet_distill.student.fbank.KaldiFbank`), so they describe exactly the
features the student normalises. They are stored as ``.npz`` (``mean``, ``std``,
``count`` = frames, ``num_utts``) by ``python -m espnet_distill.bin.compute_cmvn``
and end up as buffers of the student (and in its checkpoints).
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Union

import numpy as np
import torch

from espnet_distill.student.fbank import KaldiFbank

_LG = logging.getLogger(__name__)

Pathlike = Union[str, Path]

#: Variance floor: a constant mel bin (e.g. digital silence only) gets std 1e-5, not 0.
VAR_FLOOR = 1e-10


@dataclass
class CmvnStats:
    """Per-mel-bin mean and standard deviation, and how many frames they came from."""

    mean: np.ndarray
    std: np.ndarray
    count: int = 0
    num_utts: int = 0

    def __post_init__(self) -> None:
        self.mean = np.asarray(self.mean, dtype=np.float64).reshape(-1)
        self.std = np.asarray(self.std, dtype=np.float64).reshape(-1)
        if self.mean.shape != self.std.shape:
            raise ValueError(f"CMVN mean and std differ in size: {self.mean.shape} vs {self.std.shape}")
        if not np.all(self.std > 0) or not np.all(np.isfinite(self.mean)):
            raise ValueError("CMVN statistics: std must be > 0 and mean finite")

    @property
    def num_mel_bins(self) -> int:
        return int(self.mean.shape[0])


class CmvnAccumulator:
    """Running sums of fbank frames (float64), one utterance at a time."""

    def __init__(self, num_mel_bins: int = 80, device: Union[str, torch.device] = "cpu"):
        self.fbank = KaldiFbank(num_mel_bins).to(device)
        self.device = torch.device(device)
        self.total = torch.zeros(num_mel_bins, dtype=torch.float64)
        self.total_sq = torch.zeros(num_mel_bins, dtype=torch.float64)
        self.count = 0
        self.num_utts = 0

    @torch.no_grad()
    def add(self, wav: torch.Tensor) -> int:
        """Add one ``(N,)`` waveform in [-1, 1]; returns its number of frames (0 if < 400 samples)."""
        wav = wav.reshape(1, -1).to(self.device, torch.float32)
        feats, frames = self.fbank(wav, torch.tensor([wav.shape[1]], device=self.device))
        feats = feats[0, : int(frames[0])].double().cpu()
        self.total += feats.sum(0)
        self.total_sq += feats.square().sum(0)
        self.count += feats.shape[0]
        self.num_utts += 1
        return feats.shape[0]

    def stats(self) -> CmvnStats:
        if self.count == 0:
            raise ValueError("no fbank frames were accumulated (every utterance shorter than 400 samples?)")
        mean = self.total / self.count
        var = (self.total_sq / self.count - mean.square()).clamp(min=VAR_FLOOR)
        return CmvnStats(mean.numpy(), var.sqrt().numpy(), self.count, self.num_utts)


def compute_cmvn(wavs: Iterable[torch.Tensor], num_mel_bins: int = 80, device="cpu") -> CmvnStats:
    """Global CMVN statistics of the Kaldi fbank of ``wavs`` (each ``(N,)`` in [-1, 1])."""
    acc = CmvnAccumulator(num_mel_bins, device)
    for wav in wavs:
        acc.add(wav)
    return acc.stats()


def compute_cmvn_from_data_dir(
    data_dir: Pathlike,
    num_mel_bins: int = 80,
    *,
    max_utts: Optional[int] = None,
    device="cpu",
    progress: bool = True,
) -> CmvnStats:
    """Statistics over the utterances of a Kaldi-style data dir (``wav.scp``).

    Args:
        data_dir: directory with ``wav.scp``, read by
            :func:`espnet_distill.data.kaldi_dir.read_data_dir`.
        num_mel_bins: fbank size.
        max_utts: use only the first ``max_utts`` utterances (``wav.scp`` order).
        device: where to compute the fbank.
        progress: show a tqdm bar.
    """
    from tqdm import tqdm

    from espnet_distill.data.audio import load_audio
    from espnet_distill.data.kaldi_dir import read_data_dir

    data = read_data_dir(data_dir)
    utts = data.utt_ids[:max_utts] if max_utts else data.utt_ids
    acc = CmvnAccumulator(num_mel_bins, device)
    short = 0
    for utt in tqdm(utts, desc="cmvn", unit="utt", disable=not progress):
        short += acc.add(load_audio(data.wav_path(utt))) == 0
    if short:
        _LG.warning(
            "%d of %d utterances are shorter than one fbank frame (400 samples) and add nothing", short, len(utts)
        )
    stats = acc.stats()
    _LG.info("CMVN over %d utterances, %d frames", stats.num_utts, stats.count)
    return stats


def save_cmvn(path: Pathlike, stats: CmvnStats) -> None:
    """Write ``.npz`` (``mean``, ``std``, ``count``, ``num_utts``) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, mean=stats.mean, std=stats.std, count=np.int64(stats.count), num_utts=np.int64(stats.num_utts))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)


def load_cmvn(path: Pathlike) -> CmvnStats:
    """Read a ``.npz`` written by :func:`save_cmvn`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file lacks ``mean`` / ``std``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: CMVN statistics file does not exist (make it with `python -m espnet_distill.bin.compute_cmvn`)"
        )
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in ("mean", "std") if k not in data.files]
        if missing:
            raise ValueError(f"{path}: not a CMVN statistics file, missing {missing}; found {data.files}")
        return CmvnStats(
            data["mean"],
            data["std"],
            int(data["count"]) if "count" in data.files else 0,
            int(data["num_utts"]) if "num_utts" in data.files else 0,
        )
