"""benchmarks/ (not installed): its settings, peak memory, and the fairness of the s3prl step."""

from __future__ import annotations

import time

import pytest
import torch
import torch.nn.functional as F

from benchmarks.compare_s3prl import ComparisonSettings
from benchmarks.memory import PeakMemory
from benchmarks.models import build_upstreams, write_teacher_files
from benchmarks.scales import MODELS, get_scale
from benchmarks.steps import build_step, make_batch


def test_settings_validate():
    assert ComparisonSettings.full().reference_duration == 10.0
    quick = ComparisonSettings.quick()
    assert (quick.scale, quick.durations, quick.step_seconds, quick.max_rounds) == ("tiny", (1.0, 2.0), (1.5, 1.0), 2)
    with pytest.raises(ValueError, match="scale"):
        ComparisonSettings(scale="huge")
    with pytest.raises(ValueError, match="step_repeats"):
        ComparisonSettings(step_repeats=0)
    with pytest.raises(ValueError, match="threads"):  # the speed protocol's own checks still run
        ComparisonSettings(threads=0)
    with pytest.raises(ValueError, match="scale"):
        get_scale("huge")


@pytest.mark.parametrize("reset_allowed", [True, False], ids=["hwm-reset", "sampled"])
def test_peak_memory_sees_a_torch_allocation(reset_allowed, monkeypatch):
    import benchmarks.memory as memory

    if not reset_allowed:
        monkeypatch.setattr(memory, "_reset_peak_rss", lambda: False)
    meter = PeakMemory(torch.device("cpu"))
    meter.start()
    x = torch.ones(64 * 1024 * 1024 // 4 * 3)  # 192 MiB, touched
    time.sleep(0.05)
    result = meter.stop()
    del x
    assert result["peak_mb"] > 150, (meter.method, result)
    assert result["peak_total_mb"] >= result["peak_mb"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    scale = get_scale("tiny")
    return scale, write_teacher_files(scale, tmp_path_factory.mktemp("teacher"))


def test_upstreams_give_frames_at_20ms(tiny):
    scale, files = tiny
    upstreams = build_upstreams(scale, files, torch.device("cpu"))
    assert [u.name for u in upstreams] == list(MODELS)
    wav = 0.1 * torch.randn(1, 16000)
    for u in upstreams:
        with torch.inference_mode():
            hidden = u.encoder(u.frontend(wav, torch.tensor([16000])))
        assert hidden[-1].shape[:2] == (1, 49), u.name
        assert u.params > 0


def _copy_student_into_distiller(student, distiller):
    """Our S&W student's weights (body and prediction heads) under DistillerModel's names."""
    from espnet_distill.export.s3prl_format import distiller_state_dict

    state = distiller_state_dict(student)
    heads = student.pred_heads
    state["output_layer.0.weight"] = heads.expand.weight.detach().clone()
    state["output_layer.0.bias"] = heads.expand.bias.detach().clone()
    state["output_layer.2.weight"] = torch.stack([h.weight.detach().t() for h in heads.heads])  # (N, inter, D)
    state["output_layer.2.bias"] = torch.stack([h.bias.detach() for h in heads.heads])[None, None]
    distiller.load_state_dict(state, strict=True)


def test_both_steps_compute_the_same_loss_on_unpadded_audio(tiny):
    """Same teacher weights, same student weights, no padding, no dropout: same L1 + cosine loss.

    This is what makes the throughput comparison fair: the two steps do the same arithmetic.
    """
    scale, files = tiny
    cpu = torch.device("cpu")
    ours, theirs = build_step("ours", scale, files, cpu), build_step("s3prl", scale, files, cpu)
    _copy_student_into_distiller(ours.student, theirs.student)
    ours.model.eval()
    theirs.student.eval()
    batch = make_batch([1.0, 1.0], cpu)
    with torch.no_grad():
        a, b = ours.compute_loss(batch), theirs.compute_loss(batch)
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-5), (float(a), float(b))


def test_s3prl_loss_formula(tiny):
    scale, files = tiny
    step = build_step("s3prl", scale, files, torch.device("cpu"))
    pred, target, feat = torch.randn(2, 2, 5, 8), torch.randn(2, 2, 5, 8), torch.randn(2, 5, 4)
    expected = (pred - target).abs().mean() - F.logsigmoid(F.cosine_similarity(pred, target, dim=-1)).mean()
    assert torch.allclose(step.loss(feat, pred, target), expected)


def test_every_step_trains(tiny):
    scale, files = tiny
    batch = make_batch([1.0, 0.7], torch.device("cpu"))
    for variant in ("ours", "s3prl", "dt_fbank"):
        step = build_step(variant, scale, files, torch.device("cpu"))
        before = [p.detach().clone() for p in step.student.parameters()]
        loss = step(batch)
        assert torch.isfinite(loss), variant
        changed = sum(not torch.equal(b, p) for b, p in zip(before, step.student.parameters()))
        assert changed > 0, f"{variant}: the optimiser step changed no parameter"


def test_autocast_steps_run(tiny):
    """The steps of ``--device cuda`` (bf16 autocast), exercised with CPU autocast; the inference
    side is tested with the package (tests/benchmark/test_pieces.py)."""
    from espnet_distill.benchmark.inference import time_inference

    scale, files = tiny
    cpu = torch.device("cpu")
    batch = make_batch([1.0, 0.7], cpu)
    for variant in ("ours", "s3prl", "dt_fbank"):
        loss = build_step(variant, scale, files, cpu, torch.bfloat16)(batch)
        assert torch.isfinite(loss), variant
    distilhubert = build_upstreams(scale, files, cpu)[-1]
    times, _ = time_inference([distilhubert], [0.5], cpu, warmup=0, repeats=1, autocast_dtype=torch.bfloat16)
    assert times["distilhubert"][0.5]["total"][0] > 0


def test_profiling_compares_the_two_steps():
    from benchmarks.profiling import profile_steps

    text = profile_steps("tiny", [0.5, 0.4], rounds=1, top=3)
    for phase in ("teacher", "student", "backward", "update", "total"):
        assert f"| {phase} |" in text
    assert "ours: top 3 operators" in text and "s3prl: top 3 operators" in text
