"""``python -m espnet_distill.bin.benchmark --model ... --quick``: every number of the report is produced.

The quick run uses two rounds of short utterances, so its timings mean nothing; the tests check
that each key a recipe reads exists, that the numbers that do not depend on timing hold
(parameter counts, MACs) and that the timings add up, and that stdout carries the table alone.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest
import torch

# the keys of a recipe's benchmark.json, spelled out here (not imported from the code under test)
KEYS = (
    [f"models.{m}.{k}" for m in ("teacher", "student")
     for k in ("params", "macs_per_second", "rtf", "frontend_ms", "encoder_ms", "total_ms")]
    + ["ratios.student_speedup_over_teacher", "ratios.student_mac_reduction_vs_teacher"]
)


def _get(report, dotted):
    node = report
    for part in dotted.split("."):
        assert isinstance(node, dict) and part in node, f"report has no {dotted!r} (missing {part!r})"
        node = node[part]
    return node


@pytest.fixture(scope="module")
def quick_run(tiny_teacher_ckpt, tmp_path_factory):
    from espnet_distill.bin.benchmark import main
    from espnet_distill.student import build_student, save_student

    d = tmp_path_factory.mktemp("bench")
    student = save_student(d / "student.pth", build_student("tiny_cnn"))
    out, stdout = d / "bench.json", io.StringIO()
    threads = torch.get_num_threads()
    try:
        with contextlib.redirect_stdout(stdout):
            code = main(["--model", f"teacher={tiny_teacher_ckpt}", "--model", f"student={student}", "--quick",
                         "--threads", "1", "--json", str(out)])
    finally:
        torch.set_num_threads(threads)  # the run sets it for the whole process
    assert code == 0
    return json.loads(out.read_text()), stdout.getvalue(), student


def test_every_number_a_recipe_reads_is_there(quick_run):
    report = quick_run[0]
    for key in KEYS:
        value = _get(report, key)
        assert isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0, f"{key}: {value!r}"


def test_sizes_and_timings(quick_run):
    report, _, student = quick_run
    models = report["models"]
    assert models["student"]["params"] != models["teacher"]["params"]
    duration = report["settings"]["reference_duration"]
    for name, m in models.items():
        assert m["frontend_ms"] + m["encoder_ms"] == pytest.approx(m["total_ms"], rel=1e-6), name
        assert m["rtf"] == pytest.approx(m["total_ms"] / 1000 / duration, rel=1e-6), name
        assert set(m["by_duration"]) == {"1", "2"}, name
    assert report["checkpoints"]["student"] == str(student)
    assert report["machine"]["threads"] == 1 and report["machine"]["device"] == "cpu"
    assert set(report["timing_rounds"]["inference"]) == {"1", "2"}
    # the settings of the speed protocol, nothing of the s3prl comparison
    assert set(report["settings"]) == {"device", "threads", "durations", "reference_duration", "warmup", "repeats",
                                       "max_foreign_share", "max_rounds", "quiet_wait_s", "seed", "autocast"}


def test_table_on_stdout(quick_run):
    stdout = quick_run[1]
    assert stdout.startswith("Inference, batch 1, 1 threads, 2 s utterance")
    assert "| teacher |" in stdout and "| student |" in stdout


def test_without_checkpoints_it_points_to_the_comparison(capsys):
    from espnet_distill.bin.benchmark import main

    with pytest.raises(SystemExit) as excinfo:
        main(["--quick"])
    assert excinfo.value.code == 2
    assert "benchmarks/compare_s3prl.py" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without a GPU")
def test_cuda_without_gpu_fails_clearly(capsys, tiny_teacher_ckpt):
    from espnet_distill.bin.benchmark import main

    with pytest.raises(SystemExit) as excinfo:
        main(["--device", "cuda", "--quick", "--model", f"teacher={tiny_teacher_ckpt}"])
    assert excinfo.value.code == 2
    err = capsys.readouterr().err
    assert "--device cuda needs a CUDA GPU" in err and "--device cpu" in err
