"""The speed protocol's pieces: settings, ratios, timing rounds on a busy machine, MAC counts, autocast."""

from __future__ import annotations

import pytest
import torch

from espnet_distill.benchmark import BenchmarkSettings, check_device
from espnet_distill.benchmark.machine import median, paired_ratio


def test_settings_validate():
    assert BenchmarkSettings.full().reference_duration == 10.0
    with pytest.raises(ValueError, match="reference_duration"):
        BenchmarkSettings(durations=(1.0, 2.0), reference_duration=10.0)
    with pytest.raises(ValueError, match="device"):
        BenchmarkSettings(device="tpu")
    with pytest.raises(ValueError, match="threads"):
        BenchmarkSettings(threads=0)


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


def test_autocast_paths_run(tiny_teacher_ckpt):
    """The code paths of ``--device cuda`` (bf16 autocast), exercised with CPU autocast.

    No GPU here: this checks dtypes and contexts, not CUDA itself.
    """
    from espnet_distill.benchmark.inference import time_inference
    from espnet_distill.benchmark.macs import count_macs
    from espnet_distill.benchmark.upstreams import student_upstream, teacher_upstream
    from espnet_distill.student import build_student
    from espnet_distill.teacher import load_teacher

    cpu = torch.device("cpu")
    teacher = load_teacher(tiny_teacher_ckpt)
    upstreams = [teacher_upstream(teacher, "teacher"),
                 student_upstream("student", build_student("tiny_cnn", teacher=teacher).eval(), "student")]
    times, rounds = time_inference(upstreams, [0.5], cpu, warmup=0, repeats=1, autocast_dtype=torch.bfloat16)
    assert all(times[u.name][0.5]["total"][0] > 0 for u in upstreams)
    for u in upstreams:
        assert count_macs(u, 0.5, cpu, torch.bfloat16)["macs_per_second"] > 0, u.name


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
