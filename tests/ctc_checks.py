"""What a CTC decoding of a barely trained model can be held to.

A model fine-tuned for a few updates emits near-random characters, so its CER is no figure of
merit (it often exceeds 1: CTC may emit a token on every frame). What must hold regardless:
every utterance was decoded, no hypothesis is longer than CTC allows (at most one token per
output frame: per 20 ms for the students and teachers here, an upper bound for models with longer
frames), and the result is not perfect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import soundfile as sf

from espnet_distill.data.kaldi_dir import read_data_dir, read_kaldi_file
from espnet_distill.data.scoring import ScoreResult, score_files
from espnet_distill.frames import SAMPLES_PER_FRAME



def assert_ctc_decoding(data_dir: Path, hyp_text: Path, key_file: Optional[Path] = None) -> ScoreResult:
    """Score ``hyp_text`` against ``data_dir``/text (the utterances of ``key_file`` if given, else
    all) and check the bounds above; returns the score."""
    data = read_data_dir(data_dir)
    keys = [line.split()[0] for line in Path(key_file).read_text().splitlines()] if key_file else data.utt_ids
    result = score_files(Path(data_dir) / "text", hyp_text, key_file)
    assert result.num_utts == len(keys) > 0, (result, len(keys))
    hyps = dict(read_kaldi_file(hyp_text, allow_empty_value=True))
    for utt in keys:
        frames = sf.info(str(data.wav_path(utt))).frames // SAMPLES_PER_FRAME + 1
        tokens = len(hyps[utt].replace("<unk>", "?"))  # one token each
        assert tokens <= frames, f"{utt}: {tokens} tokens from {frames} frames"
    assert result.cer > 0.0 and result.wer > 0.0, result
    return result
