"""Check that an exported student reproduces the trained one's hidden states."""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import List

import torch

from espnet_distill.student import StudentModel, load_student

_LG = logging.getLogger(__name__)


class ExportMismatchError(ValueError):
    """An export does not reproduce the student; it should not be used."""


def _probe(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn(2, 24_000, generator=g)


def _compare(name: str, ours: List[torch.Tensor], theirs: List[torch.Tensor], tol: float) -> float:
    if len(ours) != len(theirs):
        raise ExportMismatchError(f"{name}: {len(theirs)} hidden states, expected {len(ours)}")
    worst = 0.0
    for k, (a, b) in enumerate(zip(ours, theirs)):
        b = b[:, : a.shape[1]]  # s3prl pads one frame more than the CNN yields
        if a.shape != b.shape:
            raise ExportMismatchError(f"{name}: hidden state {k} has shape {tuple(b.shape)}, expected {tuple(a.shape)}")
        worst = max(worst, float((a - b).abs().max()))
    if worst > tol:
        raise ExportMismatchError(f"{name}: hidden states differ by {worst:.2e} > {tol:.0e}")
    _LG.info("%s export reproduces the student (max abs diff %.2e)", name, worst)
    return worst


def _reference(student: StudentModel, wavs: torch.Tensor) -> List[torch.Tensor]:
    with torch.no_grad():
        return student.without_heads().eval()(wavs).hidden_states


def verify_student_checkpoint(student: StudentModel, path: Path, tol: float = 1e-4) -> float:
    """``load_student(path)`` (weights_only, strict) gives the same hidden states."""
    wavs = _probe()
    with torch.no_grad():
        loaded = load_student(path).eval()(wavs).hidden_states
    return _compare("espnet_distill checkpoint", _reference(student, wavs), loaded, tol)


def verify_s3prl(student: StudentModel, path: Path, tol: float = 1e-4) -> float:
    """s3prl's own ``S3PRLUpstream("distiller_local")`` on the exported file."""
    from s3prl.nn import S3PRLUpstream

    wavs = _probe()
    with contextlib.redirect_stdout(sys.stderr):  # s3prl prints its progress; stdout stays ours
        upstream = S3PRLUpstream("distiller_local", path_or_url=str(path)).eval()
    with torch.no_grad():
        states = upstream.upstream([w for w in wavs])["hidden_states"]
    ours = _reference(student, wavs)
    return _compare("s3prl distiller", ours + ours, states, tol)


def verify_hf(student: StudentModel, directory: Path, tol: float = 1e-4) -> float:
    """transformers' ``HubertModel.from_pretrained`` on the exported directory (layers 1..L)."""
    from transformers import HubertModel

    wavs = _probe()
    model = HubertModel.from_pretrained(str(directory), local_files_only=True).eval()
    with torch.no_grad():
        states = list(model(wavs, output_hidden_states=True).hidden_states)
    return _compare("HF HubertModel", _reference(student, wavs)[1:], states[1:], tol)
