"""Distillation learns: 200 optimiser steps on one batch of synthesised speech halve L_reg and
bring the student's unit posteriors closer to the teacher's (L_disc falls).

A random tiny HuBERT is the teacher; the students are the CPU presets, an S&W one
(prediction heads, initialised from the teacher) and a D&T fbank one (layer to
layer, CMVN from the batch), both with L_disc on (lambda = 0.5, type2 head).
"""

from __future__ import annotations

import time

import pytest
import torch

from espnet_distill.losses import DistillLoss
from espnet_distill.tasks.model import distill_objective
from espnet_distill.student import build_student, compute_cmvn
from tests.student.helpers import pad_batch

STEPS = 200
MAX_SAMPLES = 16000  # 1 s per utterance: ~10-20 s per test on 2 idle cores


def losses(loss: DistillLoss, student, batch, t_out):
    """``(L_reg, L_disc)`` of the student in eval mode."""
    student.eval()
    with torch.no_grad():
        _, terms = distill_objective(loss, student(*batch), t_out, student.target_layers)
    student.train()
    return float(terms["reg_l1"] + terms["reg_cos"]), float(terms["disc"])


@pytest.mark.parametrize("preset", ["tiny_sw_cnn", "tiny_fbank"])
def test_200_steps_halve_the_regression_loss(preset, speech, tiny_teacher):
    torch.manual_seed(0)
    wavs = [w[:MAX_SAMPLES] for w in speech]
    batch = pad_batch(wavs)
    t_out = tiny_teacher(*batch)
    cmvn = compute_cmvn(wavs) if preset.endswith("fbank") else None
    student = build_student(preset, teacher=tiny_teacher, cmvn=cmvn)
    params = list(student.parameters())  # the front-end head gets no gradient in stage 2: AdamW skips it
    loss = DistillLoss(stage=2, disc_weight=0.5)
    optimiser = torch.optim.AdamW(params, lr=2e-3, betas=(0.9, 0.98), eps=1e-6)

    before, disc_before = losses(loss, student, batch, t_out)
    start = time.perf_counter()
    for _ in range(STEPS):
        optimiser.zero_grad(set_to_none=True)
        total, terms = distill_objective(loss, student(*batch), t_out, student.target_layers)
        total.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        optimiser.step()
    after, disc_after = losses(loss, student, batch, t_out)
    print(
        f"{preset}: L_reg {before:.3f} -> {after:.3f}, L_disc {disc_before:.3f} -> {disc_after:.3f}, "
        f"agreement {terms['unit_agreement']:.2f}, {time.perf_counter() - start:.1f} s for {STEPS} steps"
    )
    assert after <= 0.5 * before
    assert disc_after <= 0.8 * disc_before
