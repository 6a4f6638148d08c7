"""Check distillation audio before training starts, not deep inside a data-loader worker.

Every ``sound`` entry of ``--{train,valid}_data_path_and_name_and_type`` is checked from
its header: the file exists and parses, is not a cut-short WAV, is mono, is 16 kHz and has
at least ``min_samples`` samples; with ``decode=True`` every file is also decoded, so that
NaN / infinite samples are found before training too. With ``policy="error"`` any bad utterance stops the run with a
message naming the first offenders; with ``policy="skip"`` they are dropped from
filtered copies of the scp and shape files written under the experiment directory,
counted and logged.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from espnet_distill.data.audio import AudioError, audio_info, load_audio
from espnet_distill.data.kaldi_dir import read_kaldi_file, write_kaldi_file

_LG = logging.getLogger(__name__)
MAX_SHOWN = 5


class BadUtteranceError(ValueError):
    """Unusable utterances were found and the policy is ``error``."""


@dataclass
class CheckReport:
    """Outcome of one scp check: ``bad`` maps utterance id -> reason."""

    scp: Path
    num_utts: int
    bad: Dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        shown = "; ".join(f"{u}: {r}" for u, r in list(self.bad.items())[:MAX_SHOWN])
        return f"{self.scp}: {len(self.bad)} of {self.num_utts} utterances unusable ({shown}{' ...' if len(self.bad) > MAX_SHOWN else ''})"


def check_scp(scp: Path, *, sample_rate: int = 16000, min_samples: int = 400, jobs: int = 8,
              decode: bool = False) -> CheckReport:
    """Check every utterance of a ``wav.scp`` from its audio header (and its samples with ``decode``)."""
    entries = read_kaldi_file(scp)

    def one(entry: Tuple[str, str]) -> Optional[Tuple[str, str]]:
        uid, path = entry
        if path.rstrip().endswith("|"):
            return uid, "pipe commands are not supported, convert to files first"
        try:
            info = audio_info(path)
        except AudioError as err:
            return uid, str(err)
        if info.num_channels != 1:
            return uid, f"{path}: expected mono audio, found {info.num_channels} channels"
        if info.sample_rate != sample_rate:
            return uid, f"{path}: expected {sample_rate} Hz, found {info.sample_rate} Hz"
        if info.num_samples < min_samples:
            return uid, f"{path}: too short, {info.num_samples} samples; at least {min_samples} needed"
        if decode:
            try:
                load_audio(path, sample_rate=sample_rate, min_samples=min_samples)
            except AudioError as err:
                return uid, str(err)
        return None

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(one, entries))
    return CheckReport(scp=Path(scp), num_utts=len(entries), bad=dict(r for r in results if r is not None))


def check_and_filter(
    data_triplets: Sequence[Sequence[str]],
    shape_files: Sequence[str],
    out_dir: Path,
    *,
    policy: str = "error",
    min_samples: int = 400,
    decode: bool = False,
) -> Tuple[List[Tuple[str, str, str]], List[str], List[CheckReport]]:
    """Check the ``sound`` entries of ``data_triplets`` (``(path, name, type)``, as ESPnet parses them).

    Returns:
        The (possibly rewritten) triplets and shape files to train with, and the reports.

    Raises:
        BadUtteranceError: with ``policy="error"`` and any bad utterance.
    """
    if policy not in ("error", "skip"):
        raise ValueError(f"bad-utterance policy must be 'error' or 'skip', got {policy!r}")
    reports, bad_ids = [], set()
    triplets = [tuple(t.split(",")) if isinstance(t, str) else tuple(t) for t in data_triplets]
    for path, _name, kind in triplets:
        if kind == "sound":
            report = check_scp(Path(path), min_samples=min_samples, decode=decode)
            reports.append(report)
            bad_ids |= set(report.bad)
    problems = [r for r in reports if r.bad]
    if not problems:
        return triplets, list(shape_files), reports
    if policy == "error":
        raise BadUtteranceError(
            "unusable audio (fix the data, or pass --bad_utterance skip to drop and count these):\n  "
            + "\n  ".join(r.summary() for r in problems)
        )
    for r in problems:
        _LG.warning("skipping %s", r.summary())
    out_dir.mkdir(parents=True, exist_ok=True)
    new_triplets = [(_filtered(path, out_dir, bad_ids), name, kind) for path, name, kind in triplets]
    new_shapes = [_filtered(s, out_dir, bad_ids) for s in shape_files]
    _LG.warning("skipped %d utterances in all; filtered lists are in %s", len(bad_ids), out_dir)
    return new_triplets, new_shapes, reports


def _filtered(path: str, out_dir: Path, bad_ids: set) -> str:
    entries = read_kaldi_file(path, allow_empty_value=True)
    kept = [(k, v) for k, v in entries if k not in bad_ids]
    if not kept:
        raise BadUtteranceError(f"{path}: every utterance is unusable")
    target = out_dir / (Path(path).parent.name + "_" + Path(path).name)
    write_kaldi_file(target, kept)
    return str(target)
