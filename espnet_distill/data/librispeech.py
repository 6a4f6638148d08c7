"""LibriSpeech-layout trees (``<spk>/<chapter>/<spk>-<chapter>-<n>.flac`` + ``*.trans.txt``) to Kaldi dirs.

Works for LibriSpeech's parts, for Libri-light's fine-tuning sets (``1h/<fold>/{clean,other}/...``,
found recursively) and for the synthetic corpus written with ``--layout librispeech``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, Iterable, Tuple

import soundfile as sf

from espnet_distill.common import Pathlike
from espnet_distill.data.kaldi_dir import DataDirError, write_kaldi_file

_LG = logging.getLogger(__name__)

#: LibriSpeech's parts and their download URLs (OpenSLR 12), for users with network.
OPENSLR_URL = "https://www.openslr.org/resources/12/{part}.tar.gz"
LIBRILIGHT_FINETUNING_URL = "https://dl.fbaipublicfiles.com/librilight/data/librispeech_finetuning.tgz"


def collect_utterances(dirs: Iterable[Pathlike]) -> Dict[str, Tuple[Path, str]]:
    """``utt-id -> (audio path, transcript)`` from every ``*.trans.txt`` under ``dirs``.

    Raises:
        DataDirError: a directory without transcripts, a listed file that is missing, or
            an utterance id that occurs twice.
    """
    utts: Dict[str, Tuple[Path, str]] = {}
    for root in dirs:
        trans_files = sorted(Path(root).rglob("*.trans.txt"))
        if not trans_files:
            raise DataDirError(f"{root}: no *.trans.txt below it (expected the LibriSpeech layout)")
        for trans in trans_files:
            for line in trans.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                utt, _, text = line.partition(" ")
                audio = trans.parent / f"{utt}.flac"
                if not audio.is_file():
                    raise DataDirError(f"{trans} lists {utt}, but {audio} does not exist")
                if utt in utts:
                    raise DataDirError(f"utterance {utt} occurs twice (again in {trans})")
                utts[utt] = (audio.resolve(), text.strip())
    return utts


def prepare_librispeech(dirs: Iterable[Pathlike], out: Pathlike, *, num_samples: bool = True) -> int:
    """Write ``wav.scp text utt2spk spk2utt`` (and ``utt2num_samples``) for ``dirs`` into ``out``.

    Returns:
        The number of utterances.
    """
    utts = collect_utterances(dirs)
    out = Path(out)
    speakers: Dict[str, list] = {}
    for utt in utts:
        speakers.setdefault(utt.split("-")[0], []).append(utt)
    write_kaldi_file(out / "wav.scp", [(u, str(p)) for u, (p, _) in utts.items()])
    write_kaldi_file(out / "text", [(u, t) for u, (_, t) in utts.items()])
    write_kaldi_file(out / "utt2spk", [(u, u.split("-")[0]) for u in utts])
    write_kaldi_file(out / "spk2utt", [(s, " ".join(sorted(us, key=str.encode))) for s, us in speakers.items()])
    if num_samples:
        write_kaldi_file(out / "utt2num_samples", [(u, str(sf.info(str(p)).frames)) for u, (p, _) in utts.items()])
    _LG.info("%s: %d utterances, %d speakers", out, len(utts), len(speakers))
    return len(utts)
