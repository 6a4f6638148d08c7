"""The benchmark's pieces: settings, ratios, peak memory, and the fairness of the s3prl step."""

from __future__ import annotations

import time

import pytest
import torch
import torch.nn.functional as F

from espnet_distill.benchmark import BenchmarkSettings, check_device
from espnet_distill.benchmark.machine import median, paired_ratio
from espnet_distill.benchmark.memory import PeakMemory
from espnet_distill.benchmark.scales import MODELS, get_scale
from espnet_distill.benchmark.steps import build_step, make_batch
from espnet_distill.benchmark.upstreams import build_upstreams, write_teacher_files


def test_settings_validate():
    assert BenchmarkSettings.full().reference_duration == 10.0
    with pytest.raises(ValueError, match="reference_duration"):
        BenchmarkSettings(durations=(1.0, 2.0), reference_duration=10.0)
    with pytest.raises(ValueError, match="device"):
        BenchmarkSettings(device="tpu")
    with pytest.raises(ValueError, match="threads"):
        BenchmarkSettings(threads=0)
    with pytest.raises(ValueError, match="scale"):
        get_scale("huge")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without a GPU")
def test_check_device_without_cuda():
    assert check_device("cpu").type == "cpu"
    with pytest.raises(RuntimeError, match="needs a CUDA GPU"):
        check_device("cuda")


def test_paired_ratio_is_median_of_round_ratios():
    assert paired_ratio([2.0, 4.0, 30.0], [1.0, 2.0, 3.0]) == 2.0
    assert median([3.0, 1.0, 2.0]) == 2.0
    with pytest.raises(ValueError, match="equal"):
        paired_ratio([1.0], [1.0, 2.0])


@pytest.mark.parametrize("reset_allowed", [True, False], ids=["hwm-reset", "sampled"])
def test_peak_memory_sees_a_torch_allocation(reset_allowed, monkeypatch):
    import espnet_distill.benchmark.memory as memory

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


class _ScriptedMonitor:
    """Reports the foreign CPU shares it is given, one per round."""

    def __init__(self, shares):
        self.shares = list(shares)
        self.waits = 0

    def start(self):
        pass

    def stop(self):
        return self.shares.pop(0)

    def wait_for_quiet(self, threshold, timeout):
        self.waits += 1
        return 1.0


def test_disturbed_rounds_are_repeated_and_left_out():
    from espnet_distill.benchmark.machine import collect_rounds

    monitor = _ScriptedMonitor([0.0, 0.5, 0.02, 0.9, 0.01])
    rounds = collect_rounds(lambda r: r, 3, max_rounds=6, threshold=0.1, monitor=monitor, wait_budget_s=10)
    assert rounds.results == [0, 1, 2, 3, 4]
    assert rounds.used == [0, 2, 4]
    assert monitor.waits == 2
    info = rounds.info()
    assert info["clean_rounds"] == 3 and info["only_clean_rounds_used"]


def test_all_rounds_are_used_when_too_few_are_clean():
    from espnet_distill.benchmark.machine import collect_rounds

    rounds = collect_rounds(lambda r: r, 3, max_rounds=4, threshold=0.1, monitor=_ScriptedMonitor([0.5, 0.5, 0.0, 0.5]))
    assert rounds.used == [0, 1, 2, 3]
    assert not rounds.info()["only_clean_rounds_used"]


def test_cpu_monitor_counts_other_processes_not_its_own():
    """A busy child process is foreign work: one core of N busy is a share of about 1/N or more."""
    import subprocess
    import sys as _sys
    import time as _time

    from espnet_distill.benchmark.machine import CpuMonitor

    monitor = CpuMonitor()
    if not monitor.available:
        pytest.skip("no /proc/stat")
    child = subprocess.Popen([_sys.executable, "-c", "import time\nend = time.time() + 1.5\nwhile time.time() < end: pass"])
    _time.sleep(0.3)
    monitor.start()
    _time.sleep(1.0)
    busy = monitor.stop()
    child.wait()
    assert busy > 0.5 / monitor.cpus  # at least half a core of foreign work was seen


def test_autocast_paths_run(tiny):
    """The code paths of ``--device cuda`` (bf16 autocast), exercised with CPU autocast.

    No GPU here: this checks dtypes and contexts, not CUDA itself.
    """
    from espnet_distill.benchmark.inference import time_inference
    from espnet_distill.benchmark.macs import count_macs

    scale, files = tiny
    cpu = torch.device("cpu")
    batch = make_batch([1.0, 0.7], cpu)
    for variant in ("ours", "s3prl", "dt_fbank"):
        loss = build_step(variant, scale, files, cpu, torch.bfloat16)(batch)
        assert torch.isfinite(loss), variant
    upstreams = build_upstreams(scale, files, cpu)
    times, rounds = time_inference(upstreams, [0.5], cpu, warmup=0, repeats=1, autocast_dtype=torch.bfloat16)
    assert all(times[u.name][0.5]["total"][0] > 0 for u in upstreams)
    assert count_macs(upstreams[-1], 0.5, cpu, torch.bfloat16)["macs_per_second"] > 0


def test_profiling_compares_the_two_steps():
    from espnet_distill.benchmark.profiling import profile_steps

    text = profile_steps("tiny", [0.5, 0.4], rounds=1, top=3)
    for phase in ("teacher", "student", "backward", "update", "total"):
        assert f"| {phase} |" in text
    assert "ours: top 3 operators" in text and "s3prl: top 3 operators" in text


def test_macs_count_attention():
    """On CPU torch's counter sees no FLOPs in scaled-dot-product attention; ours adds exactly
    2 * T^2 * D MACs per layer (QK^T and AV) for one utterance of T frames."""
    from torch.utils.flop_counter import FlopCounterMode

    from espnet_distill.benchmark.macs import mac_counter
    from espnet_distill.frames import stack_frames
    from espnet_distill.student import build_student

    student = build_student("tiny_cnn").eval()
    wav = torch.randn(1, 16000)
    counts = []
    for counter in (FlopCounterMode(display=False), mac_counter()):
        with torch.no_grad(), counter:
            student(wav, torch.tensor([16000]))
        counts.append(counter.get_total_flops() / 2)
    t = stack_frames(16000, [(k, s) for _, k, s in student.config.frontend.cnn.conv_layers])
    d, layers = student.config.encoder.embed_dim, student.config.encoder.num_layers
    assert counts[1] - counts[0] == layers * 2 * t * t * d
