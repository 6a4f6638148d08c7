"""One full distillation training step, ours and s3prl's, built from the same teacher weights.

A step is: teacher forward, student forward, loss, backward, gradient clipping at 5.0,
optimiser step, ``zero_grad``. Both use ``torch.optim.AdamW(lr=2e-4, betas=(0.9, 0.98))``
(DistilHuBERT's settings; s3prl's own ``AdamW_with_schedule`` is a Python re-implementation
and ESPnet would use whatever the config names, so the same torch optimiser is used on
both sides: the comparison is about the model, teacher and loss code).

Variants (:data:`VARIANTS`):

* ``ours``: our :class:`~espnet_distill.tasks.model.DistillModel` with the S&W student
  (``sw_cnn``, regression loss only, no unit head: the same network and objective as
  DistilHuBERT), stepped as ESPnet's ``Trainer.train_one_epoch`` does
  (``espnet2/train/trainer.py``: forward under autocast, backward, ``clip_grad_norm_``,
  finite check, ``optimizer.step()``, ``zero_grad()``).
* ``s3prl``: s3prl's DistilHuBERT pre-training step, written here from
  ``s3prl/pretrain/distiller/pretrain_expert.py`` (``DistillerForPretrain.forward`` and
  ``compute_loss``) and ``s3prl/pretrain/runner.py`` (``Runner.train``), whose modules only
  import from inside an s3prl source checkout: the student is s3prl's ``DistillerModel``
  on the padded batch; the teacher is s3prl's ``hubert`` upstream on the list of
  unpadded waveforms, under ``no_grad`` with autocast disabled (fp32); the loss is
  ``L1(pred, target).mean() + cosine_loss * mean(-logsigmoid(cos(pred, target)))
  + feat_pen_loss * mean(feat ** 2)``. The teacher is in eval mode (s3prl's runner calls
  ``.train()`` on the whole expert, so its teacher runs with dropout; eval is the
  cheaper, stronger baseline).
* ``dt_fbank``: our DistillModel with the D&T-fbank student, stage 2, L_reg + 0.4 L_disc
  (the teacher also computes its unit posteriors).

On CUDA both students run under bf16 autocast (s3prl's runner uses fp16 autocast with a
GradScaler; bf16 needs none); our teacher runs under bf16 autocast, s3prl's in fp32.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchmarks.models import (
    TeacherFiles,
    build_distilhubert,
    build_our_student,
    load_our_teacher,
    load_s3prl_teacher,
)
from benchmarks.scales import Scale
from espnet_distill.common import SAMPLE_RATE
from espnet_distill.frames import valid_mask
from espnet_distill.tasks.config import DistillConfig
from espnet_distill.tasks.model import DistillModel

VARIANTS = ("ours", "s3prl", "dt_fbank")
GRAD_CLIP = 5.0
LR = 2e-4
BETAS = (0.9, 0.98)


@dataclass
class Batch:
    """One distillation batch in both layouts.

    Attributes:
        speech: ``(B, N)`` zero-padded waveforms (ESPnet's ``speech``, s3prl's ``wave_input``).
        lengths: ``(B,)`` valid samples (ESPnet's ``speech_lengths``).
        waves: the ``B`` unpadded waveforms (s3prl's ``wave_orig``).
        pad_mask: ``(B, N)`` float, 1 on valid samples (s3prl's ``pad_mask``).
    """

    speech: Tensor
    lengths: Tensor
    waves: List[Tensor]
    pad_mask: Tensor

    @property
    def seconds(self) -> float:
        return float(self.lengths.sum()) / SAMPLE_RATE


def make_batch(seconds: Sequence[float], device: torch.device, seed: int = 0) -> Batch:
    """Random waveforms of the given durations, padded and as a list, on ``device``."""
    gen = torch.Generator().manual_seed(seed + 1)
    waves = [0.1 * torch.randn(int(round(s * SAMPLE_RATE)), generator=gen) for s in seconds]
    lengths = torch.tensor([len(w) for w in waves], dtype=torch.long)
    speech = torch.zeros(len(waves), int(lengths.max()))
    for i, w in enumerate(waves):
        speech[i, : len(w)] = w
    pad_mask = valid_mask(lengths, speech.shape[1])
    return Batch(speech.to(device), lengths.to(device), [w.to(device) for w in waves], pad_mask.to(device))


def _autocast(device: torch.device, dtype: Optional[torch.dtype], enabled: bool = True):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype, enabled=enabled)


def _optimizer(module: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], lr=LR, betas=BETAS)


class _Step:
    """One timed training step: ``compute_loss``, ``backward``, ``update`` (each subclass's own)."""

    def compute_loss(self, batch: Batch) -> Tensor:
        raise NotImplementedError

    def update(self) -> None:
        raise NotImplementedError

    def __call__(self, batch: Batch) -> Tensor:
        """One full step (for s3prl: ``Runner.train``'s loop body, without accumulation); returns the
        (detached) loss."""
        loss = self.compute_loss(batch)
        loss.backward()
        self.update()
        return loss.detach()


class OursStep(_Step):
    """A training step of :class:`DistillModel` as ESPnet's Trainer runs it.

    Args:
        model: the DistillModel (training mode is set here).
        device: where it runs.
        autocast_dtype: bf16 on CUDA (also set as the teacher's autocast dtype), else None.
    """

    def __init__(self, model: DistillModel, device: torch.device, autocast_dtype: Optional[torch.dtype] = None):
        self.model = model.train()
        self.device = device
        self.autocast_dtype = autocast_dtype
        model.teacher.autocast_dtype = autocast_dtype
        self.optimizer = _optimizer(model)

    @property
    def student(self) -> nn.Module:
        return self.model.student

    @property
    def teacher(self) -> nn.Module:
        return self.model.teacher

    def compute_loss(self, batch: Batch) -> Tensor:
        """Teacher and student forward and the loss, as the Trainer's autocast block runs them."""
        with _autocast(self.device, self.autocast_dtype):
            loss, _stats, _weight = self.model(batch.speech, batch.lengths)
        return loss

    def update(self) -> None:
        """Clip the gradients, step the optimiser if their norm is finite, zero them."""
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm=GRAD_CLIP)
        if torch.isfinite(grad_norm):
            self.optimizer.step()
        self.optimizer.zero_grad()

class S3prlStep(_Step):
    """s3prl's DistilHuBERT pre-training step (see the module docstring for the sources).

    Args:
        distiller: s3prl's ``DistillerModel`` (the student); its ``config`` (a
            ``DistillerConfig``) gives ``pred_layer_id``, ``loss_type``, ``cosine_loss``
            and ``feat_pen_loss``.
        teacher: s3prl's ``hubert`` upstream expert (frozen).
        device: where it runs.
        autocast_dtype: the student's autocast dtype on CUDA (bf16), else None.
    """

    def __init__(self, distiller: nn.Module, teacher: nn.Module, device: torch.device,
                 autocast_dtype: Optional[torch.dtype] = None):
        config = distiller.config
        if config.loss_type not in ("l1", "l2"):
            raise ValueError(f"DistillerConfig.loss_type: expected 'l1' or 'l2', found {config.loss_type!r}")
        self.distiller = distiller.train()
        self.teacher = teacher.eval()
        self.pred_layer_id = list(config.pred_layer_id)
        self.cosine_loss = float(config.cosine_loss)
        self.feat_pen_loss = float(config.feat_pen_loss)
        self.reconstruction = F.l1_loss if config.loss_type == "l1" else F.mse_loss
        self.device = device
        self.autocast_dtype = autocast_dtype
        self.optimizer = _optimizer(distiller)

    @property
    def student(self) -> nn.Module:
        return self.distiller

    def loss(self, feat: Tensor, pred: Tensor, target: Tensor) -> Tensor:
        """DistilHuBERT's objective over ``(B, N, T, D)`` predictions and targets, padding included."""
        if pred.shape != target.shape:
            raise ValueError(f"prediction {tuple(pred.shape)} and teacher target {tuple(target.shape)} differ")
        rec = self.reconstruction(pred, target, reduction="none").mean()
        sim = -F.logsigmoid(F.cosine_similarity(pred, target, dim=-1)).mean() if self.cosine_loss > 0 else 0.0
        feat_pen = feat.float().pow(2).mean()  # computed (and in the graph) even with weight 0, as in s3prl
        return rec + feat_pen * self.feat_pen_loss + sim * self.cosine_loss

    def compute_loss(self, batch: Batch) -> Tensor:
        """``DistillerForPretrain.forward`` under the runner's autocast: student, teacher, loss."""
        with _autocast(self.device, self.autocast_dtype):
            feat, _feat_final, pred, _pad_mask = self.distiller(batch.speech, batch.pad_mask)
            with torch.no_grad():
                with _autocast(self.device, self.autocast_dtype, enabled=False):  # teacher in fp32
                    hidden = self.teacher(batch.waves)["hidden_states"]
                target = torch.stack([hidden[i] for i in self.pred_layer_id], dim=1)  # (B, N, T, D)
            return self.loss(feat, pred, target)

    def update(self) -> None:
        """``Runner.train``: clip at 5.0, step unless the norm is NaN, ``zero_grad``."""
        grad_norm = torch.nn.utils.clip_grad_norm_(self.distiller.parameters(), GRAD_CLIP)
        if not torch.isnan(grad_norm):
            self.optimizer.step()
        self.optimizer.zero_grad()

def init_distiller_from_teacher(distiller: nn.Module, teacher_model: nn.Module, num_layers: int) -> None:
    """Copy the CNN, projection, positional conv and first layers of s3prl's teacher model.

    What ``DistillerForPretrain`` does with ``init_teacher_conv_layers`` and
    ``init_teacher_encoder_layers`` (s3prl/pretrain/distiller/pretrain_expert.py).
    """
    distiller.feature_extractor.load_state_dict(teacher_model.feature_extractor.state_dict())
    if distiller.post_extract_proj is not None:
        distiller.post_extract_proj.load_state_dict(teacher_model.post_extract_proj.state_dict())
    distiller.encoder.pos_conv.load_state_dict(teacher_model.encoder.pos_conv.state_dict())
    for i in range(num_layers):
        distiller.encoder.layers[i].load_state_dict(teacher_model.encoder.layers[i].state_dict())


def build_step(
    variant: str,
    scale: Scale,
    files: TeacherFiles,
    device: torch.device,
    autocast_dtype: Optional[torch.dtype] = None,
    *,
    dt_fbank_disc_weight: float = 0.4,
) -> Callable[[Batch], Tensor]:
    """The step of ``variant`` (one of :data:`VARIANTS`), with its own teacher, student and optimiser."""
    if variant == "s3prl":
        teacher = load_s3prl_teacher(files, device)
        distiller = build_distilhubert(scale.distilhubert, device)
        init_distiller_from_teacher(distiller, teacher.model, distiller.config.encoder_layers)
        return S3prlStep(distiller, teacher, device, autocast_dtype)
    if variant not in VARIANTS:
        raise ValueError(f"unknown distillation step {variant!r}; expected one of {', '.join(VARIANTS)}")
    teacher = load_our_teacher(files, device)
    if variant == "ours":
        student_config = scale.student_config("sw_cnn")
        student_config.heads.units = None  # DistilHuBERT has no unit head; L_reg only
        distill = DistillConfig(l1_weight=1.0, cos_weight=1.0, disc_weight=0.0)
    else:
        student_config = scale.student_config("dt_fbank")
        distill = DistillConfig(l1_weight=1.0, cos_weight=1.0, disc_weight=dt_fbank_disc_weight)
    student = build_our_student(student_config, teacher, device)
    return OursStep(DistillModel(student, teacher, distill), device, autocast_dtype)
