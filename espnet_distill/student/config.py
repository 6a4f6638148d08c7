"""The student configuration: validated dataclasses; YAML is only their serialised form.

A :class:`StudentConfig` has five sections::

    frontend            cnn (HuBERT's waveform CNN) or fbank (Kaldi fbank + Conv1d subsampler)
    encoder             post-LN transformer with a convolutional positional embedding
    heads               distillation-only heads, dropped on export:
                          targets   prediction heads (S&W) or a layer-to-layer map (D&T)
                          units     the unit head for the discriminative loss
                          frontend  the auxiliary head of input distillation (stage 1)
    teacher             sizes of the teacher the heads are built for (filled from a
                        Teacher by ``build_student(..., teacher=...)``)
    init_from_teacher   which parts to copy from the teacher where shapes match

Layer indices: a student layer is 1-based (``1..encoder.num_layers``); a teacher
layer is 0-based over the teacher's hidden states (``0`` = transformer input,
``k`` = output of layer k, up to ``teacher.num_layers``).

Every section (:mod:`espnet_distill.student.sections`) validates itself in
``__post_init__``; a bad value raises a ``ValueError`` that names the field (dotted
path), what was expected and what was found. Derived sizes (output dim, downsample
rate, receptive field, frame counts) are properties, never fields.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import yaml

from espnet_distill.student._serialize import from_plain, to_plain
from espnet_distill.student.sections import (
    FBANK_FRAME_LENGTH,
    FBANK_FRAME_SHIFT,
    FBANK_SUBSAMPLING,
    HUBERT_CONV_LAYERS,
    SAMPLE_RATE,
    CnnFrontendConfig,
    EncoderConfig,
    FbankFrontendConfig,
    FrontendConfig,
    HeadsConfig,
    TargetsConfig,
    TeacherInitConfig,
    TeacherSpec,
    UnitHeadConfig,
)

__all__ = [
    "FBANK_FRAME_LENGTH",
    "FBANK_FRAME_SHIFT",
    "FBANK_SUBSAMPLING",
    "HUBERT_CONV_LAYERS",
    "SAMPLE_RATE",
    "CnnFrontendConfig",
    "EncoderConfig",
    "FbankFrontendConfig",
    "FrontendConfig",
    "HeadsConfig",
    "StudentConfig",
    "TargetsConfig",
    "TeacherInitConfig",
    "TeacherSpec",
    "UnitHeadConfig",
]

_LG = logging.getLogger(__name__)


# -- the whole student ----------------------------------------------------------------
@dataclass
class StudentConfig:
    """A student: front-end, encoder, distillation heads, teacher sizes, teacher init."""

    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    heads: HeadsConfig = field(default_factory=HeadsConfig)
    teacher: TeacherSpec = field(default_factory=TeacherSpec)
    init_from_teacher: TeacherInitConfig = field(default_factory=TeacherInitConfig)
    name: str = ""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.name != "name" and not dataclasses.is_dataclass(getattr(self, f.name)):
                raise ValueError(f"{f.name}: expected a {f.type} section, found {getattr(self, f.name)!r}")
        if not isinstance(self.name, str):
            raise ValueError(f"name: expected a string, found {self.name!r}")
        self._check_layers()

    def _check_layers(self) -> None:
        targets = self.heads.targets
        if targets is None:
            return
        for i, layer in enumerate(targets.student_layers or []):
            if layer > self.encoder.num_layers:
                raise ValueError(
                    f"heads.targets.student_layers[{i}]: expected a student layer in 1..{self.encoder.num_layers} "
                    f"(encoder.num_layers), found {layer}"
                )
        limit = self.teacher.num_layers
        for i, layer in enumerate(targets.teacher_layers):
            if limit is not None and layer > limit:
                raise ValueError(
                    f"heads.targets.teacher_layers[{i}]: expected a teacher layer in 0..{limit} (teacher.num_layers), "
                    f"found {layer}"
                )

    # -- derived sizes ----------------------------------------------------------------
    @property
    def output_dim(self) -> int:
        """Size D of every hidden state."""
        return self.encoder.embed_dim

    @property
    def num_layers(self) -> int:
        return self.encoder.num_layers

    @property
    def downsample_rate(self) -> int:
        """Input samples per output frame (320 = 20 ms at 16 kHz for both front-ends)."""
        return self.frontend.settings.downsample_rate

    @property
    def frame_rate(self) -> float:
        """Output frames per second."""
        return SAMPLE_RATE / self.downsample_rate

    @property
    def receptive_field(self) -> int:
        """Input samples one front-end output frame depends on (400 for the HuBERT CNN)."""
        return self.frontend.settings.receptive_field

    def num_frames(self, num_samples: int) -> int:
        """Output frames for an input of ``num_samples`` samples."""
        return self.frontend.settings.num_frames(num_samples)

    # -- teacher-dependent sizes ------------------------------------------------------
    def missing_teacher_fields(self) -> List[str]:
        """``teacher.*`` fields the configured heads need but which are unset."""
        need = []
        if self.heads.targets is not None or self.heads.frontend:
            need.append("dim")
        if self.heads.units is not None:
            need.append("num_units")
            if self.heads.units.type == "type1":
                need.append("codeword_dim")
        return [f"teacher.{n}" for n in need if getattr(self.teacher, n) is None]

    def with_teacher(self, teacher) -> "StudentConfig":
        """A copy whose ``teacher`` section describes ``teacher`` (a :class:`~espnet_distill.teacher.Teacher`).

        Raises:
            ValueError: the config has a unit head but the teacher has none, or a
                target layer the teacher does not have.
        """
        units = teacher.num_units
        if self.heads.units is not None and units is None:
            raise ValueError(
                "heads.units: the student has a unit head but the teacher has no unit head "
                "(final_proj + codewords); remove heads.units or use a HuBERT pre-training checkpoint"
            )
        spec = TeacherSpec(
            dim=int(teacher.hidden_size),
            num_layers=int(teacher.num_layers),
            num_units=int(units) if units is not None else None,
            codeword_dim=int(teacher.codewords.shape[1]) if units is not None else None,
        )
        changed = {
            k: (v, getattr(spec, k))
            for k, v in dataclasses.asdict(self.teacher).items()
            if v not in (None, getattr(spec, k))
        }
        if changed:
            _LG.info("teacher sizes taken from the teacher instead of the config: %s", changed)
        return dataclasses.replace(copy.deepcopy(self), teacher=spec)

    def without_heads(self) -> "StudentConfig":
        """A copy with no distillation heads (the exported form)."""
        return dataclasses.replace(copy.deepcopy(self), heads=HeadsConfig())

    # -- serialisation ----------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        return to_plain(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "StudentConfig":
        """Build from a (nested) mapping; unknown keys are an error."""
        return from_plain(cls, data)

    def to_yaml(self, path: Optional[Union[str, Path]] = None, header: str = "") -> str:
        """Serialise (and write to ``path`` if given); ``header`` becomes ``#`` comment lines."""
        text = yaml.dump(self.to_dict(), Dumper=_ConfigDumper, sort_keys=False, default_flow_style=False)
        if header:
            text = "".join(f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines()) + text
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_yaml(cls, path: Union[str, Path]) -> "StudentConfig":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: student config file does not exist")
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        try:
            return cls.from_dict(data)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err


class _ConfigDumper(yaml.SafeDumper):
    """Block-style mappings; lists of scalars on one line (``[4, 8, 12]``)."""


def _represent_list(dumper: yaml.SafeDumper, data: list):
    flow = all(not isinstance(v, (list, tuple, dict)) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_ConfigDumper.add_representer(list, _represent_list)
