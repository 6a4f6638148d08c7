"""The student model and its factory.

Example:
    >>> import torch
    >>> from espnet_distill.student import build_student
    >>> student = build_student("tiny_fbank").eval()
    >>> out = student(torch.randn(2, 16000), torch.tensor([16000, 8000]))
    >>> len(out.hidden_states), tuple(out.hidden_states[0].shape), out.lengths.tolist()
    (5, (2, 49, 192), [49, 24])
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Union

import torch
from torch import Tensor, nn

from espnet_distill.frames import padding_mask
from espnet_distill.student.components import CnnFrontend, TransformerEncoder
from espnet_distill.student.config import StudentConfig
from espnet_distill.student.fbank import FbankFrontend
from espnet_distill.student.heads import LayerToLayerHeads, PredictionHeads, UnitHead

_LG = logging.getLogger(__name__)

#: Names of the distillation-only submodules (dropped on export).
HEAD_MODULES = ("pred_heads", "unit_head", "frontend_head")


@dataclass
class StudentOutput:
    """What a student returns for a batch.

    Attributes:
        hidden_states: ``L + 1`` tensors ``(B, T, D)``. Index 0 is the front-end
            output after the projection to D, i.e. the encoder input *before* the
            positional conv (s3prl's ``feat_final``; the teacher's index 0 is
            after it); index k is the output of student layer k (1-based).
            Padded frames of index 0 are zero, of the others unspecified.
        lengths: ``(B,)`` valid frames.
        predictions: one ``(B, T, teacher_dim)`` per distillation target.
        target_layers: the teacher hidden-state index (0-based) of each prediction.
        unit_logits: ``(B, T, K)`` unit-head scores (type1: cosines, type2:
            logits; no temperature), or ``None`` without a unit head.
        frontend_prediction: ``(B, T, teacher_dim)`` from the auxiliary front-end
            head (input distillation, stage 1), or ``None`` without one.
    """

    hidden_states: List[Tensor]
    lengths: Tensor
    predictions: List[Tensor]
    target_layers: List[int]
    unit_logits: Optional[Tensor] = None
    frontend_prediction: Optional[Tensor] = None

    @property
    def padding_mask(self) -> Tensor:
        """``(B, T)`` bool, True on padded frames."""
        return padding_mask(self.lengths, self.hidden_states[0].shape[1])


class StudentModel(nn.Module):
    """A distillation student: front-end, post-LN transformer encoder, optional heads.

    Build it with :func:`build_student` (presets, YAML, teacher sizes, CMVN and
    teacher initialisation); this constructor only allocates the modules.

    Args:
        config: a :class:`StudentConfig` whose ``teacher`` section has every size
            the configured heads need.
        codewords: ``(K, C)`` teacher codewords for a type1 unit head.

    Raises:
        ValueError: a head needs a ``teacher.*`` size that is not set.
    """

    def __init__(self, config: StudentConfig, *, codewords: Optional[Tensor] = None):
        super().__init__()
        missing = config.missing_teacher_fields()
        if missing:
            raise ValueError(
                f"the configured heads need {', '.join(missing)}: "
                "pass teacher= to build_student or set them in the config"
            )
        self.config = copy.deepcopy(config)
        d = config.encoder.embed_dim
        fe = config.frontend
        self.frontend = CnnFrontend(fe.cnn, d) if fe.type == "cnn" else FbankFrontend(fe.fbank, d)
        self.encoder = TransformerEncoder(config.encoder)
        self.pred_heads = self._build_pred_heads()
        self.unit_head = self._build_unit_head(codewords)
        self.frontend_head = nn.Linear(d, config.teacher.dim) if config.heads.frontend else None

    def _build_pred_heads(self) -> Optional[nn.Module]:
        targets, d = self.config.heads.targets, self.config.encoder.embed_dim
        if targets is None:
            return None
        if targets.type == "prediction_heads":
            return PredictionHeads(d, targets.inter_dim or d, targets.num_targets, self.config.teacher.dim)
        return LayerToLayerHeads(d, targets.student_layers, self.config.teacher.dim)

    def _build_unit_head(self, codewords: Optional[Tensor]) -> Optional[UnitHead]:
        units, spec = self.config.heads.units, self.config.teacher
        if units is None:
            return None
        return UnitHead(units.type, self.config.encoder.embed_dim, spec.num_units, spec.codeword_dim, codewords)

    # -- sizes ------------------------------------------------------------------------
    @property
    def output_dim(self) -> int:
        """D, the size of every hidden state."""
        return self.config.output_dim

    @property
    def num_layers(self) -> int:
        return self.config.num_layers

    @property
    def downsample_rate(self) -> int:
        """Input samples per output frame (320)."""
        return self.config.downsample_rate

    @property
    def frame_rate(self) -> float:
        return self.config.frame_rate

    @property
    def receptive_field(self) -> int:
        return self.config.receptive_field

    @property
    def target_layers(self) -> List[int]:
        """Teacher hidden-state index (0-based) of each prediction."""
        targets = self.config.heads.targets
        return list(targets.teacher_layers) if targets is not None else []

    def num_frames(self, num_samples: int) -> int:
        return self.config.num_frames(num_samples)

    # -- forward ----------------------------------------------------------------------
    def forward(
        self, wavs: Tensor, wav_lengths: Optional[Tensor] = None, *, frontend_only: bool = False,
        extractor_grad: bool = True, mask: Optional[Callable[[Tensor, Tensor], Tensor]] = None,
        layerdrop: float = 0.0,
    ) -> StudentOutput:
        """Run the student.

        Args:
            wavs: ``(B, N)`` zero-padded 16 kHz waveforms in [-1, 1].
            wav_lengths: ``(B,)`` valid samples; ``None`` means all valid.
            frontend_only: stop after the front-end (input distillation, stage 1):
                ``hidden_states`` is ``[front-end output]``, no predictions.
            extractor_grad: ``False`` keeps gradients out of the front-end's
                convolutions (fine-tuning with a frozen feature extractor).
            mask: ``(x (B, T, D), lengths (B,)) -> x``, applied to the front-end output
                before the encoder (fine-tuning's time / channel masking); hidden state 0
                is then the masked input the encoder saw.
            layerdrop: the encoder's layerdrop probability (training only).

        Returns:
            :class:`StudentOutput`; frame counts ``T = floor((N - 400) / 320) + 1``
            for both front-ends (0 if ``N < 400``).
        """
        if wavs.ndim != 2:
            raise ValueError(f"expected waveforms of shape (batch, samples), found {tuple(wavs.shape)}")
        if wav_lengths is None:
            wav_lengths = torch.full((wavs.shape[0],), wavs.shape[1], dtype=torch.long, device=wavs.device)
        x, lengths = self.frontend(wavs, wav_lengths.to(wavs.device), extractor_grad=extractor_grad)
        front = self.frontend_head(x) if self.frontend_head is not None else None
        if frontend_only:
            return StudentOutput([x], lengths, [], [], None, front)
        if x.shape[1] == 0:  # too short for one frame: empty outputs, no conv on zero frames
            hidden = [x] + [x.clone() for _ in range(self.num_layers)]
        else:
            if mask is not None:
                x = mask(x, lengths)
            hidden = self.encoder(x, lengths, layerdrop=layerdrop)
        predictions = self.pred_heads(hidden) if self.pred_heads is not None else []
        units = self.unit_head(hidden[-1]) if self.unit_head is not None else None
        return StudentOutput(hidden, lengths, predictions, self.target_layers, units, front)

    # -- parameters -------------------------------------------------------------------
    def parameter_groups(self) -> Dict[str, List[nn.Parameter]]:
        """Parameters per component: frontend, projection, pos_conv, encoder_norm, layers, and each head."""
        fe = self.frontend
        if isinstance(fe, CnnFrontend):
            frontend = list(fe.conv_layers.parameters())
        else:
            frontend = list(fe.subsampler.parameters())
        groups = {
            "frontend": frontend,
            "projection": list(fe.proj.parameters()) if fe.proj is not None else [],
            "pos_conv": list(self.encoder.pos_conv.parameters()),
            "encoder_norm": list(self.encoder.layer_norm.parameters()),
            "layers": list(self.encoder.layers.parameters()),
        }
        for name in HEAD_MODULES:
            module = getattr(self, name)
            groups[name] = list(module.parameters()) if module is not None else []
        return groups

    def parameter_counts(self) -> Dict[str, int]:
        """Parameter count per component, plus ``total_without_heads`` and ``total``."""
        counts = {name: sum(p.numel() for p in params) for name, params in self.parameter_groups().items()}
        counts["total_without_heads"] = sum(v for k, v in counts.items() if k not in HEAD_MODULES)
        counts["total"] = sum(p.numel() for p in self.parameters())
        return counts

    def count_parameters(self, include_heads: bool = False) -> int:
        """Number of parameters, with or without the distillation heads (CMVN stats are buffers)."""
        counts = self.parameter_counts()
        return counts["total"] if include_heads else counts["total_without_heads"]

    def frontend_parameters(self) -> Iterator[nn.Parameter]:
        """Front-end parameters (input distillation, stage 1 trains these and the front-end head)."""
        return self.frontend.parameters()

    def head_parameters(self) -> Iterator[nn.Parameter]:
        for name in HEAD_MODULES:
            module = getattr(self, name)
            if module is not None:
                yield from module.parameters()

    # -- heads ------------------------------------------------------------------------
    def without_heads(self) -> "StudentModel":
        """A copy with the distillation heads dropped (on the same device)."""
        bare = StudentModel(self.config.without_heads())
        state = {k: v for k, v in self.state_dict().items() if k.split(".", 1)[0] not in HEAD_MODULES}
        bare.load_state_dict(state, strict=True)
        return bare.to(next(self.parameters()).device).train(self.training)


def build_student(
    spec: Union[str, Path, StudentConfig, dict],
    *,
    teacher=None,
    cmvn=None,
) -> StudentModel:
    """Build a student from a preset name, a YAML file, a config or a config dict.

    Args:
        spec: preset name (see :func:`~espnet_distill.student.preset_names`), path
            to a YAML config, a :class:`StudentConfig`, or its ``to_dict()`` form.
        teacher: a :class:`~espnet_distill.teacher.Teacher`. Fills the config's
            ``teacher`` sizes (hidden size, layers, units, codeword size), gives a
            type1 unit head its codewords and applies ``init_from_teacher``.
        cmvn: fbank students only: a :class:`~espnet_distill.student.CmvnStats` or
            the path of a ``compute_cmvn`` ``.npz``; overrides
            ``frontend.fbank.cmvn_path``.

    Returns:
        A :class:`StudentModel` in training mode.
    """
    from espnet_distill.student.cmvn import CmvnStats
    from espnet_distill.student.presets import resolve_config
    from espnet_distill.student.teacher_init import init_from_teacher

    config = resolve_config(spec)
    if teacher is not None:
        config = config.with_teacher(teacher)
    if cmvn is not None and config.frontend.type != "fbank":
        raise ValueError(f"cmvn: only fbank front-ends use CMVN statistics, this student's is '{config.frontend.type}'")
    if cmvn is not None and not isinstance(cmvn, CmvnStats):
        config.frontend.fbank.cmvn_path = str(cmvn)
    type1 = config.heads.units is not None and config.heads.units.type == "type1"
    if type1 and teacher is None:
        _LG.warning("type1 unit head built without a teacher: its codewords are random until set_codewords()")
    student = StudentModel(config, codewords=teacher.codewords if type1 and teacher is not None else None)
    if config.frontend.type == "fbank":
        _set_cmvn(student, cmvn if isinstance(cmvn, CmvnStats) else None, warn=teacher is not None)
    if config.init_from_teacher.any:
        if teacher is None:
            _LG.info("init_from_teacher is set but no teacher was given: random initialisation")
        else:
            init_from_teacher(student, teacher, config.init_from_teacher)
    return student


def _set_cmvn(student: StudentModel, stats, warn: bool) -> None:
    """Give an fbank student its CMVN statistics: ``stats``, else ``frontend.fbank.cmvn_path``."""
    from espnet_distill.student.cmvn import load_cmvn

    path = student.config.frontend.fbank.cmvn_path
    if stats is None and path:
        stats = load_cmvn(path)
    if stats is not None:
        student.frontend.set_cmvn(stats.mean, stats.std)
        return
    (_LG.warning if warn else _LG.info)(
        "fbank student without CMVN statistics (identity normalisation); compute them with "
        "`python -m espnet_distill.bin.compute_cmvn` and pass cmvn="
    )
