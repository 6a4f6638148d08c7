"""HuBERT's first-iteration targets: k-means units of MFCC features.

MFCCs are computed with the HuBERT CNN's framing: 25 ms windows every 20 ms with
``snip_edges``, so an utterance of N samples gets ``floor((N - 400) / 320) + 1`` frames,
exactly the CNN's frame count; labels need no down-sampling and line up one-to-one
(ESPnet's ``collate_fn_conf.label_downsampling: 1``). Features are 13 cepstra plus
deltas and delta-deltas (39 dims), clustered with scikit-learn's MiniBatchKMeans.

Label files are Kaldi-style ``text`` files (``utt-id u1 u2 ...``), which ESPnet's
HubertTask reads with ``--token_type word`` and a token list of the unit names.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, List, Optional, Union

import numpy as np
import torch
import torchaudio
from sklearn.cluster import MiniBatchKMeans
from tqdm import tqdm

from espnet_distill.data.audio import load_audio
from espnet_distill.data.kaldi_dir import read_data_dir, write_kaldi_file

_LG = logging.getLogger(__name__)

Pathlike = Union[str, Path]
UNK = "<unk>"


def mfcc_features(wav: torch.Tensor) -> np.ndarray:
    """``(N,)`` float waveform in [-1, 1] -> ``(T, 39)`` MFCC + deltas at 20 ms (T as HuBERT's CNN)."""
    if wav.numel() < 400:
        return np.zeros((0, 39), dtype=np.float32)
    mfcc = torchaudio.compliance.kaldi.mfcc(
        wav[None] * 32768.0, sample_frequency=16000, frame_length=25.0, frame_shift=20.0,
        num_ceps=13, dither=0.0, use_energy=False,
    )  # (T, 13)
    delta = torchaudio.functional.compute_deltas(mfcc.t()[None])[0]
    delta2 = torchaudio.functional.compute_deltas(delta[None])[0]
    return torch.cat([mfcc, delta.t(), delta2.t()], dim=1).numpy().astype(np.float32)


def load_features(data_dir: Pathlike, progress: bool = True) -> Dict[str, np.ndarray]:
    """MFCC features of every utterance of a data dir, by utterance id."""
    data = read_data_dir(data_dir)
    feats = {}
    for utt in tqdm(data.utt_ids, desc=f"MFCC {Path(data_dir).name}", disable=not progress):
        feats[utt] = mfcc_features(load_audio(data.wav_path(utt)))
    return feats


def fit_kmeans(features: Dict[str, np.ndarray], num_units: int, *, seed: int = 0,
               max_frames: Optional[int] = 100_000) -> MiniBatchKMeans:
    """Fit K-means on (at most ``max_frames``, sampled with ``seed``) frames."""
    frames = np.concatenate([f for f in features.values() if len(f)], axis=0)
    if len(frames) < num_units:
        raise ValueError(f"{len(frames)} MFCC frames are too few for {num_units} units")
    rng = np.random.default_rng(seed)
    if max_frames is not None and len(frames) > max_frames:
        frames = frames[rng.choice(len(frames), max_frames, replace=False)]
    km = MiniBatchKMeans(n_clusters=num_units, random_state=seed, batch_size=10_000, n_init=3,
                         max_iter=100, compute_labels=False)
    km.fit(frames)
    _LG.info("k-means: %d units on %d frames, inertia per frame %.2f", num_units, len(frames),
             km.inertia_ / len(frames) if km.inertia_ else float("nan"))
    return km


def write_unit_labels(features: Dict[str, np.ndarray], km: MiniBatchKMeans, out: Pathlike) -> Path:
    """Write ``utt-id u1 u2 ...`` (one unit per 20 ms frame)."""
    rows = []
    for utt, f in features.items():
        if not len(f):
            raise ValueError(f"utterance {utt}: shorter than one 25 ms frame, no unit labels")
        rows.append((utt, " ".join(map(str, km.predict(f)))))
    write_kaldi_file(out, rows)
    return Path(out)


def unit_token_list(num_units: int) -> List[str]:
    """ESPnet token list for HubertTask: unit names ``0..K-1`` then ``<unk>`` (never a label)."""
    return [str(i) for i in range(num_units)] + [UNK]
