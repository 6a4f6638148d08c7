"""Character and word error rates of hypotheses against references, with jiwer."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Optional

import jiwer

from espnet_distill.common import Pathlike
from espnet_distill.data.kaldi_dir import read_kaldi_file



@dataclass
class ScoreResult:
    """Error rates in [0, inf) (a fraction, not a percentage) over ``num_utts`` utterances."""

    cer: float
    wer: float
    num_utts: int
    ref_chars: int
    ref_words: int

    def to_dict(self) -> Dict:
        return asdict(self)


def score_texts(refs: Dict[str, str], hyps: Dict[str, str]) -> ScoreResult:
    """Score ``hyps`` against ``refs`` (both ``utt-id -> text``).

    Every reference needs a hypothesis (an empty one counts as all deletions, which is
    what ESPnet writes for an all-blank CTC output); hypotheses for unknown ids are an
    error, as they mean the two files do not belong together.
    """
    missing = sorted(set(refs) - set(hyps))
    extra = sorted(set(hyps) - set(refs))
    if missing or extra:
        raise ValueError(
            f"hypotheses do not match references: {len(missing)} missing (e.g. {missing[:3]}), "
            f"{len(extra)} unknown (e.g. {extra[:3]})"
        )
    if not refs:
        raise ValueError("no references to score")
    ids = sorted(refs)
    ref = [_norm(refs[i]) for i in ids]
    hyp = [_norm(hyps[i]) for i in ids]
    if any(not r for r in ref):
        raise ValueError(f"empty reference transcripts: {[i for i, r in zip(ids, ref) if not r][:5]}")
    return ScoreResult(
        cer=float(jiwer.cer(ref, hyp)),
        wer=float(jiwer.wer(ref, hyp)),
        num_utts=len(ids),
        ref_chars=sum(len(r) for r in ref),
        ref_words=sum(len(r.split()) for r in ref),
    )


def score_files(ref_text: Pathlike, hyp_text: Pathlike, key_file: Optional[Pathlike] = None) -> ScoreResult:
    """Score two Kaldi-style ``text`` files (``utt-id transcript`` per line).

    ``key_file`` (one utterance id per line, e.g. asr_inference's ``--key_file``) restricts the
    references to the utterances that were decoded; every listed id must have a reference.
    """
    refs = dict(read_kaldi_file(ref_text, allow_empty_value=True))
    if key_file is not None:
        keys = [line.split()[0] for line in Path(key_file).read_text(encoding="utf-8").splitlines() if line.strip()]
        unknown = [k for k in keys if k not in refs]
        if unknown:
            raise ValueError(f"{key_file}: {len(unknown)} ids have no reference in {ref_text} (e.g. {unknown[:3]})")
        refs = {k: refs[k] for k in keys}
    hyps = dict(read_kaldi_file(hyp_text, allow_empty_value=True))
    return score_texts(refs, hyps)


def _norm(text: str) -> str:
    return " ".join(text.upper().split())
