"""Kaldi-style data directories: ``wav.scp``, ``text``, ``utt2spk``.

The format is the one ESPnet2 recipes use: one ``<utt-id> <value>`` pair per
line, files sorted by utterance id (``LC_ALL=C sort``, i.e. byte order).
:func:`read_data_dir` reads a directory into a :class:`DataDir`, and
:func:`validate_data_dir` checks it, raising one :class:`DataDirError` that
lists the first offenders of every problem found and their count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from espnet_distill.common import Pathlike
from espnet_distill.data.audio import AudioError, audio_info


#: How many offending ids an error message shows per problem.
MAX_SHOWN = 5


class DataDirError(ValueError):
    """A Kaldi-style data directory is malformed; the message names files and ids."""


@dataclass
class DataDir:
    """The contents of a Kaldi-style data directory, in file order."""

    path: Path
    wav_scp: List[Tuple[str, str]]
    text: Optional[List[Tuple[str, str]]] = None
    utt2spk: Optional[List[Tuple[str, str]]] = None
    _wav: Dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._wav = dict(self.wav_scp)

    @property
    def utt_ids(self) -> List[str]:
        """Utterance ids in ``wav.scp`` order."""
        return [utt for utt, _ in self.wav_scp]

    def wav_path(self, utt_id: str) -> Path:
        """Audio path of ``utt_id``; relative entries are resolved against the cwd, as in ESPnet."""
        return Path(self._wav[utt_id])

    def texts(self) -> Dict[str, str]:
        """``utt-id -> transcript``; empty if the directory has no ``text``."""
        return dict(self.text or [])

    def __len__(self) -> int:
        return len(self.wav_scp)


def read_kaldi_file(path: Pathlike, *, allow_empty_value: bool = False) -> List[Tuple[str, str]]:
    """Read ``<id> <value>`` lines; the value is the rest of the line.

    Raises:
        DataDirError: a line with no id, or (unless allowed) no value.
    """
    path = Path(path)
    entries: List[Tuple[str, str]] = []
    bad: List[str] = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                bad.append(f"line {lineno}: empty")
                continue
            parts = line.split(maxsplit=1)
            if len(parts) == 1 and not allow_empty_value:
                bad.append(f"line {lineno}: '{parts[0]}' has no value")
                continue
            entries.append((parts[0], parts[1].strip() if len(parts) > 1 else ""))
    if bad:
        raise DataDirError(_problem(f"{path}: malformed lines", bad))
    return entries


def write_kaldi_file(path: Pathlike, entries: Iterable[Tuple[str, str]]) -> None:
    """Write ``<id> <value>`` lines sorted by id in byte order, as ``LC_ALL=C sort`` does."""
    rows = sorted(entries, key=lambda kv: kv[0].encode("utf-8"))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with Path(path).open("w", encoding="utf-8") as f:
        for key, value in rows:
            f.write(f"{key} {value}\n")


def read_data_dir(path: Pathlike) -> DataDir:
    """Read ``wav.scp`` and, when present, ``text`` and ``utt2spk`` from ``path``."""
    path = Path(path)
    if not path.is_dir():
        raise DataDirError(f"{path}: data directory does not exist")
    if not (path / "wav.scp").is_file():
        raise DataDirError(f"{path}: no wav.scp in the data directory")
    text = path / "text"
    utt2spk = path / "utt2spk"
    return DataDir(
        path=path,
        wav_scp=read_kaldi_file(path / "wav.scp"),
        text=read_kaldi_file(text, allow_empty_value=True) if text.is_file() else None,
        utt2spk=read_kaldi_file(utt2spk) if utt2spk.is_file() else None,
    )


def validate_data_dir(path: Pathlike, *, check_audio: bool = True, require_text: bool = False) -> DataDir:
    """Read and check a data directory; return it if everything holds.

    Checks: duplicate ids in each file; every file sorted by id (byte order);
    ids of ``text`` and ``utt2spk`` present in ``wav.scp`` (and, for ``text``, the
    reverse); pipe commands in ``wav.scp`` (unsupported); and with ``check_audio``
    that every audio file exists and has a readable header.

    Raises:
        DataDirError: listing, per problem, the first :data:`MAX_SHOWN` offenders
            and how many there are in all.
    """
    data = read_data_dir(path)
    if require_text and data.text is None:
        raise DataDirError(f"{data.path}: no text file, but transcripts are required")
    problems: List[str] = []
    files = {"wav.scp": data.wav_scp, "text": data.text, "utt2spk": data.utt2spk}
    for name, entries in files.items():
        if entries is None:
            continue
        ids = [k for k, _ in entries]
        dups = _duplicates(ids)
        if dups:
            problems.append(_problem(f"{name}: duplicate utterance ids", dups))
        unsorted = [b for a, b in zip(ids, ids[1:]) if a.encode() > b.encode()]
        if unsorted:
            problems.append(_problem(f"{name}: not sorted by id (LC_ALL=C sort); out of order", unsorted))
    wav_ids = set(data.utt_ids)
    for name in ("text", "utt2spk"):
        entries = files[name]
        if entries is not None:
            missing = [k for k, _ in entries if k not in wav_ids]
            if missing:
                problems.append(_problem(f"{name}: ids missing from wav.scp", missing))
    if data.text is not None:
        text_ids = {k for k, _ in data.text}
        no_text = [k for k in data.utt_ids if k not in text_ids]
        if no_text:
            problems.append(_problem("wav.scp: ids with no transcript in text", no_text))
    pipes = [k for k, v in data.wav_scp if v.rstrip().endswith("|")]
    if pipes:
        problems.append(
            _problem("wav.scp: pipe commands are not supported, convert to files first", pipes)
        )
    if check_audio:
        bad_audio = []
        for utt, value in data.wav_scp:
            if value.rstrip().endswith("|"):
                continue
            try:
                audio_info(value)
            except AudioError as err:
                bad_audio.append(f"{utt} ({err})")
        if bad_audio:
            problems.append(_problem("wav.scp: missing or unreadable audio", bad_audio))
    if problems:
        raise DataDirError(f"{data.path}: invalid data directory\n  " + "\n  ".join(problems))
    return data


def _duplicates(ids: Sequence[str]) -> List[str]:
    seen, dups = set(), []
    for i in ids:
        if i in seen and i not in dups:
            dups.append(i)
        seen.add(i)
    return dups


def _problem(title: str, offenders: Sequence[str]) -> str:
    shown = ", ".join(offenders[:MAX_SHOWN])
    more = f", ... ({len(offenders)} in all)" if len(offenders) > MAX_SHOWN else f" ({len(offenders)} in all)"
    return f"{title}: {shown}{more}"
