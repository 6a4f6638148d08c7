"""Pairings of student heads and objective that cannot learn are refused before training."""

from __future__ import annotations

from pathlib import Path

import pytest

from espnet_distill.tasks.distill import DistillTask, distill_plan

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "conf/distill/tiny_fbank_disc.yaml")


def _plan(*argv):
    return distill_plan(DistillTask.get_parser().parse_args(["--config", TINY, *argv]))


def test_type1_unit_head_needs_a_temperature():
    type1 = ["--student_conf", "heads={units: {type: type1}}"]
    with pytest.raises(ValueError, match=r"disc_temperature: 0.1.*type2"):
        _plan(*type1)
    assert _plan(*type1, "--distill_conf", "disc_temperature=0.1")["disc_weight"] == 0.4
    assert _plan("--distill_conf", "disc_temperature=0.1")["student"] == "tiny_fbank"  # type2 takes either


def test_heads_the_objective_needs():
    with pytest.raises(ValueError, match="needs a student unit head"):
        _plan("--student_conf", "heads={units: null}")
    with pytest.raises(ValueError, match="L_reg needs the student's heads.targets"):
        _plan("--student_conf", "heads={targets: null}")
    with pytest.raises(ValueError, match="frontend_steps is 80, but the student has no front-end head"):
        _plan("--student", "tiny_cnn")  # a CNN student cannot run input distillation's first stage
    plan = _plan("--distill_conf", "disc_weight=0.0")  # no L_disc: the unit head is simply not built
    assert plan["disc_weight"] == 0.0


def test_discriminative_loss_needs_a_teacher_with_units(tmp_path):
    from tests.oracles.teachers import make_teacher_checkpoint

    teacher = make_teacher_checkpoint("hf", tmp_path / "hf")  # a HuggingFace HubertModel: no unit head
    args = DistillTask.get_parser().parse_args(["--config", TINY, "--teacher", str(teacher),
                                                "--output_dir", str(tmp_path / "exp")])
    with pytest.raises(ValueError, match=r"has no unit head[^\n]*disc_weight: 0"):
        DistillTask.build_model(args)
