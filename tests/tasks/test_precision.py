"""Precision: the teacher runs in fp32 under the Trainer's autocast unless asked otherwise."""

from __future__ import annotations

import torch

from espnet_distill.student import build_student
from espnet_distill.tasks.config import DistillConfig
from espnet_distill.tasks.model import DistillModel
from espnet_distill.teacher import load_teacher
from espnet_distill.report.espnet_logs import epoch_results
from tests.tasks.conftest import distill_args, run_distill


def _model(teacher_ckpt, **teacher_options):
    teacher = load_teacher(teacher_ckpt, **teacher_options)
    student = build_student("tiny_cnn", teacher=teacher)
    return DistillModel(student, teacher, DistillConfig(disc_weight=0.4))


def _teacher_outputs(model, wavs, lengths, autocast):
    seen = []
    hook = model.teacher.register_forward_hook(lambda _m, _i, out: seen.append(out))
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss, _, _ = model(wavs, lengths)
    finally:
        hook.remove()
    return seen[0], loss


def test_teacher_stays_fp32_under_the_callers_autocast(tiny_teacher_ckpt):
    model = _model(tiny_teacher_ckpt)
    wavs, lengths = 0.1 * torch.randn(2, 16000, generator=torch.Generator().manual_seed(0)), torch.tensor([16000, 12000])
    plain, _ = _teacher_outputs(model, wavs, lengths, autocast=False)
    under_amp, loss = _teacher_outputs(model, wavs, lengths, autocast=True)
    for a, b in zip(plain.hidden_states, under_amp.hidden_states):
        assert a.dtype == b.dtype == torch.float32 and torch.equal(a, b)
    assert torch.equal(plain.unit_logits, under_amp.unit_logits)
    # autocast was active around it: the student's linear layers ran in bf16
    linear = next(m for m in model.student.modules() if isinstance(m, torch.nn.Linear))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert linear(torch.randn(3, linear.in_features)).dtype == torch.bfloat16
    assert loss.dtype == torch.float32


def test_bf16_teacher_is_an_explicit_option(tiny_teacher_ckpt):
    model = _model(tiny_teacher_ckpt, autocast_dtype="bf16")
    wavs, lengths = 0.1 * torch.randn(1, 16000, generator=torch.Generator().manual_seed(1)), torch.tensor([16000])
    plain = _model(tiny_teacher_ckpt)
    a, _ = _teacher_outputs(plain, wavs, lengths, autocast=False)
    b, _ = _teacher_outputs(model, wavs, lengths, autocast=False)
    diff = max(float((x - y).abs().max()) for x, y in zip(a.hidden_states, b.hidden_states))
    assert 1e-4 < diff < 0.5  # bf16 arithmetic (outputs returned as fp32), close to fp32


def test_use_amp_runs_through_the_trainer_on_cpu(synth_corpus, tiny_teacher_ckpt, tmp_path):
    """Every paper config sets use_amp: true; on a CPU machine the Trainer must still train."""
    args = distill_args(synth_corpus, tiny_teacher_ckpt, tmp_path / "exp", "--student", "tiny_cnn",
                        "--distill_conf", "disc_weight=0.4", "--use_amp", "true", "--max_epoch", "1",
                        "--num_iters_per_epoch", "3", "--batch_size", "4", "--max_samples", "16000")
    run_distill(args, tmp_path / "log")
    stats = epoch_results(tmp_path / "log")[1]
    assert 0 < stats["valid"]["loss"] < 100 and "disc" in stats["train"]
