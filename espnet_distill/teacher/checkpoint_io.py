"""Reading checkpoint files safely: ``torch.load(weights_only=True)`` plus an explicit allow-list.

Nothing here runs pickled code. Files written by ``torch.save`` are read with
``weights_only=True``; the only non-tensor globals accepted are the ones fairseq's trainer
pickles into released HuBERT checkpoints (``hubert_base_ls960.pt`` and its kin):

- ``argparse.Namespace`` (older checkpoints' ``args``);
- ``fairseq.data.dictionary.Dictionary`` (``task_state``), rebuilt as the plain attribute
  holder :class:`FairseqDictionary` without importing fairseq;
- omegaconf containers (``cfg`` saved as a ``DictConfig``): ``DictConfig``, ``ListConfig``,
  their value nodes and metadata, ``typing.Any``, ``collections.defaultdict`` and the builtin
  types their metadata names, rebuilt as stand-ins and turned into plain dicts and lists
  (``${a.b}`` interpolations resolved) without importing omegaconf;
- numpy arrays, dtypes and scalars (training statistics in ``extra_state``).

Any other global is refused with an error naming it and the option that loads a file the
user trusts with ``weights_only=False`` (:func:`trusted_checkpoints`, ``load_teacher(...,
trust_checkpoint=True)``, ``teacher_conf: {trust_checkpoint: true}``).

:func:`write_torch_file` is the other direction: it pickles :class:`FairseqDictionary` under
fairseq's name again (the same allow-list entry), so a fairseq checkpoint can be written
without fairseq and without placeholder modules in ``sys.modules``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import contextvars
import json
import logging
import pickle
import re
import types
import typing
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterator, List

import numpy as np
import torch
from torch import Tensor

from espnet_distill.common import Pathlike, atomic_write
from espnet_distill.teacher.config import TeacherFormatError

_LG = logging.getLogger(__name__)

#: fairseq ``Dictionary``'s special symbols, in index order (``bos, pad, eos, unk``).
_FAIRSEQ_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")


class FairseqDictionary:
    """Stand-in for ``fairseq.data.dictionary.Dictionary``: keeps its pickled attributes.

    fairseq's dictionary has ``symbols`` (4 specials ``<s> <pad> </s> <unk>`` then the
    labels), ``count``, ``indices``, ``bos_index`` ... Only ``symbols`` is used here.
    """

    symbols: List[str]

    @classmethod
    def for_units(cls, num_units: int) -> "FairseqDictionary":
        """HuBERT's label dictionary of ``num_units`` symbols (504 for HuBERT Base): the 4 specials,
        then the k-means labels ``0 .. num_units - 5``, as fairseq's ``Dictionary.load`` builds it
        from ``dict.km.txt`` (counts set to 1)."""
        if num_units <= len(_FAIRSEQ_SPECIALS):
            raise ValueError(f"num_units: expected more than {len(_FAIRSEQ_SPECIALS)} (4 specials + labels), "
                             f"found {num_units}")
        d = cls()
        d.bos_word, d.pad_word, d.eos_word, d.unk_word = _FAIRSEQ_SPECIALS
        d.symbols = list(_FAIRSEQ_SPECIALS) + [str(i) for i in range(num_units - len(_FAIRSEQ_SPECIALS))]
        d.count = [1] * len(d.symbols)
        d.indices = {s: i for i, s in enumerate(d.symbols)}
        d.bos_index, d.pad_index, d.eos_index, d.unk_index = range(4)
        d.nspecial = len(_FAIRSEQ_SPECIALS)
        return d

    def __len__(self) -> int:
        return len(getattr(self, "symbols", []))

    def __repr__(self) -> str:
        return f"FairseqDictionary({len(self)} symbols)"


class _OmegaStandIn:
    """Base of the omegaconf stand-ins: the pickled ``__dict__`` is kept as is (``_content``,
    ``_val``, ``_metadata``, ``_parent`` ...) and read by :func:`plain_data`."""


class _DictConfig(_OmegaStandIn):
    pass


class _ListConfig(_OmegaStandIn):
    pass


class _ValueNode(_OmegaStandIn):
    pass


class _Metadata(_OmegaStandIn):
    pass


_OMEGA_NODES = ("AnyNode", "StringNode", "IntegerNode", "FloatNode", "BooleanNode", "BytesNode", "PathNode")
#: ``(stand-in class, pickled global name)`` pairs accepted by :func:`read_torch_file`.
FAIRSEQ_ALLOWED_GLOBALS = [(FairseqDictionary, "fairseq.data.dictionary.Dictionary")]
OMEGACONF_ALLOWED_GLOBALS = [
    (_DictConfig, "omegaconf.dictconfig.DictConfig"),
    (_ListConfig, "omegaconf.listconfig.ListConfig"),
    (_Metadata, "omegaconf.base.ContainerMetadata"),
    (_Metadata, "omegaconf.base.Metadata"),
    *[(_ValueNode, f"omegaconf.nodes.{name}") for name in _OMEGA_NODES],
    (typing.Any, "typing.Any"),
    (collections.defaultdict, "collections.defaultdict"),
    *[(t, f"builtins.{t.__name__}") for t in (dict, list, tuple, int, float, str, bool, bytes, object)],
]
_np_multiarray = getattr(np, "_core", np.core).multiarray
NUMPY_ALLOWED_GLOBALS = [
    (np.ndarray, "numpy.ndarray"),
    (np.dtype, "numpy.dtype"),
    *[(_np_multiarray._reconstruct, f"{m}.multiarray._reconstruct") for m in ("numpy.core", "numpy._core")],
    *[(_np_multiarray.scalar, f"{m}.multiarray.scalar") for m in ("numpy.core", "numpy._core")],
    # the dtype's own class must be allowed too: unpickling restores its state (byte order ...)
    *[(type(np.dtype(t)), f"numpy.dtypes.{type(np.dtype(t)).__name__}")
      for t in ("?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16")],
]
ALLOWED_GLOBALS = [argparse.Namespace, *FAIRSEQ_ALLOWED_GLOBALS, *OMEGACONF_ALLOWED_GLOBALS, *NUMPY_ALLOWED_GLOBALS]
_ALLOWED_NAMES = {"argparse.Namespace"} | {name for _, name in ALLOWED_GLOBALS[1:]}
_STAND_INS = {name: cls for cls, name in ALLOWED_GLOBALS[1:]
              if isinstance(cls, type) and issubclass(cls, (FairseqDictionary, _OmegaStandIn))}

_TRUSTED: contextvars.ContextVar[bool] = contextvars.ContextVar("espnet_distill_trusted_checkpoints", default=False)
TRUST_HINT = ("if you trust the file, load it with weights_only=False: load_teacher(..., trust_checkpoint=True), "
              "distill_train --teacher_conf trust_checkpoint=true, or inspect_teacher --trust_checkpoint")


@contextlib.contextmanager
def trusted_checkpoints(trusted: bool = True) -> Iterator[None]:
    """Within this block :func:`read_torch_file` unpickles with ``weights_only=False`` (after a
    warning): only for files the user trusts, which may run code when they are read."""
    token = _TRUSTED.set(trusted)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


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
    """``torch.load`` on CPU with ``weights_only=True`` and the allow-list above.

    Args:
        path: a file written by ``torch.save``.

    Returns:
        The unpickled object as plain data: dicts, lists, tensors, numpy values,
        :class:`FairseqDictionary`, ``argparse.Namespace`` (omegaconf containers become dicts
        and lists, see :func:`plain_data`).

    Raises:
        TeacherFormatError: not a torch file, or it pickles globals outside the allow-list
            (named in the message, with the option that loads a trusted file).
    """
    path = Path(path)
    if not path.is_file():
        raise TeacherFormatError(f"{path} is not a file")
    kind = file_kind(path)
    if kind not in ("torch-zip", "torch-legacy"):
        raise _not_a_checkpoint(path, f"looks like {kind}")
    if _TRUSTED.get():
        return plain_data(_load_trusted(path))
    try:
        with torch.serialization.safe_globals(ALLOWED_GLOBALS):
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        refused = _refused_globals(path)
        if refused:
            raise TeacherFormatError(
                f"{path} pickles globals that are not allow-listed for weights_only loading: {refused}; "
                f"accepted are the tensors, numpy values, omegaconf containers, argparse.Namespace and "
                f"fairseq Dictionary that fairseq checkpoints hold; {TRUST_HINT}"
            ) from e
        raise _not_a_checkpoint(path, f"unpickling failed: {e}") from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as e:
        raise _not_a_checkpoint(path, f"torch.load failed: {str(e).splitlines()[0]}") from e
    return plain_data(obj)


class _TrustedUnpickler(pickle.Unpickler):
    """Full unpickling, except that fairseq and omegaconf classes become the same stand-ins
    (neither package is needed to read a trusted fairseq checkpoint)."""

    def find_class(self, module: str, name: str) -> Any:
        return _STAND_INS.get(f"{module}.{name}") or super().find_class(module, name)


_TRUSTED_PICKLE = types.ModuleType("espnet_distill_trusted_pickle")
_TRUSTED_PICKLE.Unpickler = _TrustedUnpickler
_TRUSTED_PICKLE.load = lambda f, **kwargs: _TrustedUnpickler(f, **kwargs).load()


def _load_trusted(path: Path) -> Any:
    _LG.warning("%s: reading with weights_only=False because it is trusted: unpickling can run code", path)
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_TRUSTED_PICKLE)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError,
            AttributeError, ImportError) as e:
        raise _not_a_checkpoint(path, f"torch.load (trusted) failed: {str(e).splitlines()[0]}") from e


class _ForeignNamePickler(pickle._Pickler):
    """Python's pickler, except that the stand-ins of :data:`FAIRSEQ_ALLOWED_GLOBALS` are written
    under the foreign names they are read from. The pure-Python pickler, because its
    ``save_global`` can be overridden: the default one would look the foreign module up in
    ``sys.modules``, where it is not (and where nothing here plants it)."""

    _NAMES = {cls: name for cls, name in FAIRSEQ_ALLOWED_GLOBALS}

    def save_global(self, obj: Any, name: Any = None) -> None:
        foreign = self._NAMES.get(obj) if isinstance(obj, type) else None
        if foreign is None:
            super().save_global(obj, name)
            return
        module, _, qualname = foreign.rpartition(".")
        self.write(pickle.GLOBAL + f"{module}\n{qualname}\n".encode("utf-8"))
        self.memoize(obj)


_FOREIGN_PICKLE = types.ModuleType("espnet_distill_foreign_pickle")
_FOREIGN_PICKLE.Pickler = _ForeignNamePickler


def write_torch_file(path: Pathlike, obj: Any) -> Path:
    """``torch.save(obj)`` to ``path`` (atomically), with every :class:`FairseqDictionary` pickled
    as ``fairseq.data.dictionary.Dictionary``, so fairseq and :func:`read_torch_file` read it back."""
    return atomic_write(path, lambda tmp: torch.save(obj, tmp, pickle_module=_FOREIGN_PICKLE))


_INTERPOLATION = re.compile(r"\$\{([\w.]+)\}")


def plain_data(obj: Any) -> Any:
    """Replace omegaconf stand-ins by plain dicts, lists and values; whole-value ``${a.b}``
    interpolations are resolved against the outermost config they occur in (fairseq writes
    ``label_rate: ${task.label_rate}`` inside ``cfg.model``)."""
    return _convert(obj, inside_config=False)


def _convert(obj: Any, inside_config: bool) -> Any:
    if isinstance(obj, (_DictConfig, _ListConfig)):
        content = obj.__dict__.get("_content")
        if isinstance(content, dict):
            out: Any = {k: _convert(v, True) for k, v in content.items()}
        elif isinstance(content, list):
            out = [_convert(v, True) for v in content]
        else:
            return content  # None, "???" (missing) or an interpolation string
        return out if inside_config else _resolve(out, out)
    if isinstance(obj, _ValueNode):
        return _convert(obj.__dict__.get("_val"), inside_config)
    if isinstance(obj, dict):
        converted = {k: _convert(v, inside_config) for k, v in obj.items()}
        return type(obj)(converted) if type(obj) in (dict, collections.OrderedDict) else converted
    if isinstance(obj, list):
        return [_convert(v, inside_config) for v in obj]
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return tuple(_convert(v, inside_config) for v in obj)
    return obj


def _resolve(obj: Any, root: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _resolve(v, root) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_resolve(v, root) for v in obj]
    m = _INTERPOLATION.fullmatch(obj) if isinstance(obj, str) else None
    if m is None:
        return obj
    value: Any = root
    for part in m.group(1).split("."):
        if not isinstance(value, dict) or part not in value:
            return obj  # not resolvable here: kept as written
        value = value[part]
    return value


def _refused_globals(path: Path) -> List[str]:
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # noqa: BLE001 - only used to improve the message
        return []
    return sorted(g for g in found if g not in _ALLOWED_NAMES)


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
