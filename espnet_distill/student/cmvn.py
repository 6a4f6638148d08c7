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
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Union

import numpy as np
import torch

from espnet_distill.common import Pathlike, atomic_write_bytes
from espnet_distill.student.fbank import KaldiFbank

_LG = logging.getLogger(__name__)


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

    def merge(self, other: "CmvnAccumulator") -> None:
        """Add the sums of another accumulator (e.g. a worker's)."""
        self.total += other.total
        self.total_sq += other.total_sq
        self.count += other.count
        self.num_utts += other.num_utts

    def __getstate__(self):  # workers send back their sums, not the fbank module
        return {k: v for k, v in self.__dict__.items() if k != "fbank"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.fbank = None

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
    seed: int = 0,
    jobs: int = 1,
    device="cpu",
    progress: bool = True,
) -> CmvnStats:
    """Statistics over the utterances of a Kaldi-style data dir (``wav.scp``).

    Args:
        data_dir: directory with ``wav.scp``, read by
            :func:`espnet_distill.data.kaldi_dir.read_data_dir`.
        num_mel_bins: fbank size.
        max_utts: use a random subset of this many utterances, drawn with ``seed``
            (``None``: all). A few thousand utterances give the statistics of a 960 h set
            to well under a percent of a standard deviation, in minutes instead of hours.
        seed: seed of the subset.
        jobs: worker processes (one CPU thread each); 1 computes in this process.
        device: where to compute the fbank (``jobs`` must be 1 for a GPU).
        progress: show a tqdm bar.
    """
    from tqdm import tqdm

    from espnet_distill.data.kaldi_dir import read_data_dir

    data = read_data_dir(data_dir)
    utts = list(data.utt_ids)
    if max_utts is not None and max_utts < len(utts):
        rng = np.random.default_rng(seed)
        utts = [utts[i] for i in sorted(rng.choice(len(utts), max_utts, replace=False))]
    paths = [str(data.wav_path(u)) for u in utts]
    acc = CmvnAccumulator(num_mel_bins, device)
    jobs = max(1, min(int(jobs), len(paths)))
    bar = tqdm(total=len(paths), desc="cmvn", unit="utt", disable=not progress)
    if jobs == 1:
        short = 0
        for path in paths:
            short += _add_file(acc, path) == 0
            bar.update(1)
    else:
        from concurrent.futures import ProcessPoolExecutor

        chunks = [paths[k::jobs * 8] for k in range(jobs * 8)]  # many small chunks: the bar moves
        short = 0
        with ProcessPoolExecutor(jobs) as pool:  # workers set one thread each (as DataLoader workers do)
            for part, n, part_short in pool.map(_partial_sums, chunks, [num_mel_bins] * len(chunks)):
                acc.merge(part)
                short += part_short
                bar.update(n)
    bar.close()
    if short:
        _LG.warning(
            "%d of %d utterances are shorter than one fbank frame (400 samples) and add nothing", short, len(utts)
        )
    stats = acc.stats()
    _LG.info("CMVN over %d utterances, %d frames", stats.num_utts, stats.count)
    return stats


def _add_file(acc: "CmvnAccumulator", path: str) -> int:
    from espnet_distill.data.audio import load_audio

    return acc.add(load_audio(path))


def _partial_sums(paths: List[str], num_mel_bins: int):
    """Worker: the sums of one chunk of files, on one CPU thread."""
    torch.set_num_threads(1)
    acc = CmvnAccumulator(num_mel_bins)
    short = sum(_add_file(acc, p) == 0 for p in paths)
    return acc, len(paths), short


def save_cmvn(path: Pathlike, stats: CmvnStats) -> None:
    """Write ``.npz`` (``mean``, ``std``, ``count``, ``num_utts``) atomically."""
    buf = io.BytesIO()
    np.savez(buf, mean=stats.mean, std=stats.std, count=np.int64(stats.count), num_utts=np.int64(stats.num_utts))
    atomic_write_bytes(path, buf.getvalue())


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
    from espnet_distill.file_kinds import wrong_kind_message

    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:  # text, a torch file, a damaged npz
        raise ValueError(wrong_kind_message(path, "cmvn", "a CMVN statistics file", err)
                         or f"{path}: not a CMVN statistics file (an .npz written by python -m "
                            f"espnet_distill.bin.compute_cmvn): {err}") from err
    with data:
        if not hasattr(data, "files"):
            raise ValueError(f"{path}: not a CMVN statistics file (an .npz written by compute_cmvn), found a "
                             "single array")
        missing = [k for k in ("mean", "std") if k not in data.files]
        if missing:
            err = ValueError(f"missing {missing}; found {data.files}")
            raise ValueError(wrong_kind_message(path, "cmvn", "a CMVN statistics file", err)
                             or f"{path}: not a CMVN statistics file, {err}")
        return CmvnStats(
            data["mean"],
            data["std"],
            int(data["count"]) if "count" in data.files else 0,
            int(data["num_utts"]) if "num_utts" in data.files else 0,
        )
