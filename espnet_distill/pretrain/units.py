"""HuBERT's pre-training targets: k-means units of MFCC features or of a teacher's layer.

First iteration: MFCCs with the HuBERT CNN's framing, 25 ms windows every 20 ms with
``snip_edges``, so an utterance of N samples gets ``floor((N - 400) / 320) + 1`` frames,
exactly the CNN's frame count; labels need no down-sampling and line up one-to-one
(ESPnet's ``collate_fn_conf.label_downsampling: 1``). Features are 13 cepstra plus
deltas and delta-deltas (39 dims).

Later iterations (HuBERT's second iteration): the hidden state of one layer of the
previous iteration's model (any checkpoint :func:`espnet_distill.teacher.load_teacher`
reads), which has the same 20 ms frames.

Either way the features are clustered with scikit-learn's MiniBatchKMeans on frames of
a random subset of utterances, and every utterance is then labelled one at a time (the
features of a 10 h corpus never sit in memory together). Label files are Kaldi-style
``text`` files (``utt-id u1 u2 ...``), which ESPnet's HubertTask reads with
``--token_type word`` and a token list of the unit names.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Callable, List, Optional

import numpy as np
import torch
import torchaudio
from sklearn.cluster import MiniBatchKMeans
from tqdm import tqdm

from espnet_distill.common import Pathlike, atomic_write
from espnet_distill.data.audio import load_audio
from espnet_distill.data.kaldi_dir import read_data_dir

_LG = logging.getLogger(__name__)

#: ``(N,)`` float waveform in [-1, 1] -> ``(T, D)`` float32 features at the CNN's 20 ms frames.
Featurizer = Callable[[torch.Tensor], np.ndarray]
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


def teacher_layer_features(source: Pathlike, layer: int) -> Featurizer:
    """A featurizer returning hidden state ``layer`` of a model (0 = transformer input, k = layer k).

    Raises:
        ValueError: ``layer`` is outside ``0..L`` for the model's L layers.
    """
    from espnet_distill.teacher import load_teacher  # the MFCC path needs no teacher import

    teacher = load_teacher(source)
    num_layers = teacher.num_layers
    if not 0 <= layer <= num_layers:
        raise ValueError(f"layer {layer}: {source} has hidden states 0..{num_layers} (0 = transformer input)")

    def features(wav: torch.Tensor) -> np.ndarray:
        if wav.numel() < 400:
            return np.zeros((0, teacher.hidden_size), dtype=np.float32)
        out = teacher(wav[None].float(), torch.tensor([wav.numel()]))
        return out.hidden_states[layer][0].float().numpy()

    return features


def fit_kmeans(data_dir: Pathlike, featurize: Featurizer, num_units: int, *, seed: int = 0,
               max_frames: Optional[int] = 100_000, progress: bool = True) -> MiniBatchKMeans:
    """Fit K-means on at most ``max_frames`` frames of utterances of ``data_dir`` drawn with ``seed``.

    Utterances are visited in a seeded random order until twice ``max_frames`` frames are
    collected (so that the sample spans many utterances), then ``max_frames`` of those are drawn.
    """
    data = read_data_dir(data_dir)
    order = list(data.utt_ids)
    random.Random(seed).shuffle(order)
    chunks: List[np.ndarray] = []
    total = 0
    bar = tqdm(total=None if max_frames is None else 2 * max_frames, desc=f"k-means frames {Path(data_dir).name}",
               unit="frame", disable=not progress)
    for utt in order:
        feats = featurize(load_audio(data.wav_path(utt)))
        chunks.append(feats)
        total += len(feats)
        bar.update(len(feats))
        if max_frames is not None and total >= 2 * max_frames:
            break
    bar.close()
    frames = np.concatenate([c for c in chunks if len(c)], axis=0) if total else np.zeros((0, 1), np.float32)
    if len(frames) < num_units:
        raise ValueError(f"{len(frames)} frames of {data_dir} are too few for {num_units} units")
    rng = np.random.default_rng(seed)
    if max_frames is not None and len(frames) > max_frames:
        frames = frames[rng.choice(len(frames), max_frames, replace=False)]
    km = MiniBatchKMeans(n_clusters=num_units, random_state=seed, batch_size=10_000, n_init=3,
                         max_iter=100, compute_labels=False)
    km.fit(frames)
    _LG.info("k-means: %d units on %d frames of %d dims, inertia per frame %.3f", num_units, len(frames),
             frames.shape[1], km.inertia_ / len(frames) if km.inertia_ else float("nan"))
    return km


def write_unit_labels(data_dir: Pathlike, featurize: Featurizer, km: MiniBatchKMeans, out: Pathlike, *,
                      progress: bool = True) -> Path:
    """Write ``utt-id u1 u2 ...`` (one unit per 20 ms frame) for every utterance of ``data_dir``.

    The file is written in the data dir's order under a temporary name and renamed at the end.
    """
    data = read_data_dir(data_dir)
    out = Path(out)

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as f:
            for utt in tqdm(data.utt_ids, desc=f"labelling {Path(data_dir).name}", disable=not progress):
                feats = featurize(load_audio(data.wav_path(utt)))
                if not len(feats):
                    raise ValueError(f"utterance {utt} of {data_dir}: shorter than one 25 ms frame, no unit labels")
                f.write(f"{utt} {' '.join(map(str, km.predict(feats)))}\n")

    return atomic_write(out, write)


def unit_token_list(num_units: int) -> List[str]:
    """ESPnet token list for HubertTask: unit names ``0..K-1`` then ``<unk>`` (never a label)."""
    return [str(i) for i in range(num_units)] + [UNK]
