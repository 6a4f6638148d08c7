"""s3prl-converted HuBERT checkpoints (what s3prl's ``hubert_local`` / ``hubert_url`` upstreams read).

s3prl's ``upstream/hubert/convert.py`` turns a fairseq checkpoint into a dict of plain
Python types and tensors::

    {"task_cfg": {fairseq HubertPretrainingConfig fields},
     "model_cfg": {fairseq HubertConfig fields},
     "model_weight": {fairseq parameter name: tensor},
     "dictionaries_symbols": [[symbol, ...]]}

so it is a fairseq checkpoint without pickled classes, loaded here with the fairseq
config reader and key map (and written by :func:`save_s3prl_checkpoint` with their inverse).
``task_cfg.normalize`` sets waveform normalisation.

s3prl's own hidden states for this model are the inputs of every transformer layer plus
the encoder output, i.e. the same L + 1 states as :class:`~espnet_distill.teacher.base.TeacherOutput`
(index k = output of layer k, 1-based; index 0 = transformer input).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

from espnet_distill.common import Pathlike
from espnet_distill.teacher.base import Teacher
from espnet_distill.teacher.checkpoint_io import FairseqDictionary, read_torch_file, write_torch_file
from espnet_distill.teacher.config import TeacherFormatError
from espnet_distill.teacher.fairseq import teacher_from_fairseq, teacher_to_fairseq

_LG = logging.getLogger(__name__)

S3PRL_KEYS = ("task_cfg", "model_cfg", "model_weight", "dictionaries_symbols")


def looks_like_s3prl(obj: Any) -> bool:
    return isinstance(obj, dict) and all(k in obj for k in S3PRL_KEYS)


def load_s3prl(path: Path, *, obj: Any = None, normalize_waveform: Optional[bool] = None) -> Teacher:
    """Load an s3prl-converted HuBERT file.

    Args:
        path: the converted ``.pt`` file.
        obj: its contents when already read.
        normalize_waveform: override of ``task_cfg.normalize``.
    """
    path = Path(path)
    what = f"s3prl-converted checkpoint {path}"
    obj = read_torch_file(path) if obj is None else obj
    if not looks_like_s3prl(obj):
        found = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        missing = [k for k in S3PRL_KEYS if not isinstance(obj, dict) or k not in obj]
        raise TeacherFormatError(f"{path} is not an s3prl-converted HuBERT: missing keys {missing} (found {found})")
    symbols = obj["dictionaries_symbols"]
    if len(symbols) > 1:
        raise TeacherFormatError(f"{what}: {len(symbols)} label dictionaries; only single-target HuBERT is supported")
    return teacher_from_fairseq(
        obj["model_cfg"],
        obj["task_cfg"],
        obj["model_weight"],
        what=what,
        source=str(path),
        source_format="s3prl",
        num_units=len(symbols[0]) if symbols else None,
        normalize_waveform=normalize_waveform,
    )


def save_s3prl_checkpoint(teacher: Teacher, path: Pathlike) -> Path:
    """Write a HuBERT teacher in s3prl's converted layout (what s3prl's ``hubert_local`` reads), with
    the fairseq names and configs of :func:`~espnet_distill.teacher.fairseq.teacher_to_fairseq`."""
    model_cfg, task_cfg, weights = teacher_to_fairseq(teacher)
    symbols = FairseqDictionary.for_units(teacher.num_units).symbols
    return write_torch_file(
        path, {"task_cfg": task_cfg, "model_cfg": model_cfg, "model_weight": weights, "dictionaries_symbols": [symbols]}
    )
