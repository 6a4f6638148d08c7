"""Inputs ESPnet2's ``asr_train`` needs beyond a Kaldi dir: token list and shape files.

``asr.sh`` makes these in its stages 4-10; entry points and tests that call
``python -m espnet2.bin.asr_train`` directly use these helpers instead.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Dict, Iterable, List, Sequence

from espnet_distill.common import Pathlike
from espnet_distill.data.audio import audio_info
from espnet_distill.data.kaldi_dir import DataDirError, read_data_dir, read_kaldi_file, write_kaldi_file


BLANK, UNK, SOS_EOS, SPACE = "<blank>", "<unk>", "<sos/eos>", "<space>"


def char_token_list(texts: Iterable[str]) -> List[str]:
    """ESPnet's char token list: ``<blank> <unk>``, characters by frequency (space as
    ``<space>``, ties broken alphabetically), then ``<sos/eos>``."""
    counts: collections.Counter = collections.Counter()
    for text in texts:
        counts.update(SPACE if c == " " else c for c in text)
    chars = sorted(counts, key=lambda c: (-counts[c], c))
    return [BLANK, UNK, *chars, SOS_EOS]


def write_token_list(tokens: Sequence[str], path: Pathlike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
    return path


def write_shape_files(data_dir: Pathlike, out_dir: Pathlike) -> Dict[str, Path]:
    """Write ``speech_shape`` (samples) and ``text_shape.char`` (characters) for ``data_dir``.

    Sample counts come from ``utt2num_samples`` when present, else from the audio headers.
    """
    data = read_data_dir(data_dir)
    out_dir = Path(out_dir)
    nsamples_file = Path(data_dir) / "utt2num_samples"
    if nsamples_file.is_file():
        nsamples = dict(read_kaldi_file(nsamples_file))
        missing = [u for u in data.utt_ids if u not in nsamples]
        if missing:
            raise DataDirError(f"{nsamples_file}: no entry for {missing[:5]} ({len(missing)} in all)")
    else:
        nsamples = {u: str(audio_info(data.wav_path(u)).num_samples) for u in data.utt_ids}
    paths = {"speech_shape": out_dir / "speech_shape"}
    write_kaldi_file(paths["speech_shape"], [(u, nsamples[u]) for u in data.utt_ids])
    if data.text is not None:
        paths["text_shape.char"] = out_dir / "text_shape.char"
        write_kaldi_file(paths["text_shape.char"], [(u, str(max(len(t), 1))) for u, t in data.text])
    return paths
