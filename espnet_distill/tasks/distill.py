"""DistillTask: distillation as an ESPnet2 task, trained by ESPnet's own Trainer.

Everything ESPnet users know applies unchanged: ``--config``, the standard data
options (``--train_data_path_and_name_and_type wav.scp,speech,sound``, shape files,
``batch_type``), ``--ngpu``, DDP and multi-node launch (``espnet2.bin.launch``,
``--dist_launcher slurm|mpi``), ``--use_amp``, ``--resume``, ``--accum_grad``,
best-model selection and averaging, tensorboard/wandb.

Task options (all also settable in the YAML config)::

    teacher: exp/teacher/hubert_base_ls960.pt    # anything load_teacher reads
    teacher_conf: {}                             # keyword arguments of load_teacher
    student: dt_fbank                            # preset name or student YAML
    student_conf: {}                             # nested overrides of the student config
    cmvn: exp/cmvn.npz                           # fbank students: compute_cmvn statistics
    distill_conf: {disc_weight: 0.4, frontend_steps: 2000}   # see DistillConfig
    max_samples: 250000                          # random crop of long utterances
    min_samples: 400                             # shorter utterances are unusable
    bad_utterance: error                         # or skip: drop, count and log them
    check_data: header                           # header: check audio headers first; full: decode too; false

Run with ``python -m espnet_distill.bin.distill_train --config conf/distill/<name>.yaml``.
"""

from __future__ import annotations

import argparse
import copy
import logging
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
import yaml
from espnet2.tasks.abs_task import AbsTask
from espnet2.train.trainer import Trainer
from espnet2.utils.nested_dict_action import NestedDictAction
from espnet2.utils.types import str_or_none

from espnet_distill.tasks.collate import CropCollateFn
from espnet_distill.tasks.config import DistillConfig
from espnet_distill.tasks.data_check import check_and_filter
from espnet_distill.tasks.heads import heads_for_objective
from espnet_distill.tasks.model import DistillModel
from espnet_distill.tasks.schedule import register as _register_scheduler
from espnet_distill.tasks.schedule import wrap_for_stages

_LG = logging.getLogger(__name__)
_register_scheduler()  # at import: DDP workers rebuild the wrapped scheduler by name

#: Written next to the checkpoints: what export_student needs without the teacher.
STUDENT_CONFIG_FILE = "student_config.yaml"
PROVENANCE_FILE = "distill_provenance.yaml"


class DistillTask(AbsTask):
    """Distil a frozen teacher into a student (Wang et al., arXiv 2210.15631)."""

    num_optimizers: int = 1
    class_choices_list = []
    trainer = Trainer

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group(description="Distillation related")
        group.add_argument("--teacher", type=str_or_none, default=None,
                           help="teacher checkpoint file/dir or known name (see espnet_distill.teacher.load_teacher)")
        group.add_argument("--teacher_conf", action=NestedDictAction, default=dict(),
                           help="keyword arguments of load_teacher, e.g. {format: fairseq}")
        group.add_argument("--student", type=str, default="dt_fbank",
                           help="student preset name (sw_cnn, dt_cnn, sw_fbank, dt_fbank, tiny_*) or YAML file")
        group.add_argument("--student_conf", action=NestedDictAction, default=dict(),
                           help="nested overrides of the student config, e.g. {encoder: {dropout: 0.0}}")
        group.add_argument("--cmvn", type=str_or_none, default=None,
                           help="global CMVN statistics (.npz of compute_cmvn) for fbank students")
        group.add_argument("--distill_conf", action=NestedDictAction, default=dict(),
                           help="loss weights and frontend_steps (espnet_distill.tasks.config.DistillConfig)")
        group.add_argument("--max_samples", type=int, default=250_000,
                           help="crop longer utterances to this many samples (random offset in training)")
        group.add_argument("--min_samples", type=int, default=400,
                           help="utterances shorter than this (one 25 ms frame) are unusable")
        group.add_argument("--bad_utterance", type=str, default="error", choices=["error", "skip"],
                           help="unusable audio (missing, unreadable, stereo, not 16 kHz, too short): "
                                "stop with an error naming it, or skip it (counted and logged)")
        group.add_argument("--check_data", type=str, default="header",
                           help="before training: 'header' checks every file's header (missing, unreadable, "
                                "truncated, stereo, rate, too short); 'full' also decodes every file (NaN / inf "
                                "samples, so that --bad_utterance skip drops those too); 'false' skips the check. "
                                "While training, ESPnet's loader stops at any bad utterance it reads, naming it")

    @classmethod
    def build_collate_fn(cls, args: argparse.Namespace, train: bool) -> Callable:
        return CropCollateFn(max_samples=args.max_samples, train=train)

    @classmethod
    def build_preprocess_fn(cls, args: argparse.Namespace, train: bool) -> Optional[Callable]:
        return None

    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("speech",)

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ()

    @classmethod
    def main(cls, args: Optional[argparse.Namespace] = None, cmd: Optional[Sequence[str]] = None):
        """ESPnet's ``AbsTask.main`` after checking the audio up front (see ``check_data``)."""
        if args is None:
            args = cls.get_parser().parse_args(cmd)
        _default_fold_length(args)
        config = DistillConfig.from_dict(args.distill_conf)
        if config.restart_schedule and wrap_for_stages(args, config.frontend_steps):
            _LG.info("scheduler %s restarts after the %d front-end updates (distill_conf.restart_schedule)",
                     args.scheduler_conf["scheduler"], config.frontend_steps)
        args.check_data = _check_mode(args.check_data)
        training = not args.print_config and not args.dry_run and not args.collect_stats
        if training and args.check_data != "false":
            _check_data(args)
        result = super().main(args=args)
        if training:
            _refuse_all_skipped(Path(args.output_dir))
        return result

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> DistillModel:
        from espnet_distill.espnet.loader import expect_student_audio
        from espnet_distill.student import build_student
        from espnet_distill.teacher import load_teacher

        expect_student_audio()  # ESPnet's loader names bad utterances (NaN, stereo, other rates) in this process
        if args.teacher is None:
            raise ValueError("--teacher is required: a teacher checkpoint (fairseq, HF, torchaudio, ESPnet, s3prl)")
        config = DistillConfig.from_dict(args.distill_conf)
        for warning in distill_plan(args)["warnings"]:
            _LG.warning("%s", warning)
        teacher = load_teacher(args.teacher, **(args.teacher_conf or {}))
        try:
            spec = heads_for_objective(_student_spec(args.student, args.student_conf), config,
                                       teacher_has_units=teacher.has_unit_head)
        except ValueError as err:
            raise ValueError(f"{err} (teacher {args.teacher})") from err
        student = build_student(spec, teacher=teacher, cmvn=args.cmvn)
        if config.frontend_steps > 0:
            # stage one leaves the encoder out of the graph: DDP must expect unused parameters
            args.unused_parameters = True
        model = DistillModel(student, teacher, config, accum_grad=args.accum_grad)
        _write_side_files(args, student, teacher, config)
        _LG.info("teacher: %s (%s, %d layers, %s units); student: %s, %.2f M parameters without heads",
                 teacher.source, teacher.source_format, teacher.num_layers, teacher.num_units,
                 student.config.name, student.count_parameters() / 1e6)
        return model


def distill_plan(args: argparse.Namespace) -> Dict:
    """What a run with these (parsed) options will do: student, CMVN, updates, warnings.

    Nothing is built or read but the configs; ``python -m espnet_distill.bin.distill_plan``
    prints it for recipes, and :meth:`DistillTask.build_model` logs its warnings.
    """
    config = DistillConfig.from_dict(args.distill_conf)
    spec = heads_for_objective(_student_spec(args.student, args.student_conf), config)
    front_end = spec["frontend"]["type"]
    updates = args.max_epoch * args.num_iters_per_epoch if args.num_iters_per_epoch else None
    warnings = []
    if config.frontend_steps > 0 and updates is not None and config.frontend_steps >= updates:
        warnings.append(
            f"distill_conf.frontend_steps ({config.frontend_steps}) >= the run's {updates} updates "
            f"(max_epoch {args.max_epoch} x num_iters_per_epoch {args.num_iters_per_epoch}): only the "
            "front-end is trained, the encoder is never distilled; lower frontend_steps")
    return {
        "student": args.student,
        "student_name": spec.get("name") or str(args.student),
        "front_end": front_end,
        "needs_cmvn": front_end == "fbank",
        "updates": updates,
        "frontend_steps": config.frontend_steps,
        "disc_weight": config.disc_weight,
        "restart_schedule": config.restart_schedule and config.frontend_steps > 0,
        "use_amp": bool(args.use_amp),
        "warnings": warnings,
    }


def _default_fold_length(args: argparse.Namespace) -> None:
    """ESPnet's default ``batch_type: folded`` needs one ``--fold_length`` per shape file; a
    distillation batch never holds more than ``max_samples`` per utterance (the crop), so that
    is the length at which folding starts unless the user gave one."""
    if args.batch_type == "folded" and not args.fold_length:
        n = max(len(args.train_shape_file or []), len(args.valid_shape_file or []), 1)
        args.fold_length = [args.max_samples] * n
        _LG.info("batch_type folded: --fold_length %s (the crop length, max_samples)", args.fold_length)


def _student_spec(student: str, overrides: Optional[Dict]) -> Dict:
    """The student config as a dict, with ``student_conf`` merged in (validated by from_dict)."""
    from espnet_distill.student.presets import resolve_config

    config = resolve_config(student).to_dict()
    return _deep_merge(config, overrides or {}, path="student_conf")


def _deep_merge(base: Dict, overrides: Dict, path: str) -> Dict:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if key not in merged:
            raise ValueError(f"{path}.{key}: unknown student config key; expected one of {sorted(merged)}")
        if isinstance(value, dict) and isinstance(merged[key], dict):
            merged[key] = _deep_merge(merged[key], value, f"{path}.{key}")
        else:
            merged[key] = value
    return merged


def _check_mode(value) -> str:
    """``--check_data``: true / header, full, false (YAML booleans included)."""
    mode = {"true": "header", "false": "false"}.get(str(value).lower(), str(value).lower())
    if mode not in ("header", "full", "false"):
        raise ValueError(f"--check_data: expected header, full or false (true = header), found {value!r}")
    return mode


def _refuse_all_skipped(output_dir: Path) -> None:
    """Exit non-zero when the loss was NaN / inf in every update (ESPnet's Trainer skips such updates
    and would otherwise finish 'successfully' with an untrained student)."""
    latest = output_dir / "latest.pth"
    if not latest.is_file():
        return
    state = torch.load(latest, map_location="cpu", weights_only=True)
    forwards, nonfinite = int(state.get("num_forwards", 0)), int(state.get("num_nonfinite", 0))
    if forwards > 0 and nonfinite >= forwards:
        _LG.error("the loss was NaN or infinite in all %d training steps, so every update was skipped and the "
                  "student did not train; the warnings above name the utterances of each step", forwards)
        raise SystemExit(1)
    if nonfinite:
        _LG.warning("%d of %d training steps had a NaN / infinite loss and were skipped", nonfinite, forwards)


def _check_data(args: argparse.Namespace) -> None:
    out = Path(args.output_dir) / "filtered"
    for mode in ("train", "valid"):
        triplets = getattr(args, f"{mode}_data_path_and_name_and_type")
        shapes = getattr(args, f"{mode}_shape_file")
        new_triplets, new_shapes, reports = check_and_filter(
            triplets, shapes, out / mode, policy=args.bad_utterance, min_samples=args.min_samples,
            decode=args.check_data == "full")
        setattr(args, f"{mode}_data_path_and_name_and_type", new_triplets)
        setattr(args, f"{mode}_shape_file", new_shapes)
        for r in reports:
            _LG.info("%s data %s: %d utterances, %d unusable", mode, r.scp, r.num_utts, len(r.bad))


def _write_side_files(args: argparse.Namespace, student, teacher, config: DistillConfig) -> None:
    """What export needs without rebuilding the teacher: the student config and provenance."""
    from espnet_distill.common import atomic_write_text, package_versions

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    student.config.to_yaml(out / STUDENT_CONFIG_FILE, header="Resolved student config of this distillation run.")
    provenance = {
        "teacher": {"source": str(teacher.source), "format": teacher.source_format,
                    "num_layers": teacher.num_layers, "hidden_size": teacher.hidden_size,
                    "num_units": teacher.num_units, "parameters": teacher.count_parameters()},
        "data": [str(t) for t in args.train_data_path_and_name_and_type],
        "distill_conf": config.to_dict(),
        "versions": package_versions(),
    }
    atomic_write_text(out / PROVENANCE_FILE, yaml.safe_dump(provenance, sort_keys=False))
