"""Build the offline synthetic speech corpus: audio, Kaldi dirs, LibriSpeech layout.

Layout written under ``out``::

    wav/<speaker>/<utt>.wav          16 kHz mono PCM (speaker = voice)
    train/ dev/ test/                Kaldi dirs: wav.scp text utt2spk spk2utt utt2num_samples
    train_labelled/                  a subset of train of about ``labelled_minutes``
    LibriSpeech/<part>/<spk>/<chapter>/<spk>-<chapter>-<n>.flac + <spk>-<chapter>.trans.txt
                                     (``layout="librispeech"``): LibriSpeech's seven parts, train
                                     dealt into train-clean-100/-360/train-other-500, dev into
                                     dev-clean/-other, test into test-clean/-other
    corpus.json                      what was asked, what was made, tool versions

The k-th utterance (text, voice, rate, pitch) depends only on the seed and k, so a
corpus is reproducible and a larger one extends a smaller one. No sentence occurs
twice, so no test transcript is also a training transcript.
"""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import soundfile as sf
from tqdm import tqdm

from espnet_distill.common import atomic_write
from espnet_distill.data.corpus.grammar import sample_sentence
from espnet_distill.data.corpus.voices import ALL_VOICES, Voice, check_tools, synthesize
from espnet_distill.data.kaldi_dir import write_kaldi_file

_LG = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
#: The LibriSpeech parts each split is dealt into (utterance k of a split goes to part k mod n).
LIBRISPEECH_SPLITS = {
    "train": ("train-clean-100", "train-clean-360", "train-other-500"),
    "dev": ("dev-clean", "dev-other"),
    "test": ("test-clean", "test-other"),
}
#: Mean utterance duration in seconds, used only to plan batches for ``hours``.
_MEAN_DURATION = 2.4
_MAX_UTTS = 200_000


@dataclass
class CorpusSpec:
    """What to synthesise. Exactly one of ``num_utts`` / ``hours`` is set."""

    num_utts: Optional[int] = None
    hours: Optional[float] = None
    seed: int = 0
    layout: str = "kaldi"
    labelled_minutes: float = 5.0
    split_fractions: Sequence[float] = (0.8, 0.1, 0.1)
    voices: Sequence[str] = field(default_factory=lambda: [v.speaker for v in ALL_VOICES])
    #: A Kaldi ``text`` file (``utt-id SENTENCE``) whose sentences are never synthesised, e.g.
    #: another corpus's planned texts, so that two corpora share no sentence.
    exclude_text: Optional[str] = None

    def __post_init__(self) -> None:
        if (self.num_utts is None) == (self.hours is None):
            raise ValueError("give exactly one of num_utts or hours")
        if self.num_utts is not None and not 3 <= self.num_utts <= _MAX_UTTS:
            raise ValueError(f"num_utts must be in [3, {_MAX_UTTS}], got {self.num_utts}")
        if self.hours is not None and not 0 < self.hours <= 100:
            raise ValueError(f"hours must be in (0, 100], got {self.hours}")
        if self.layout not in ("kaldi", "librispeech"):
            raise ValueError(f"layout must be 'kaldi' or 'librispeech', got {self.layout!r}")
        if self.labelled_minutes < 0:
            raise ValueError(f"labelled_minutes must be >= 0, got {self.labelled_minutes}")
        if len(self.split_fractions) != 3 or abs(sum(self.split_fractions) - 1) > 1e-6:
            raise ValueError(f"split_fractions must be 3 numbers summing to 1, got {self.split_fractions}")
        known = {v.speaker for v in ALL_VOICES}
        unknown = [v for v in self.voices if v not in known]
        if unknown or not self.voices:
            raise ValueError(f"unknown voices {unknown}; choose from {sorted(known)}")
        self.voices = list(self.voices)
        self.split_fractions = list(self.split_fractions)
        if self.exclude_text is not None:
            if not Path(self.exclude_text).is_file():
                raise ValueError(f"exclude_text: no such file {self.exclude_text}")
            self.exclude_text = str(Path(self.exclude_text).resolve())


@dataclass
class Utterance:
    utt_id: str
    speaker: str
    text: str
    path: Path
    num_samples: int = 0


def make_corpus(out: Path, spec: CorpusSpec, *, jobs: Optional[int] = None, progress: bool = True) -> Dict:
    """Synthesise the corpus described by ``spec`` into ``out``; return its summary.

    A finished corpus with the same spec is detected through ``corpus.json`` and
    left alone (the summary is returned again).
    """
    out = Path(out).resolve()
    summary_path = out / "corpus.json"
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text())
        if summary.get("spec") == _spec_dict(spec):
            _LG.info("corpus in %s is already complete, skipping", out)
            return summary
        raise FileExistsError(f"{out} holds another corpus (corpus.json differs); choose a new --out")
    voices = [v for v in ALL_VOICES if v.speaker in spec.voices]
    check_tools(voices)
    excluded = _excluded_texts(spec)
    utts = _synthesise_all(out, spec, voices, jobs or os.cpu_count() or 1, progress, excluded)
    splits = _split(utts, spec)
    for name, members in splits.items():
        _write_kaldi_dir(out / name, members)
    labelled = _labelled_subset(splits["train"], spec)
    _write_kaldi_dir(out / "train_labelled", labelled)
    if spec.layout == "librispeech":
        write_librispeech_layout(out / "LibriSpeech", splits, voices, progress)
    summary = {
        "spec": _spec_dict(spec),
        "splits": {name: _stats(m) for name, m in {**splits, "train_labelled": labelled}.items()},
        "voices": [asdict(v) for v in voices],
        "tools": _tool_versions(voices),
        "excluded_sentences": len(excluded),
    }
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    _LG.info("corpus written to %s: %s", out, {k: v["num_utts"] for k, v in summary["splits"].items()})
    return summary


def _spec_dict(spec: CorpusSpec) -> Dict:
    d = asdict(spec)
    if d["exclude_text"] is None:  # corpora written before the option existed keep matching
        del d["exclude_text"]
    return json.loads(json.dumps(d))  # tuples -> lists, as read back from JSON


def planned_texts(spec: CorpusSpec) -> List[tuple]:
    """``(utt_id, text)`` of every utterance ``make_corpus(spec)`` would synthesise, without audio.

    Only for ``num_utts`` specs: with ``hours`` the plan depends on the durations synthesised.
    """
    if spec.num_utts is None:
        raise ValueError("planned_texts needs a spec with num_utts (an hours spec depends on the audio)")
    voices = [v for v in ALL_VOICES if v.speaker in spec.voices]
    rng, seen = random.Random(spec.seed), set(_excluded_texts(spec))
    rows = []
    for index in range(spec.num_utts):
        text, voice, _, _ = _plan(index, rng, voices, seen)
        rows.append((f"{voice.speaker}-{index:06d}", text))
    return rows


def _excluded_texts(spec: CorpusSpec) -> set:
    if spec.exclude_text is None:
        return set()
    texts = set()
    for n, line in enumerate(Path(spec.exclude_text).read_text().splitlines(), 1):
        parts = line.strip().split(maxsplit=1)
        if len(parts) != 2:
            raise ValueError(f"{spec.exclude_text}:{n}: expected 'utt-id SENTENCE', found {line!r}")
        texts.add(" ".join(parts[1].split()))
    return texts


def _plan(index: int, rng: random.Random, voices: List[Voice], seen: set) -> tuple:
    for _ in range(1000):
        text = sample_sentence(rng)
        if text not in seen:
            break
    else:  # pragma: no cover - the grammar has millions of sentences
        raise RuntimeError("the text grammar ran out of new sentences")
    seen.add(text)
    voice = voices[rng.randrange(len(voices))]
    return text, voice, rng.uniform(-0.08, 0.12), rng.uniform(-0.1, 0.1)


def _synthesise_all(out: Path, spec: CorpusSpec, voices: List[Voice], jobs: int, progress: bool,
                    excluded: set) -> List[Utterance]:
    rng = random.Random(spec.seed)
    seen: set = set(excluded)
    utts: List[Utterance] = []
    target_s = spec.hours * 3600 if spec.hours is not None else None
    total_s = 0.0
    planned = spec.num_utts if spec.num_utts is not None else int(target_s / _MEAN_DURATION) + 1
    bar = tqdm(total=planned, desc="synthesising", unit="utt", disable=not progress)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while True:
            if spec.num_utts is not None:
                batch = spec.num_utts - len(utts)
            else:
                if total_s >= target_s:
                    break
                batch = max(16, int((target_s - total_s) / _MEAN_DURATION) + 1)
            if batch <= 0 or len(utts) >= _MAX_UTTS:
                break
            new = []
            for _ in range(batch):
                text, voice, rate_j, pitch_j = _plan(len(utts) + len(new), rng, voices, seen)
                utt_id = f"{voice.speaker}-{len(utts) + len(new):06d}"
                u = Utterance(utt_id, voice.speaker, text, out / "wav" / voice.speaker / f"{utt_id}.wav")
                new.append((u, voice, rate_j, pitch_j))
            for u in pool.map(lambda args: _synth_one(*args), new):
                utts.append(u)
                total_s += u.num_samples / 16000
                bar.update(1)
    bar.close()
    return utts


def _synth_one(u: Utterance, voice: Voice, rate_jitter: float, pitch_jitter: float) -> Utterance:
    if not u.path.is_file():  # resume: utterances of an interrupted run are kept
        atomic_write(u.path, lambda tmp: synthesize(voice, u.text, tmp, rate_jitter, pitch_jitter))
    u.num_samples = sf.info(str(u.path)).frames
    return u


def _split(utts: List[Utterance], spec: CorpusSpec) -> Dict[str, List[Utterance]]:
    order = list(range(len(utts)))
    random.Random(spec.seed + 1).shuffle(order)
    n_dev = max(1, round(len(utts) * spec.split_fractions[1]))
    n_test = max(1, round(len(utts) * spec.split_fractions[2]))
    n_train = len(utts) - n_dev - n_test
    if n_train < 1:
        raise ValueError(f"{len(utts)} utterances are too few for train/dev/test splits")
    parts = {"train": order[:n_train], "dev": order[n_train:n_train + n_dev], "test": order[n_train + n_dev:]}
    return {name: sorted((utts[i] for i in idx), key=lambda u: u.utt_id) for name, idx in parts.items()}


def _labelled_subset(train: List[Utterance], spec: CorpusSpec) -> List[Utterance]:
    order = list(train)
    random.Random(spec.seed + 2).shuffle(order)
    chosen, seconds = [], 0.0
    for u in order:
        if seconds >= spec.labelled_minutes * 60:
            break
        chosen.append(u)
        seconds += u.num_samples / 16000
    return sorted(chosen, key=lambda u: u.utt_id)


def _write_kaldi_dir(d: Path, utts: List[Utterance]) -> None:
    write_kaldi_file(d / "wav.scp", [(u.utt_id, str(u.path)) for u in utts])
    write_kaldi_file(d / "text", [(u.utt_id, u.text) for u in utts])
    write_kaldi_file(d / "utt2spk", [(u.utt_id, u.speaker) for u in utts])
    write_kaldi_file(d / "utt2num_samples", [(u.utt_id, str(u.num_samples)) for u in utts])
    spk2utt: Dict[str, List[str]] = {}
    for u in utts:
        spk2utt.setdefault(u.speaker, []).append(u.utt_id)
    write_kaldi_file(d / "spk2utt", [(s, " ".join(sorted(v))) for s, v in spk2utt.items()])


def write_librispeech_layout(root: Path, splits: Dict[str, List[Utterance]], voices: List[Voice], progress: bool) -> None:
    """Mirror the splits as LibriSpeech's seven parts (FLAC + ``*.trans.txt``), as LibriSpeech
    recipes and s3prl's SUPERB ASR expect.

    Utterance k of a split (in id order) goes to part ``k mod n`` of its
    :data:`LIBRISPEECH_SPLITS` entry. Speaker ``i`` of ``voices`` becomes LibriSpeech speaker
    ``100 + i``; each part is one chapter per speaker (chapter = 1 + the part's position in the
    list of all seven). ``SPEAKERS.TXT`` lists them (s3prl's LibriSpeech reader parses it for sex).
    """
    numeric = {v.speaker: 100 + i for i, v in enumerate(voices)}
    root.mkdir(parents=True, exist_ok=True)
    first = LIBRISPEECH_SPLITS["train"][0]
    lines = [f"{numeric[v.speaker]:<4} | {v.sex} | {first:<16} | 0.00 | {v.speaker} ({v.engine} {v.name})\n"
             for v in voices]
    (root / "SPEAKERS.TXT").write_text(";ID  |SEX| SUBSET           |MINUTES| NAME\n" + "".join(lines))
    parts = [p for split in SPLITS for p in LIBRISPEECH_SPLITS[split]]
    for split, utts in splits.items():
        names = LIBRISPEECH_SPLITS[split]
        for k, part in enumerate(names):
            chapter = parts.index(part) + 1
            by_spk: Dict[str, List[Utterance]] = {}
            for u in utts[k::len(names)]:
                by_spk.setdefault(u.speaker, []).append(u)
            for spk, members in tqdm(sorted(by_spk.items()), desc=f"LibriSpeech {part}", disable=not progress):
                sid = numeric[spk]
                d = root / part / str(sid) / str(chapter)
                d.mkdir(parents=True, exist_ok=True)
                lines = []
                for n, u in enumerate(members):
                    name = f"{sid}-{chapter}-{n:04d}"
                    data, rate = sf.read(str(u.path), dtype="int16")
                    sf.write(str(d / f"{name}.flac"), data, rate, subtype="PCM_16")
                    lines.append(f"{name} {u.text}\n")
                (d / f"{sid}-{chapter}.trans.txt").write_text("".join(lines))


def _stats(utts: List[Utterance]) -> Dict:
    seconds = sum(u.num_samples for u in utts) / 16000
    return {
        "num_utts": len(utts),
        "hours": round(seconds / 3600, 4),
        "mean_seconds": round(seconds / max(len(utts), 1), 3),
        "speakers": len({u.speaker for u in utts}),
    }


def _tool_versions(voices: List[Voice]) -> Dict[str, str]:
    versions = {}
    for tool, args in (("flite", ["--version"]), ("espeak-ng", ["--version"]), ("sox", ["--version"])):
        if tool == "flite" and not any(v.engine == "flite" for v in voices):
            continue
        try:
            proc = subprocess.run([tool, *args], capture_output=True, text=True, check=False)
            versions[tool] = (proc.stdout or proc.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            versions[tool] = "unknown"
    return versions
