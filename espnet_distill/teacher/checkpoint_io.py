"""Reading checkpoint files safely: ``torch.load(weights_only=True)`` plus an explicit allow-list.

Nothing here runs pickled code. Files written by ``torch.save`` are read with
``weights_only=True``; the only non-tensor classes accepted are ``argparse.Namespace``
(fairseq's older ``args``) and stand-ins for fairseq classes that HuBERT checkpoints
pickle (``fairseq.data.dictionary.Dictionary`` in ``task_state``), which are rebuilt as
plain attribute holders (:class:`FairseqDictionary`) without importing fairseq. Any
other class is refused with an error naming it.
"""

from __future__ import annotations

import argparse
import json
import logging
import pickle
import zipfile
from pathlib import Path
from typing import Any, Dict, List

import torch
from torch import Tensor

from espnet_distill.teacher.config import TeacherFormatError

_LG = logging.getLogger(__name__)


class FairseqDictionary:
    """Stand-in for ``fairseq.data.dictionary.Dictionary``: keeps its pickled attributes.

    fairseq's dictionary has ``symbols`` (4 specials ``<s> <pad> </s> <unk>`` then the
    labels), ``count``, ``indices``, ``bos_index`` ... Only ``symbols`` is used here.
    """

    symbols: List[str]

    def __len__(self) -> int:
        return len(getattr(self, "symbols", []))

    def __repr__(self) -> str:
        return f"FairseqDictionary({len(self)} symbols)"


#: ``(stand-in class, pickled global name)`` pairs accepted by :func:`read_torch_file`.
FAIRSEQ_ALLOWED_GLOBALS = [(FairseqDictionary, "fairseq.data.dictionary.Dictionary")]
ALLOWED_GLOBALS = [argparse.Namespace, *FAIRSEQ_ALLOWED_GLOBALS]

_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTO = b"\x80"


def file_kind(path: Path) -> str:
    """``torch-zip``, ``torch-legacy``, ``safetensors``, ``json``, ``yaml`` or ``unknown``."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(_ZIP_MAGIC):
        return "torch-zip"
    if head.startswith(_PICKLE_PROTO):
        return "torch-legacy"
    if len(head) >= 9 and head[8:9] == b"{" and 0 < int.from_bytes(head[:8], "little") < path.stat().st_size:
        return "safetensors"  # an 8-byte header length, then the JSON header
    if path.suffix == ".json":
        return "json"
    if path.suffix in (".yaml", ".yml"):
        return "yaml"
    return "unknown"


def _not_a_checkpoint(path: Path, why: str) -> TeacherFormatError:
    with open(path, "rb") as f:
        head = f.read(24)
    return TeacherFormatError(
        f"{path} is not a teacher checkpoint ({why}); expected a file written by torch.save "
        f"(zip archive or legacy pickle), a safetensors file, or a directory (HuggingFace, ESPnet); "
        f"the file starts with {head!r}"
    )


def read_torch_file(path: Path) -> Any:
    """``torch.load`` on CPU with ``weights_only=True`` and the fairseq stand-ins.

    Args:
        path: a file written by ``torch.save``.

    Returns:
        The unpickled object (dicts, lists, tensors, :class:`FairseqDictionary`, Namespace).

    Raises:
        TeacherFormatError: not a torch file, or it pickles classes outside the allow-list
            (named in the message).
    """
    path = Path(path)
    if not path.is_file():
        raise TeacherFormatError(f"{path} is not a file")
    kind = file_kind(path)
    if kind not in ("torch-zip", "torch-legacy"):
        raise _not_a_checkpoint(path, f"looks like {kind}")
    try:
        with torch.serialization.safe_globals(ALLOWED_GLOBALS):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        refused = _refused_globals(path)
        if refused:
            raise TeacherFormatError(
                f"{path} pickles classes that are not allow-listed for weights_only loading: {refused}; "
                f"accepted non-tensor classes are argparse.Namespace and "
                f"{[name for _, name in FAIRSEQ_ALLOWED_GLOBALS]} (loaded as plain stand-ins)"
            ) from e
        raise _not_a_checkpoint(path, f"unpickling failed: {e}") from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as e:
        raise _not_a_checkpoint(path, f"torch.load failed: {str(e).splitlines()[0]}") from e


def _refused_globals(path: Path) -> List[str]:
    allowed = {"argparse.Namespace"} | {name for _, name in FAIRSEQ_ALLOWED_GLOBALS}
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # noqa: BLE001 - only used to improve the message
        return []
    return [g for g in found if g not in allowed]


def read_safetensors(path: Path) -> Dict[str, Tensor]:
    """All tensors of a safetensors file, on CPU."""
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception as e:  # safetensors raises its own error types
        raise _not_a_checkpoint(Path(path), f"safetensors could not read it: {e}") from e


def read_json(path: Path) -> Dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TeacherFormatError(f"{path} is not valid JSON: {e}") from e


def is_tensor_mapping(obj: Any) -> bool:
    """A non-empty dict whose values are all tensors (a state dict)."""
    return isinstance(obj, dict) and bool(obj) and all(isinstance(v, Tensor) for v in obj.values())
