"""DistillModel: the student, its losses and a frozen teacher, as an ESPnet model.

ESPnet's Trainer sees an :class:`~espnet2.train.abs_espnet_model.AbsESPnetModel` whose
``forward(speech, speech_lengths)`` returns ``(loss, stats, weight)``. The teacher is
held outside the module tree (in a tuple), so it is not in ``state_dict()`` (checkpoints
and averaged models stay student-sized), not in the optimiser, not wrapped by DDP and
not moved by ``model.to()``: it is moved to the batch's device on first use.

Input distillation runs as two stages in one training run: for the first
``frontend_steps`` optimiser updates only the front-end and its auxiliary head are in
the graph (L_front), then the full objective (L_reg + lambda * L_disc) trains everything.
The update count is a persistent buffer, so it is checkpointed and a resumed run lands
in the right stage.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Dict, Sequence, Tuple

import torch
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.train.abs_espnet_model import AbsESPnetModel
from torch import Tensor

from espnet_distill.frames import SAMPLES_PER_FRAME, valid_mask
from espnet_distill.losses import DistillLoss
from espnet_distill.losses.distill import target_names
from espnet_distill.student import StudentModel, StudentOutput
from espnet_distill.tasks.config import DistillConfig
from espnet_distill.tasks.heads import heads_for_objective
from espnet_distill.teacher.base import Teacher, TeacherOutput

_LG = logging.getLogger(__name__)


class DistillModel(AbsESPnetModel):
    """Student + frozen teacher + :class:`~espnet_distill.losses.DistillLoss`.

    Args:
        student: the student (with its distillation heads).
        teacher: the frozen teacher; kept out of the module tree.
        config: loss weights and ``frontend_steps``.
        accum_grad: ESPnet's ``--accum_grad``: forwards per optimiser update.
    """

    def __init__(self, student: StudentModel, teacher: Teacher, config: DistillConfig, accum_grad: int = 1):
        super().__init__()
        heads_for_objective(student.config.to_dict(), config, teacher_has_units=teacher.has_unit_head, prune=False)
        self.student = student
        self._teacher = (teacher,)
        self.config = config
        self.accum_grad = max(1, int(accum_grad))
        self.loss = DistillLoss(
            l1_weight=config.l1_weight,
            cos_weight=config.cos_weight,
            disc_weight=config.disc_weight,
            disc_temperature=config.disc_temperature,
            front_weight=config.front_weight,
        )
        # training forwards so far; persistent, so resume restores the stage
        self.register_buffer("num_forwards", torch.zeros((), dtype=torch.long))
        # training forwards whose loss was NaN / inf (ESPnet's Trainer skips their update)
        self.register_buffer("num_nonfinite", torch.zeros((), dtype=torch.long))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # checkpoints written before num_nonfinite existed: nothing was counted
        state_dict.setdefault(prefix + "num_nonfinite", torch.zeros((), dtype=torch.long))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def teacher(self) -> Teacher:
        return self._teacher[0]

    @property
    def num_updates(self) -> int:
        """Optimiser updates done so far (training forwards / accum_grad)."""
        return int(self.num_forwards.item()) // self.accum_grad

    @property
    def stage(self) -> int:
        """1 while the front-end is distilled alone, then 2."""
        return 1 if self.num_updates < self.config.frontend_steps else 2

    def forward(self, speech: Tensor, speech_lengths: Tensor, **kwargs) -> Tuple[Tensor, Dict[str, Tensor], Tensor]:
        """One distillation step's loss.

        Args:
            speech: ``(B, N)`` float32 16 kHz waveforms, zero-padded.
            speech_lengths: ``(B,)`` valid samples.

        Returns:
            ``(loss, stats, weight)`` as ESPnet's Trainer expects; ``stats`` holds every
            loss term, ``stage`` and, with L_disc, ``unit_agreement``.
        """
        stage = self.stage
        if self.training:
            self.num_forwards += 1
        self.loss.stage = stage
        need_units = stage == 2 and self.config.disc_weight > 0
        teacher = self.teacher
        if next(teacher.parameters()).device != speech.device:
            teacher.to(speech.device)
        teacher_out = teacher(speech, speech_lengths, need_units=need_units)
        student_out = self.student(speech, speech_lengths, frontend_only=stage == 1)
        with _fp32(speech.device):
            loss, terms = distill_objective(self.loss, student_out, teacher_out, self.student.target_layers)
        if self.training and not torch.isfinite(loss):
            self.num_nonfinite += 1
            _LG.warning("non-finite loss (%s) on utterances %s", float(loss), kwargs.get("utt_id", "(ids unknown)"))
        stats = {k: v.detach() for k, v in terms.items()}
        stats["stage"] = torch.tensor(float(stage), device=loss.device)
        batch_size = torch.tensor(speech.shape[0], device=loss.device)
        return force_gatherable((loss, stats, batch_size), loss.device)

    def collect_feats(self, speech: Tensor, speech_lengths: Tensor, **kwargs) -> Dict[str, Tensor]:
        """Nothing to normalise: ``--collect_stats`` only writes the shape files."""
        return {}


def distill_objective(loss: DistillLoss, student: StudentOutput, teacher: TeacherOutput,
                      target_layers: Sequence[int]) -> Tuple[Tensor, Dict[str, Tensor]]:
    """``loss`` (at its stage) of a student output against the teacher output of the same batch.

    The one place where student and teacher meet: their frames agree by construction (both
    give ``floor((N - 400) / 320) + 1`` frames, :mod:`espnet_distill.frames`), which is
    checked here once; one mask serves every term; prediction k is paired with teacher
    hidden state ``target_layers[k]`` (0 = transformer input, k = layer k).
    """
    t_frames, s_frames = teacher.hidden_states[0].shape[1], student.hidden_states[0].shape[1]
    if s_frames != t_frames or not torch.equal(student.lengths, teacher.lengths.to(student.lengths.device)):
        raise ValueError(
            f"student and teacher frames differ: {s_frames} vs {t_frames} frames, valid "
            f"{student.lengths.tolist()} vs {teacher.lengths.tolist()}; both must frame 16 kHz audio at "
            f"{SAMPLES_PER_FRAME} samples per frame with a 400-sample receptive field (HuBERT's CNN or the fbank "
            "front-end)"
        )
    mask = valid_mask(student.lengths, s_frames)
    if loss.stage == 1:
        if student.frontend_prediction is None:
            raise ValueError("stage 1 needs the student's frontend_prediction: the student has no front-end head")
        return loss(mask, front=(student.frontend_prediction, teacher.hidden_states[0]))
    if not student.predictions:
        raise ValueError("stage 2 needs distillation predictions: the student has no heads.targets")
    if len(student.predictions) != len(target_layers):
        raise ValueError(f"{len(student.predictions)} predictions for {len(target_layers)} target layers {list(target_layers)}")
    num_teacher = len(teacher.hidden_states)
    bad = [k for k in target_layers if not 0 <= k < num_teacher]
    if bad:
        raise ValueError(f"target teacher layers {bad} do not exist: the teacher has hidden states 0..{num_teacher - 1}")
    units = None
    if loss.discriminative.weight > 0:
        if student.unit_logits is None or teacher.unit_logits is None:
            who = "student (no heads.units)" if student.unit_logits is None else "teacher (no unit head)"
            raise ValueError(f"disc_weight > 0 needs unit logits, but the {who} has none")
        units = (student.unit_logits, teacher.unit_logits)
    targets = [(p, teacher.hidden_states[k]) for p, k in zip(student.predictions, target_layers)]
    return loss(mask, targets=targets, names=target_names(list(target_layers)), units=units)


def _fp32(device: torch.device):
    """Losses in fp32 even under the Trainer's AMP autocast."""
    if device.type in ("cuda", "cpu"):
        return torch.autocast(device.type, enabled=False)
    return contextlib.nullcontext()
