"""Batching for distillation: random crops of long utterances, then zero padding."""

from __future__ import annotations

from typing import Collection, Dict, List, Tuple

import numpy as np
import torch


class CropCollateFn:
    """Crop each waveform to at most ``max_samples`` and pad the batch.

    DistilHuBERT crops every utterance to at most 250,000 samples (15.6 s) at a random
    offset; validation crops deterministically from the start so its loss is
    comparable across epochs.

    Args:
        max_samples: longest waveform kept, in samples (16 kHz).
        train: random offsets (training) or offset 0 (validation).

    Returns (from ``__call__``):
        ``(utt_ids, {"speech": (B, T) float32, "speech_lengths": (B,) int64})``.
    """

    def __init__(self, max_samples: int = 250_000, train: bool = True):
        if max_samples < 400:
            raise ValueError(f"max_samples must be >= 400 (one 25 ms frame), got {max_samples}")
        self.max_samples = int(max_samples)
        self.train = train

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_samples={self.max_samples}, train={self.train})"

    def __call__(self, data: Collection[Tuple[str, Dict[str, np.ndarray]]]) -> Tuple[List[str], Dict[str, torch.Tensor]]:
        uids, wavs = [], []
        for uid, item in data:
            if "speech" not in item:
                raise ValueError(f"utterance {uid}: no 'speech' in the batch (got {sorted(item)}); "
                                 "pass --*_data_path_and_name_and_type wav.scp,speech,sound")
            wav = np.asarray(item["speech"])
            if wav.ndim != 1:
                raise ValueError(f"utterance {uid}: expected mono audio of shape (samples,), "
                                 f"found shape {wav.shape} (multi-channel?)")
            uids.append(uid)
            wavs.append(self._crop(wav))
        lengths = torch.tensor([len(w) for w in wavs], dtype=torch.long)
        speech = torch.zeros(len(wavs), int(lengths.max()), dtype=torch.float32)
        for i, w in enumerate(wavs):
            speech[i, : len(w)] = torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32))
        return uids, {"speech": speech, "speech_lengths": lengths}

    def _crop(self, wav: np.ndarray) -> np.ndarray:
        excess = len(wav) - self.max_samples
        if excess <= 0:
            return wav
        # torch's generator is seeded per data-loader worker by PyTorch; numpy's is not
        start = int(torch.randint(0, excess + 1, ()).item()) if self.train else 0
        return wav[start : start + self.max_samples]
