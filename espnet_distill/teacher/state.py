"""State-dict plumbing shared by the loaders: key maps, strict loading, clear errors.

Every loader renames its format's keys to the names of :class:`~espnet_distill.teacher.base.Teacher`'s
own state dict (``backbone.<torchaudio Wav2Vec2Model key>`` and ``unit_head.final_proj.*`` /
``unit_head.codewords``) with a :class:`KeyMap`, then :func:`build_teacher` builds the
network and loads it strictly. Missing, unexpected and mis-shaped keys are reported by
name (in the checkpoint's own naming where the key map can invert them).
"""

from __future__ import annotations

import logging
import re
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from espnet_distill.teacher.base import Teacher, UnitHead
from espnet_distill.teacher.config import BackboneConfig, TeacherFormatError

_LG = logging.getLogger(__name__)

# placeholders usable in key templates and what they match
_PLACEHOLDERS = {"i": r"\d+", "p": r"weight|bias", "q": r"q|k|v|out"}
_MAX_LISTED = 12


def _template_regex(template: str) -> re.Pattern:
    parts = re.split(r"\{(\w)\}", template)
    pattern = ""
    for n, part in enumerate(parts):
        if n % 2:
            pattern += f"(?P<{part}>{_PLACEHOLDERS[part]})"
        else:
            pattern += re.escape(part)
    return re.compile(pattern + r"\Z")


class KeyMap:
    """A two-way renaming between a checkpoint's keys and the teacher's keys.

    Args:
        rules: ``(source_template, target_template)`` pairs; ``{i}`` matches a layer
            index, ``{p}`` ``weight|bias``, ``{q}`` ``q|k|v|out``. The first matching
            rule wins.
        ignore: regular expressions of source keys that are dropped on purpose
            (e.g. the masking embedding, only used in pre-training).
    """

    def __init__(self, rules: Sequence[Tuple[str, str]], ignore: Sequence[str] = ()):
        self._forward = [(_template_regex(src), dst) for src, dst in rules]
        self._backward = [(_template_regex(dst), src) for src, dst in rules]
        self._ignore = [re.compile(p + r"\Z") for p in ignore]

    @staticmethod
    def _apply(table, key: str) -> Optional[str]:
        for regex, template in table:
            match = regex.match(key)
            if match:
                return template.format(**match.groupdict())
        return None

    def is_ignored(self, key: str) -> bool:
        return any(p.match(key) for p in self._ignore)

    def to_target(self, key: str) -> Optional[str]:
        """Teacher key for a checkpoint key, or ``None`` when no rule matches."""
        return self._apply(self._forward, key)

    def to_source(self, key: str) -> Optional[str]:
        """Checkpoint key a teacher key comes from, or ``None``."""
        return self._apply(self._backward, key)

    def convert(self, state: Mapping[str, Tensor]) -> Tuple[Dict[str, Tensor], List[str]]:
        """Rename a checkpoint state dict.

        Returns:
            The renamed state (ignored keys dropped) and the source keys no rule knows.
        """
        return self._rename(state, self.to_target, skip=self.is_ignored)

    def convert_back(self, state: Mapping[str, Tensor]) -> Tuple[Dict[str, Tensor], List[str]]:
        """Rename a teacher state dict to the checkpoint's keys (the inverse of :meth:`convert`).

        Where several rules give one teacher key, the first one names it.

        Returns:
            The renamed state and the teacher keys no rule knows.
        """
        return self._rename(state, self.to_source, skip=lambda key: False)

    @staticmethod
    def _rename(state, rename, skip) -> Tuple[Dict[str, Tensor], List[str]]:
        out: Dict[str, Tensor] = {}
        unknown: List[str] = []
        for key, value in state.items():
            if skip(key):
                continue
            new = rename(key)
            if new is None:
                unknown.append(key)
            else:
                out[new] = value
        return out, unknown


def strip_prefix(state: Mapping[str, Tensor], prefix: str) -> Dict[str, Tensor]:
    """Keys under ``prefix`` with it removed (others dropped)."""
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def _listing(keys: Iterable[str]) -> str:
    keys = list(keys)
    shown = ", ".join(keys[:_MAX_LISTED])
    if len(keys) > _MAX_LISTED:
        shown += f", ... ({len(keys) - _MAX_LISTED} more)"
    return shown


def check_state(
    module: nn.Module,
    state: Mapping[str, Tensor],
    *,
    what: str,
    unknown: Sequence[str] = (),
    source_name: Optional[Callable[[str], Optional[str]]] = None,
) -> None:
    """Compare ``state`` with ``module.state_dict()`` and raise on any difference.

    Args:
        module: the freshly built teacher.
        state: the renamed checkpoint state.
        what: the checkpoint, for the message (``fairseq checkpoint x.pt``).
        unknown: checkpoint keys that no rule maps (reported as unexpected).
        source_name: maps a teacher key back to the checkpoint's naming for messages.

    Raises:
        TeacherFormatError: naming the missing keys, the unexpected keys and the keys
            whose shapes differ (expected vs found).
    """
    expected = module.state_dict()
    name = (lambda k: source_name(k) or k) if source_name is not None else (lambda k: k)
    missing = [name(k) for k in expected if k not in state]
    unexpected = list(unknown) + [name(k) for k in state if k not in expected]
    mismatched = [
        f"{name(k)}: expected {tuple(expected[k].shape)}, found {tuple(v.shape)}"
        for k, v in state.items()
        if k in expected and tuple(v.shape) != tuple(expected[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {_listing(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_listing(unexpected)}")
    if mismatched:
        problems.append(f"shape mismatch (wrong architecture?): {_listing(mismatched)}")
    if problems:
        raise TeacherFormatError(f"{what} does not match the architecture its config describes: " + "; ".join(problems))


def build_teacher(
    config: BackboneConfig,
    state: Mapping[str, Tensor],
    *,
    what: str,
    unknown: Sequence[str] = (),
    source_name: Optional[Callable[[str], Optional[str]]] = None,
    logit_temp: float = 0.1,
    normalize_waveform: bool = False,
    source: str = "",
    source_format: str = "",
) -> Teacher:
    """Build a :class:`Teacher` of architecture ``config`` and load ``state`` strictly.

    Args:
        config: the backbone architecture.
        state: teacher-named tensors: ``backbone.*`` and, for a unit head,
            ``unit_head.final_proj.{weight,bias}`` (``(C, D)``, ``(C,)``) and
            ``unit_head.codewords`` (``(K, C)``).
        what, unknown, source_name: see :func:`check_state`.
        logit_temp: temperature of the unit logits.
        normalize_waveform: layer-normalise each waveform first.
        source, source_format: provenance, kept on the teacher.

    Returns:
        The frozen teacher in eval mode, on CPU, in fp32.
    """
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    unit_head = _unit_head_for(state, config, what=what, source_name=source_name, logit_temp=logit_temp)
    teacher = Teacher(
        config.build(),
        unit_head,
        source=source,
        source_format=source_format,
        normalize_waveform=normalize_waveform,
        backbone_config=config,
    )
    check_state(teacher, state, what=what, unknown=unknown, source_name=source_name)
    teacher.load_state_dict(state, strict=True)
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher.eval()


def _unit_head_for(state, config: BackboneConfig, *, what, source_name, logit_temp) -> Optional[UnitHead]:
    names = ("unit_head.final_proj.weight", "unit_head.final_proj.bias", "unit_head.codewords")
    present = [k for k in names if k in state]
    if not present:
        return None
    if len(present) != len(names):
        missing = [source_name(k) if source_name and source_name(k) else k for k in names if k not in state]
        raise TeacherFormatError(f"{what} has an incomplete unit head: missing {missing}")
    weight, codewords = state["unit_head.final_proj.weight"], state["unit_head.codewords"]
    if weight.ndim != 2 or codewords.ndim != 2 or weight.shape[0] != codewords.shape[1]:
        raise TeacherFormatError(
            f"{what}: the unit head's projection (C, D) and codewords (K, C) must agree on C; found "
            f"{tuple(weight.shape)} and {tuple(codewords.shape)}"
        )
    proj = nn.Linear(config.encoder_embed_dim, int(weight.shape[0]))
    return UnitHead(proj, torch.zeros(codewords.shape, dtype=torch.float32), logit_temp=logit_temp)
