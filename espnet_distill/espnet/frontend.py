"""The ESPnet2 frontend ``distill_student``: a distilled student as an ASR model's front end.

In an ESPnet config::

    frontend: distill_student
    frontend_conf:
        student: exp/student/student.ckpt   # relative to the recipe dir
        output: weighted_sum                 # last | layer | weighted_sum
        freeze: true                         # SUPERB-style frozen upstream

Fine-tuning the whole student as HuBERT is fine-tuned (fairseq ``hubert_ctc``; the
fairseq names in brackets)::

    frontend_conf:
        student: exp/student/student.pth
        freeze_steps: 10000              # student frozen for the first updates [freeze_finetune_updates]
        freeze_feature_extractor: true   # convolutions never train [feature_grad_mult: 0.0]
        mask_time_prob: 0.75             # learned mask embedding over spans [mask_prob]
        mask_time_length: 10             # [mask_length]
        mask_channel_prob: 0.5           # zeroed channel spans [mask_channel_prob]
        mask_channel_length: 64          # [mask_channel_length]
        layerdrop: 0.1                   # [layerdrop]
        dropout: 0.0                     # the encoder's dropouts while fine-tuning [dropout,
        attention_dropout: 0.0           #  attention_dropout, activation_dropout]
        activation_dropout: 0.1

Decoding on a CPU with the student's Linear layers in int8 (dynamic quantisation, made from
the fp32 weights when the model first runs in eval mode; see :mod:`espnet_distill.student.quantize`):
add ``quantize: int8`` to ``frontend_conf`` of the ``config.yaml`` given to ``asr_inference``
or ``Speech2Text``. The model file stays fp32.

Portable models: when ESPnet builds a model with this frontend, the student's
architecture is written into the run's ``config.yaml`` as ``frontend_conf.student_config``
(:func:`espnet_distill.espnet.register.register_task_module` wraps the task's
``build_model``), and a trained model's ``model.pth`` holds the (fine-tuned) student
weights under ``frontend.student.*``. A model therefore rebuilds from ``config.yaml`` and
``model.pth`` alone: ``espnet2.bin.pack`` / ``Speech2Text.from_pretrained`` work on a
machine that never had the student checkpoint. Configs without ``student_config`` (written
before it existed) still need the checkpoint, as before.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Optional, Tuple, Union

import humanfriendly
import torch
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from torch import Tensor, nn

from espnet_distill.common import SAMPLE_RATE
from espnet_distill.espnet.loader import expect_student_audio
from espnet_distill.frames import padding_mask

_LG = logging.getLogger(__name__)

#: What the frontend can return.
OUTPUTS = ("last", "layer", "weighted_sum")


def parse_fs(fs: Union[int, float, str]) -> int:
    """A sampling rate as ESPnet writes it (``16000``, ``"16k"``, ``"16000"``) in Hz."""
    value = humanfriendly.parse_size(fs) if isinstance(fs, str) else fs
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"distill_student frontend: fs must be a positive sampling rate in Hz, found {fs!r}")
    return value


class DistillStudentFrontend(AbsFrontend):
    """A distilled student (see :mod:`espnet_distill.student`) as an ESPnet ``AbsFrontend``.

    Args:
        student: path of the student checkpoint (:func:`espnet_distill.student.save_student`);
            relative paths are resolved against the current directory (the recipe
            directory under ``asr.sh``). Its config and weights build the student.
        student_config: the student's architecture (``StudentConfig.to_dict()``), as ESPnet
            records it in a trained model's ``config.yaml``. With it the student is built
            from this config; its weights come from ``student`` if that file exists (its
            config must then be the same), else from the ASR model file loaded afterwards.
        fs: sampling rate of the input (``asr.sh`` passes ``fs=16k``); must be 16 kHz.
        output: ``"last"``: the last layer; ``"layer"``: hidden state number ``layer``;
            ``"weighted_sum"``: a learned softmax-weighted sum of all ``L + 1`` hidden
            states (weights start equal, as in SUPERB).
        layer: with ``output: layer``, the hidden-state index: 0 = the front-end output,
            k = student layer k (1-based), -1 = the last; otherwise must be unset.
        freeze: never train the student (eval mode, no gradients); the weighted-sum
            weights still train.
        freeze_steps: train the student, but only after this many training forward
            passes (optimiser steps when ``accum_grad`` is 1); until then it runs in
            training mode (dropout, masking) without gradients, as fairseq's
            ``freeze_finetune_updates``. Needs ``unused_parameters: true`` for
            multi-GPU (DDP) training.
        freeze_feature_extractor: the student's convolutions (the waveform CNN, or the
            fbank front-end's Conv1d subsampler) never train; the projection to D does.
        mask_time_prob, mask_time_length: in training, replace spans of
            ``mask_time_length`` frames of the front-end output (before the encoder) by a
            learned mask embedding; about ``mask_time_prob`` of the frames start a span
            (wav2vec 2.0 / HuBERT ``compute_mask_indices``, through torchaudio's
            ``MaskGenerator``; at least 2 spans per utterance).
        mask_channel_prob, mask_channel_length: in training, zero spans of
            ``mask_channel_length`` channels, the same for every frame of an utterance.
        layerdrop: in training, skip each encoder layer with this probability.
        dropout, attention_dropout, activation_dropout: replace the student encoder's
            dropout probabilities (residual / after the positional embedding, attention
            weights, after the FFN activation); ``None`` keeps the student's own.
        quantize: ``"int8"``: in eval mode, run a dynamically int8-quantised copy of the
            student (CPU, decoding only; training with it set is an error). ``state_dict``
            keeps the fp32 weights; the copy is remade after ``load_state_dict``.

    Raises:
        FileNotFoundError: the checkpoint does not exist.
        ValueError: a bad option, another sampling rate, or a file that is not a
            student checkpoint.
    """

    def __init__(
        self,
        student: Optional[str] = None,
        student_config: Optional[dict] = None,
        fs: Union[int, str] = SAMPLE_RATE,
        output: str = "last",
        layer: Optional[int] = None,
        freeze: bool = False,
        freeze_steps: int = 0,
        freeze_feature_extractor: bool = False,
        mask_time_prob: float = 0.0,
        mask_time_length: int = 10,
        mask_channel_prob: float = 0.0,
        mask_channel_length: int = 64,
        layerdrop: float = 0.0,
        dropout: Optional[float] = None,
        attention_dropout: Optional[float] = None,
        activation_dropout: Optional[float] = None,
        quantize: Optional[str] = None,
    ):
        super().__init__()
        rate = parse_fs(fs)
        if rate != SAMPLE_RATE:
            raise ValueError(
                f"distill_student frontend: students take {SAMPLE_RATE} Hz audio, found fs={fs!r} ({rate} Hz); "
                "resample the data to 16 kHz (asr.sh --fs 16k)"
            )
        expect_student_audio(SAMPLE_RATE)  # ESPnet's loader now names bad utterances in this process
        self.student_path, self.student = _build_student(student, student_config)
        num_states = self.student.num_layers + 1
        self.output, self.layer = _check_output(output, layer, num_states)
        if not isinstance(freeze, bool):
            raise ValueError(f"distill_student frontend: freeze must be true or false, found {freeze!r}")
        if isinstance(freeze_steps, bool) or not isinstance(freeze_steps, int) or freeze_steps < 0:
            raise ValueError(f"distill_student frontend: freeze_steps must be an integer >= 0, found {freeze_steps!r}")
        if freeze and freeze_steps:
            raise ValueError("distill_student frontend: give freeze (always frozen) or freeze_steps, not both")
        self.freeze = freeze
        self.freeze_steps = freeze_steps
        self.freeze_feature_extractor = _check_flag("freeze_feature_extractor", freeze_feature_extractor)
        self.layerdrop = _check_prob("layerdrop", layerdrop)
        self.masker = _build_masker(self.student.output_dim, mask_time_prob, mask_time_length,
                                    mask_channel_prob, mask_channel_length)
        if freeze and (self.masker is not None or self.layerdrop or freeze_feature_extractor):
            raise ValueError("distill_student frontend: freeze: true keeps the whole student fixed; masking, layerdrop "
                             "and freeze_feature_extractor are for fine-tuning it (use ESPnet's specaug on a frozen "
                             "student's output instead)")
        _set_dropouts(self.student, dropout, attention_dropout, activation_dropout)
        if freeze:
            self.student.requires_grad_(False)
        if self.freeze_feature_extractor:
            for p in _extractor_parameters(self.student):
                p.requires_grad_(False)
        if freeze_steps:
            self.register_buffer("num_updates", torch.zeros((), dtype=torch.long))
        self.layer_weights = nn.Parameter(torch.zeros(num_states)) if self.output == "weighted_sum" else None
        if quantize is not None:
            from espnet_distill.student.quantize import check_scheme

            check_scheme(quantize, "distill_student frontend: quantize")
        self.quantize = quantize
        self._quantized: list = []  # the quantised copy, kept out of the state dict
        self.register_load_state_dict_post_hook(lambda module, _: module._quantized.clear())
        self.hop_length = self.student.downsample_rate
        self.frontend_type = "distill_student"
        self.train(True)
        _LG.info("distill_student frontend: %s, %d layers, dim %d, output %s%s, %s",
                 self.student_path or "architecture from frontend_conf.student_config, weights from the model file",
                 self.student.num_layers, self.output_size(), self.output,
                 f" {self.layer}" if self.output == "layer" else "",
                 "frozen" if freeze else (f"frozen for {freeze_steps} steps" if freeze_steps else "trained"))

    def output_size(self) -> int:
        """D, the student's hidden size."""
        return self.student.output_dim

    def train(self, mode: bool = True) -> "DistillStudentFrontend":
        super().train(mode)
        if self.freeze:
            self.student.eval()
        return self

    def forward(self, input: Tensor, input_lengths: Tensor) -> Tuple[Tensor, Tensor]:
        """Student features of a batch.

        Args:
            input: ``(B, N)`` zero-padded 16 kHz waveforms.
            input_lengths: ``(B,)`` valid samples.

        Returns:
            ``(B, T, D)`` features and ``(B,)`` valid frames, ``T = floor((N - 400) / 320) + 1``.
        """
        if self.training and self.freeze_steps:
            self._count_update()
        fine_tuning = self.training and not self.freeze
        mask = self._mask if fine_tuning and self.masker is not None else None
        student = self._quantized_student(input) if self.quantize else self.student
        with self._frozen_student() if self._student_frozen() else contextlib.nullcontext():
            out = student(input, input_lengths, extractor_grad=not self.freeze_feature_extractor, mask=mask,
                          layerdrop=self.layerdrop if fine_tuning else 0.0)
        hidden = out.hidden_states
        if self.output == "last":
            feats = hidden[-1]
        elif self.output == "layer":
            feats = hidden[self.layer]
        else:
            weights = torch.softmax(self.layer_weights, dim=0)
            feats = torch.einsum("l,lbtd->btd", weights, torch.stack(hidden))
        return feats, out.lengths

    def _quantized_student(self, input: Tensor) -> nn.Module:
        if self.training:
            raise ValueError("distill_student frontend: quantize is for decoding (eval mode); remove it from "
                             "frontend_conf to train")
        if input.device.type != "cpu":
            raise ValueError(f"distill_student frontend: quantize: {self.quantize} runs on the CPU, the input is on "
                             f"{input.device}")
        if not self._quantized:
            from espnet_distill.student.quantize import quantize_student

            self._quantized.append(quantize_student(self.student, self.quantize))
        return self._quantized[0]

    def _count_update(self) -> None:
        """Count a training forward pass; passes 1..freeze_steps keep the student frozen."""
        if int(self.num_updates) <= self.freeze_steps:
            self.num_updates += 1
            if int(self.num_updates) == self.freeze_steps + 1:
                _LG.info("distill_student frontend: training the student from now on (after %d steps)",
                         self.freeze_steps)

    def _mask(self, x: Tensor, lengths: Tensor) -> Tensor:
        pad = padding_mask(lengths, x.shape[1])
        masked, _ = self.masker(x.clone(), pad)  # torchaudio's generator writes in place
        return masked

    def _student_frozen(self) -> bool:
        if self.freeze:
            return True
        return bool(self.freeze_steps) and int(self.num_updates) <= self.freeze_steps

    @contextlib.contextmanager
    def _frozen_student(self):
        """No gradients into the student; ``freeze: true`` also runs it in eval mode, while
        ``freeze_steps`` keeps the training mode (dropout, masking), as fairseq does."""
        was_training = self.student.training
        if self.freeze:
            self.student.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.student.train(was_training)

    def reload_pretrained_parameters(self) -> None:
        """Reload the checkpoint's student weights and reset the layer weights.

        ESPnet's ``init:`` re-initialises every parameter of the ASR model and then
        calls this, so that the pretrained student survives.
        """
        from espnet_distill.student import read_checkpoint

        if self.student_path is None:
            raise ValueError("distill_student frontend: init: needs the student checkpoint to reload the pretrained "
                             "student (frontend_conf.student); this model was built from student_config alone")
        state = read_checkpoint(self.student_path)["state_dict"]
        self.student.load_state_dict(state, strict=True)
        if self.layer_weights is not None:
            with torch.no_grad():
                self.layer_weights.zero_()
        _LG.info("distill_student frontend: reloaded the pretrained student from %s", self.student_path)


def _check_flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"distill_student frontend: {name} must be true or false, found {value!r}")
    return value


def _check_prob(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"distill_student frontend: {name} must be a probability in [0, 1), found {value!r}")
    return float(value)


def _build_masker(dim: int, time_prob, time_length, channel_prob, channel_length) -> Optional[nn.Module]:
    """torchaudio's wav2vec 2.0 / HuBERT ``MaskGenerator`` (static spans), or None without masking."""
    time_prob, channel_prob = _check_prob("mask_time_prob", time_prob), _check_prob("mask_channel_prob", channel_prob)
    for name, length in (("mask_time_length", time_length), ("mask_channel_length", channel_length)):
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise ValueError(f"distill_student frontend: {name} must be an integer >= 1, found {length!r}")
    if channel_prob > 0 and channel_length > dim:
        raise ValueError(f"distill_student frontend: mask_channel_length {channel_length} is more than the student's "
                         f"{dim} channels")
    if time_prob == 0 and channel_prob == 0:
        return None
    from torchaudio.models.wav2vec2.components import MaskGenerator

    return MaskGenerator(dim, time_prob, "static", 0.0, time_length, False, 1,
                         channel_prob, "static", 0.0, channel_length, False, 1)


def _set_dropouts(student, dropout, attention_dropout, activation_dropout) -> None:
    """Set the encoder's dropout probabilities (None keeps a value)."""
    if dropout is not None:
        student.encoder.dropout.p = _check_prob("dropout", dropout)
    for layer in student.encoder.layers:
        if dropout is not None:
            layer.dropout.p = dropout
        if attention_dropout is not None:
            layer.self_attn.dropout = _check_prob("attention_dropout", attention_dropout)
        if activation_dropout is not None:
            layer.activation_dropout.p = _check_prob("activation_dropout", activation_dropout)


def _extractor_parameters(student) -> list:
    """The front-end's convolutions: the CNN's conv blocks, or the fbank subsampler."""
    fe = student.frontend
    modules = getattr(fe, "conv_layers", None) or [getattr(fe, "subsampler")]
    return [p for m in modules for p in m.parameters()]


def student_config_entry(config) -> dict:
    """``frontend_conf.student_config`` for a ``StudentConfig``: its dict in plain YAML types."""
    return json.loads(json.dumps(config.to_dict()))


def _build_student(student: Optional[str], student_config: Optional[dict]):
    """``(checkpoint path or None, student)`` from ``frontend_conf.student`` / ``student_config``."""
    from espnet_distill.student import StudentConfig, StudentModel, load_student

    if student_config is None:
        path = _resolve_checkpoint(student)
        return path, load_student(path)
    if not isinstance(student_config, dict):
        raise ValueError("distill_student frontend: student_config must be a mapping (a student's config), found "
                         f"{type(student_config).__name__}")
    try:
        config = StudentConfig.from_dict(student_config)
    except ValueError as err:
        raise ValueError(f"distill_student frontend: frontend_conf.student_config: {err}") from err
    if student in (None, "") or not Path(student).is_file():
        if student not in (None, ""):
            _LG.info("distill_student frontend: %s is not here; the student is built from student_config and "
                     "its weights come from the model file", student)
        return None, StudentModel(config).eval()
    path = _resolve_checkpoint(student)
    loaded = load_student(path)
    if student_config_entry(loaded.config) != student_config_entry(config):
        raise ValueError(
            f"distill_student frontend: frontend_conf.student_config is not the config of {path}; give one of "
            "them (a trained model's config.yaml needs only student_config: the model file has the weights)"
        )
    return path, loaded


def _resolve_checkpoint(student: Optional[str]) -> Path:
    if student is None or student == "":
        raise ValueError(
            "distill_student frontend needs frontend_conf.student: the path of a student checkpoint "
            "(written by espnet_distill's save_student / export), found none"
        )
    if not isinstance(student, (str, os.PathLike)):
        raise ValueError(f"distill_student frontend: student must be a path, found {type(student).__name__} {student!r}")
    path = Path(student)
    if not path.is_file():
        raise FileNotFoundError(
            f"distill_student frontend: student checkpoint {str(student)!r} does not exist "
            f"(resolved against {os.getcwd()} to {path.absolute()}); expected a file written by "
            "espnet_distill's save_student"
        )
    return path


def _check_output(output: str, layer: Optional[int], num_states: int) -> Tuple[str, Optional[int]]:
    if output not in OUTPUTS:
        raise ValueError(f"distill_student frontend: output must be one of {', '.join(OUTPUTS)}, found {output!r}")
    if output != "layer":
        if layer is not None:
            raise ValueError(f"distill_student frontend: layer={layer!r} needs output: layer (found output: {output})")
        return output, None
    if isinstance(layer, bool) or not isinstance(layer, int) or not -num_states <= layer < num_states:
        raise ValueError(
            f"distill_student frontend: output: layer needs layer in [0, {num_states - 1}] (0 = front-end output, "
            f"k = student layer k) or a negative index from the end, found {layer!r}"
        )
    return output, layer % num_states
