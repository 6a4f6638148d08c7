"""What s3prl's legacy SUPERB ASR runner needs beyond the pip package.

``run_downstream.py -d asr`` reads a config (``-c``), a character dictionary and
per-split length tables (``bucket_file``, made in s3prl's source tree by
``preprocess/generate_len_for_bucket.py``); the pip package has none of them. This
module finds the project's own config and dictionary (package data in ``espnet_distill/s3prl/resources``), writes the
length tables for a LibriSpeech-layout directory, and resolves a config's paths.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Dict, Iterable, List

import yaml

from espnet_distill.common import Pathlike

_LG = logging.getLogger(__name__)


#: The datarc keys of s3prl's ASR downstream that are not split names.
_NON_SPLIT_KEYS = {"libri_root", "bucket_file", "dict_path", "batch_size", "eval_batch_size", "num_workers",
                   "zero_infinity", "decoder_args", "bucket_size"}
_AUDIO_SUFFIXES = (".flac", ".wav")


def conf_dir() -> Path:
    """The directory holding ``superb_asr.yaml`` and ``char.dict`` (package data, written
    by this project: s3prl's pip package ships neither).

    Raises:
        FileNotFoundError: the package was installed without its data files.
    """
    path = Path(__file__).resolve().parent / "resources"
    if not (path / "superb_asr.yaml").is_file() or not (path / "char.dict").is_file():
        raise FileNotFoundError(
            f"{path}: espnet_distill's SUPERB config (superb_asr.yaml, char.dict) is missing; "
            "reinstall espnet-distill (its package data was not installed)"
        )
    return path


def load_config(path: Pathlike) -> dict:
    """A runner config with ``dict_path`` resolved against the config's directory."""
    path = Path(path)
    config = yaml.safe_load(path.read_text())
    datarc = _datarc(config, path)
    dict_path = datarc.get("dict_path")
    if dict_path and not Path(dict_path).is_absolute():
        datarc["dict_path"] = str((path.parent / dict_path).resolve())
    return config


def split_names(datarc: dict) -> List[str]:
    """LibriSpeech split directories a datarc reads (``train``, ``dev-clean``, ... values)."""
    names: List[str] = []
    for key, value in datarc.items():
        if key in _NON_SPLIT_KEYS or not isinstance(value, list):
            continue
        names += [v for v in value if v not in names]
    return names


def write_length_tables(libri_root: Pathlike, splits: Iterable[str], out_dir: Pathlike) -> Path:
    """Write ``<out_dir>/<split>.csv`` (``file_path,length``) for s3prl's ASR dataset.

    ``file_path`` is relative to ``libri_root`` (``<split>/<speaker>/<chapter>/<utt>.flac``),
    ``length`` the number of samples; rows are sorted by decreasing length.

    Raises:
        FileNotFoundError: a split directory is missing or holds no audio.
    """
    import soundfile

    root, out = Path(libri_root), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for split in splits:
        files = sorted(p for p in (root / split).glob("*/*/*") if p.suffix in _AUDIO_SUFFIXES)
        if not files:
            raise FileNotFoundError(
                f"no LibriSpeech audio under {root / split} (expected {split}/<speaker>/<chapter>/<utt>.flac)"
            )
        rows = sorted(((str(p.relative_to(root)), soundfile.info(str(p)).frames) for p in files),
                      key=lambda row: -row[1])
        with open(out / f"{split}.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["file_path", "length"])
            writer.writerows(rows)
        _LG.info("length table %s: %d utterances", out / f"{split}.csv", len(rows))
    return out


def prepare_asr_config(config: dict, libri_root: Pathlike, bucket_dir: Pathlike) -> Dict:
    """Point an ASR runner config at ``libri_root`` and fresh length tables in ``bucket_dir``.

    Returns:
        ``config``, modified in place.
    """
    datarc = _datarc(config, "config")
    root = Path(libri_root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"--libri_root {libri_root}: no such directory (expected a LibriSpeech-layout root)")
    datarc["libri_root"] = str(root)
    datarc["bucket_file"] = str(write_length_tables(root, split_names(datarc), bucket_dir).resolve())
    return config


def _datarc(config, where) -> dict:
    try:
        datarc = config["downstream_expert"]["datarc"]
    except (KeyError, TypeError):
        raise ValueError(f"{where}: not an s3prl ASR runner config (expected downstream_expert.datarc)") from None
    if not isinstance(datarc, dict):
        raise ValueError(f"{where}: downstream_expert.datarc must be a mapping, found {type(datarc).__name__}")
    return datarc
