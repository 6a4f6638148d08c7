"""What kind of file a path is, so that a loader given the wrong one can say what it got.

Students, teachers, training checkpoints and CMVN statistics are easy to mix up: all are
``.pth`` / ``.pt`` / ``.npz`` files in experiment directories. :func:`describe` looks at a path
(safely: ``torch.load(weights_only=True)`` with the teacher loader's allow-list, ``np.load``
without pickles) and returns a :class:`Kind`; :func:`advice` turns it into the sentence a
loader adds to its error: what the file is and what to do with it instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from espnet_distill.common import Pathlike


STUDENT = "student"
TEACHER = "teacher"
DISTILL_EXP = "distill_experiment"
DISTILL_MODEL = "distill_model"
TRAINER_CHECKPOINT = "trainer_checkpoint"
ASR = "asr"
CMVN = "cmvn"
ESPNET_STATS = "espnet_stats"
TEXT = "text"


@dataclass(frozen=True)
class Kind:
    """``name`` is one of the constants above; ``what`` is how to call it in a sentence."""

    name: str
    what: str


def describe(path: Pathlike) -> Optional[Kind]:
    """The kind of ``path``, or None when it is none of the kinds known here."""
    path = Path(path)
    try:
        if path.is_dir():
            return _describe_dir(path)
        if not path.is_file():
            return None
        with path.open("rb") as f:
            head = f.read(512)
        if head.startswith(b"PK\x03\x04") and path.suffix == ".npz":
            return _describe_npz(path)
        if head.startswith((b"PK\x03\x04", b"\x80")):
            return _describe_torch(path)
        if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
            return Kind(TEXT, "a text file")
    except Exception:  # noqa: BLE001 - only used to improve another error's message
        return None
    return None


def _describe_dir(path: Path) -> Optional[Kind]:
    import yaml

    config = path / "config.yaml"
    if (path / "config.json").is_file():
        return Kind(TEACHER, "a HuggingFace model directory (a teacher)")
    if not config.is_file():
        return None
    conf = yaml.safe_load(config.read_text()) or {}
    if "distill_conf" in conf:
        return Kind(DISTILL_EXP, "a distillation experiment directory (DistillTask)")
    if conf.get("encoder") in ("torchaudio_hubert", "hubert_pretrain"):
        return Kind(TEACHER, "an ESPnet HuBERT pre-training experiment (a teacher)")
    if conf.get("frontend") is not None or "token_list" in conf:
        return Kind(ASR, "an ESPnet ASR experiment directory")
    return None


def _describe_npz(path: Path) -> Optional[Kind]:
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        keys = set(data.files)
    if {"mean", "std"} <= keys:
        return Kind(CMVN, "CMVN statistics written by compute_cmvn")
    if {"count", "sum", "sum_square"} <= keys:
        return Kind(ESPNET_STATS, "ESPnet's global_mvn statistics (feats_stats.npz of asr.sh's stage 10)")
    return None


def _describe_torch(path: Path) -> Optional[Kind]:
    from espnet_distill.teacher.checkpoint_io import read_torch_file

    obj: Any = read_torch_file(path)
    if not isinstance(obj, dict):
        return None
    if obj.get("format") == "espnet_distill.student":
        return Kind(STUDENT, "an espnet_distill student checkpoint")
    if obj.get("format") == "torchaudio" and isinstance(obj.get("state_dict"), dict):
        return Kind(TEACHER, "a torchaudio HuBERT checkpoint (a teacher)")
    if "model" in obj and ("cfg" in obj or "args" in obj):
        return Kind(TEACHER, "a fairseq checkpoint (a teacher)")
    if {"task_cfg", "model_cfg", "model_weight"} <= set(obj):
        return Kind(TEACHER, "an s3prl-converted HuBERT checkpoint (a teacher)")
    state = obj.get("model") if isinstance(obj.get("model"), dict) and "optimizers" in obj else obj
    keys = [k for k in state if isinstance(k, str)]
    if state is not obj:
        if any(k.startswith("student.") for k in keys):
            return Kind(TRAINER_CHECKPOINT, "an ESPnet training checkpoint (checkpoint.pth) of a distillation run")
        return Kind(TRAINER_CHECKPOINT, "an ESPnet training checkpoint (checkpoint.pth)")
    if keys and all(k.startswith("student.") or k in ("num_forwards", "num_nonfinite") for k in keys):
        return Kind(DISTILL_MODEL, "a model file of a distillation run (DistillTask's state dict)")
    if any(k.startswith("frontend.student.") for k in keys):
        return Kind(ASR, "an ESPnet ASR model file with a student front end")
    if any(k.startswith(("encoder.hubert_pretrain_model.", "encoder.encoder.")) for k in keys):
        return Kind(TEACHER, "an ESPnet HuBERT model file (a teacher)")
    if any(k.startswith(("feature_extractor.", "encoder.transformer.")) for k in keys):
        return Kind(TEACHER, "a torchaudio HuBERT / wav2vec 2.0 state dict (a teacher)")
    return None


def advice(path: Pathlike, expected: str) -> str:
    """``it is ...; do ...``: what ``path`` is and what to do, for a loader that wanted ``expected``
    (``student``, ``teacher`` or ``cmvn``); empty when nothing useful can be said."""
    kind = describe(path)
    if kind is None or kind.name == expected:
        return ""
    export = "export its student first: python -m espnet_distill.bin.export_student <experiment dir> --out student.pth"
    todo = {
        STUDENT: {TEACHER: "a student is what distillation makes; give the HuBERT it was distilled from "
                           "(its distill_provenance.yaml names it)",
                  CMVN: "a fbank student carries its CMVN statistics inside; compute new ones with "
                        "python -m espnet_distill.bin.compute_cmvn"},
        TEACHER: {STUDENT: "distil a student from it first (python -m espnet_distill.bin.distill_train "
                           "--teacher <it>), then export the student"},
        DISTILL_EXP: {STUDENT: export, TEACHER: "its teacher is named in its distill_provenance.yaml"},
        DISTILL_MODEL: {STUDENT: export},
        TRAINER_CHECKPOINT: {STUDENT: export},
        ASR: {STUDENT: "the student inside it was fine-tuned for ASR; the distilled one is the file its config "
                       "names under frontend_conf.student"},
        ESPNET_STATS: {CMVN: "those are statistics of other features; compute the student's with "
                             "python -m espnet_distill.bin.compute_cmvn --data-dir <train set>"},
        TEXT: {CMVN: "CMVN statistics are an .npz file written by python -m espnet_distill.bin.compute_cmvn"},
    }
    hint = todo.get(kind.name, {}).get(expected, "")
    return f"it is {kind.what}" + (f"; {hint}" if hint else "")


def wrong_kind_message(path: Pathlike, expected: str, what: str, error: Exception) -> Optional[str]:
    """The message for a loader of ``what`` (e.g. "a teacher checkpoint") that failed on ``path``
    because it is another kind of file; None when :func:`describe` does not know better."""
    hint = advice(path, expected)
    if not hint:
        return None
    said = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    said = said if len(said) <= 400 else said[:397] + "..."  # keep what the loader found
    return f"{path} is not {what}: {hint}. (The loader said: {said})"
