"""Losses: equal to hand-written float64 references, blind to padding, gradients everywhere."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from espnet_distill.losses import (
    DiscriminativeLoss,
    DistillLoss,
    FrontendLoss,
    RegressionLoss,
    unit_agreement,
)
from espnet_distill.frames import valid_mask
from espnet_distill.student import build_student, get_preset
from espnet_distill.tasks.model import distill_objective
from tests.student.helpers import noise_wavs, pad_batch

LENGTHS = torch.tensor([7, 4, 1])
B, T, D, K = 3, 7, 5, 6
MASK = valid_mask(LENGTHS, T)  # what the losses take; the references count frames from LENGTHS


def rand(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# -- float64 references, written frame by frame ------------------------------------------
def ref_regression(preds, targets, lengths, l1_weight, cos_weight):
    l1s, coss = [], []
    for p, t in zip(preds, targets):
        l1_sum = cos_sum = 0.0
        frames = 0
        for b in range(p.shape[0]):
            for f in range(int(lengths[b])):
                y, h = p[b, f].double().tolist(), t[b, f].double().tolist()
                l1_sum += sum(abs(a - c) for a, c in zip(y, h)) / len(y)
                cos = sum(a * c for a, c in zip(y, h)) / (
                    math.sqrt(sum(a * a for a in y)) * math.sqrt(sum(c * c for c in h))
                )
                cos_sum += -math.log(1.0 / (1.0 + math.exp(-cos)))
                frames += 1
        l1s.append(l1_sum / frames)
        coss.append(cos_sum / frames)
    return l1_weight * sum(l1s) / len(l1s) + cos_weight * sum(coss) / len(coss), l1s, coss


def ref_kl(student, teacher, lengths, temperature):
    def softmax(xs):
        m = max(xs)
        e = [math.exp(x - m) for x in xs]
        return [v / sum(e) for v in e]

    total, frames = 0.0, 0
    for b in range(student.shape[0]):
        for f in range(int(lengths[b])):
            s = [v / (temperature or 1.0) for v in student[b, f].double().tolist()]
            p_t, p_s = softmax(teacher[b, f].double().tolist()), softmax(s)
            total += sum(pt * (math.log(pt) - math.log(ps)) for pt, ps in zip(p_t, p_s))
            frames += 1
    return total / frames


def ref_l1(pred, target, lengths):
    total, frames = 0.0, 0
    for b in range(pred.shape[0]):
        for f in range(int(lengths[b])):
            total += (pred[b, f].double() - target[b, f].double()).abs().mean().item()
            frames += 1
    return total / frames


def garbage_padding(x: torch.Tensor, lengths: torch.Tensor, seed: int) -> torch.Tensor:
    """``x`` with every padded frame replaced by large random values."""
    x = x.clone()
    noise = 1e3 * rand(*x.shape, seed=seed)
    for b, n in enumerate(lengths.tolist()):
        x[b, n:] = noise[b, n:]
    return x


# -- the losses ---------------------------------------------------------------------------
@pytest.mark.parametrize("weights", [(1.0, 1.0), (0.5, 2.0)])
def test_regression_loss_matches_float64_reference_and_ignores_padding(weights):
    preds = [rand(B, T, D, seed=1), rand(B, T, D, seed=2)]
    targets = [rand(B, T, D, seed=3), rand(B, T, D, seed=4)]
    loss_fn = RegressionLoss(*weights)
    total, terms = loss_fn(preds, targets, MASK, names=["t4", "t8"])
    expected, l1s, coss = ref_regression(preds, targets, LENGTHS, *weights)
    assert total.dtype == torch.float32
    assert total.item() == pytest.approx(expected, rel=1e-5)
    assert terms["reg_l1_t4"].item() == pytest.approx(l1s[0], rel=1e-5)
    assert terms["reg_cos_t8"].item() == pytest.approx(coss[1], rel=1e-5)
    assert terms["reg_l1"].item() == pytest.approx(sum(l1s) / 2, rel=1e-5)
    padded = loss_fn(
        [garbage_padding(p, LENGTHS, 9) for p in preds], [garbage_padding(t, LENGTHS, 10) for t in targets], MASK
    )[0]
    assert padded.item() == pytest.approx(total.item(), rel=1e-6)


@pytest.mark.parametrize("temperature", [None, 0.1])
def test_discriminative_loss_matches_float64_reference_and_ignores_padding(temperature):
    student, teacher = rand(B, T, K, seed=5), 3 * rand(B, T, K, seed=6)
    loss_fn = DiscriminativeLoss(weight=0.4, temperature=temperature)
    weighted, terms = loss_fn(student, teacher, MASK)
    expected = ref_kl(student, teacher, LENGTHS, temperature)
    assert terms["disc"].item() == pytest.approx(expected, rel=1e-5)
    assert weighted.item() == pytest.approx(0.4 * expected, rel=1e-5)
    padded, _ = loss_fn(garbage_padding(student, LENGTHS, 11), garbage_padding(teacher, LENGTHS, 12), MASK)
    assert padded.item() == pytest.approx(weighted.item(), rel=1e-6)
    if temperature is None:
        assert loss_fn(teacher, teacher, MASK)[0].abs().item() < 1e-6  # KL(p || p) = 0


def test_frontend_loss_matches_float64_reference_and_ignores_padding():
    pred, target = rand(B, T, D, seed=7), rand(B, T, D, seed=8)
    loss, terms = FrontendLoss(weight=2.0)(pred, target, MASK)
    assert terms["front"].item() == pytest.approx(ref_l1(pred, target, LENGTHS), rel=1e-5)
    assert loss.item() == pytest.approx(2 * terms["front"].item(), rel=1e-6)
    again, _ = FrontendLoss(2.0)(garbage_padding(pred, LENGTHS, 13), target, MASK)
    assert again.item() == pytest.approx(loss.item(), rel=1e-6)


def test_losses_run_in_fp32_from_half_inputs():
    preds, targets = [rand(B, T, D, seed=1).half()], [rand(B, T, D, seed=2).bfloat16()]
    total, _ = RegressionLoss()(preds, targets, MASK)
    expected, _, _ = ref_regression([preds[0].float()], [targets[0].float()], LENGTHS, 1.0, 1.0)
    assert total.dtype == torch.float32 and total.item() == pytest.approx(expected, rel=1e-5)


def test_unit_agreement():
    teacher = torch.zeros(2, 3, 4)
    teacher[..., 1] = 1.0  # argmax 1 everywhere
    student = torch.zeros(2, 3, 4)
    student[0, :, 1] = 1.0  # agrees on all 3 valid frames of utterance 0
    student[1, 0, 2] = 1.0  # disagrees on utterance 1's only valid frame
    student[1, 1:, 1] = 1.0  # (padded frames agree: must not count)
    assert unit_agreement(student, teacher, valid_mask(torch.tensor([3, 1]), 3)).item() == pytest.approx(3 / 4)


def test_frame_mismatch_and_bad_arguments_are_clear():
    with pytest.raises(
        ValueError, match="student and teacher frames differ: student \\(3, 7, 5\\), teacher \\(3, 6, 5\\)"
    ):
        RegressionLoss()([rand(B, T, D, seed=1)], [rand(B, T - 1, D, seed=2)], MASK)
    with pytest.raises(ValueError, match="the student scores 6 units, the teacher 5"):
        DiscriminativeLoss()(rand(B, T, K, seed=1), rand(B, T, K - 1, seed=2), MASK)
    with pytest.raises(ValueError, match="temperature"):
        DiscriminativeLoss(temperature=0.0)
    with pytest.raises(ValueError, match="stage: expected 1"):
        DistillLoss(stage=3)


# -- the combined loss with real students and a teacher ------------------------------------
def _batch():
    return pad_batch(noise_wavs([12000, 9000, 5000], seed=3))


def test_distill_loss_terms_and_padding(tiny_teacher):
    student = build_student("tiny_sw_cnn", teacher=tiny_teacher).eval()
    wavs, lens = _batch()
    s_out, t_out = student(wavs, lens), tiny_teacher(wavs, lens)
    loss = DistillLoss(disc_weight=0.5)
    total, terms = distill_objective(loss, s_out, t_out, student.target_layers)
    assert set(terms) == {
        "loss",
        "reg_l1",
        "reg_cos",
        "reg_l1_t2",
        "reg_cos_t2",
        "reg_l1_t4",
        "reg_cos_t4",
        "disc",
        "unit_agreement",
    }
    assert total.item() == pytest.approx((terms["reg_l1"] + terms["reg_cos"] + 0.5 * terms["disc"]).item(), rel=1e-6)
    mask = valid_mask(s_out.lengths, s_out.hidden_states[0].shape[1])
    reg, _ = RegressionLoss()(s_out.predictions, [t_out.hidden_states[k] for k in (2, 4)], mask)
    assert (terms["reg_l1"] + terms["reg_cos"]).item() == pytest.approx(reg.item(), rel=1e-6)
    # the same utterances with extra zero padding: the same loss
    more = torch.nn.functional.pad(wavs, (0, 3000))
    total_padded, _ = distill_objective(loss, student(more, lens), tiny_teacher(more, lens), student.target_layers)
    assert total_padded.item() == pytest.approx(total.item(), rel=1e-5)


def test_distill_loss_stage1_and_errors(tiny_teacher):
    student = build_student("tiny_fbank", teacher=tiny_teacher).eval()
    wavs, lens = _batch()
    t_out = tiny_teacher(wavs, lens)
    s_front = student(wavs, lens, frontend_only=True)
    loss = DistillLoss(stage=1)
    total, terms = distill_objective(loss, s_front, t_out, student.target_layers)
    mask = valid_mask(s_front.lengths, s_front.hidden_states[0].shape[1])
    expected = FrontendLoss()(s_front.frontend_prediction, t_out.hidden_states[0], mask)[0]
    assert set(terms) == {"loss", "front"} and total.item() == pytest.approx(expected.item())
    loss.stage = 2
    with pytest.raises(ValueError, match="stage 2 needs distillation predictions"):
        distill_objective(loss, s_front, t_out, student.target_layers)
    no_units = SimpleNamespace(**{**vars(student(wavs, lens)), "unit_logits": None})
    with pytest.raises(ValueError, match="the student \\(no heads.units\\) has none"):
        distill_objective(DistillLoss(disc_weight=1.0), no_units, t_out, student.target_layers)
    with pytest.raises(ValueError, match="stage 1 needs the student's frontend_prediction"):
        distill_objective(DistillLoss(stage=1), build_student("tiny_cnn", teacher=tiny_teacher)(wavs, lens), t_out, [])
    # student and teacher must frame the same audio: a student run on a batch 320 samples shorter is refused
    with pytest.raises(ValueError, match="student and teacher frames differ"):
        distill_objective(DistillLoss(), student(wavs[:, :-320], (lens - 320).clamp(min=0)), t_out,
                          student.target_layers)


@pytest.mark.parametrize(
    "name, unit_type", [("tiny_sw_cnn", "type2"), ("tiny_fbank", "type2"), ("tiny_fbank", "type1")]
)
def test_every_parameter_but_the_front_end_head_gets_a_gradient_in_stage_2(name, unit_type, tiny_teacher):
    config = get_preset(name)
    config.heads.units.type = unit_type
    student = build_student(config, teacher=tiny_teacher)
    wavs, lens = _batch()
    t_out = tiny_teacher(wavs, lens)
    temperature = 0.1 if unit_type == "type1" else None
    loss = DistillLoss(disc_weight=0.5, disc_temperature=temperature)
    total, _ = distill_objective(loss, student(wavs, lens), t_out, student.target_layers)
    total.backward()
    for n, p in student.named_parameters():
        has_grad = p.grad is not None and bool(p.grad.abs().sum() > 0)
        assert has_grad == (not n.startswith("frontend_head.")), n  # no stage-2 loss reaches that head


def test_stage1_trains_only_the_frontend_and_its_head(tiny_teacher):
    """Stage 1 runs the student front-end only: the loss reaches exactly the front-end and its head."""
    student = build_student("tiny_fbank", teacher=tiny_teacher)
    expected = {id(p) for p in list(student.frontend.parameters()) + list(student.frontend_head.parameters())}
    wavs, lens = _batch()
    s_out = student(wavs, lens, frontend_only=True)
    total, _ = distill_objective(DistillLoss(stage=1), s_out, tiny_teacher(wavs, lens), student.target_layers)
    total.backward()
    for name, p in student.named_parameters():
        has_grad = p.grad is not None and bool(p.grad.abs().sum() > 0)
        assert has_grad == (id(p) in expected), name
