"""``python -m espnet_distill.bin.benchmark --model ... --quick``: every number of the report is produced.

The quick run uses one round of short utterances, so its timings mean nothing; the tests check
that each key a recipe reads exists, that the numbers that do not depend on timing hold
(parameter counts, MACs), that the timings and ratios add up, and that stdout carries the table alone.
Two students run in every variant (torch fp32 / int8, ONNX Runtime fp32 / int8), the default on a CPU
with the ``export`` extra installed.
"""

from __future__ import annotations

import contextlib
import io
import json
import math

import pytest
import torch

STUDENTS = ("student", "dt_fbank")
VARIANTS = ("int8", "onnx", "onnx_int8")  # besides fp32, the student's own row
# the keys of a recipe's benchmark.json, spelled out here (not imported from the code under test)
KEYS = (
    [f"models.{m}.{k}" for m in ("teacher",) + STUDENTS
     for k in ("params", "macs_per_second", "rtf", "frontend_ms", "encoder_ms", "total_ms")]
    + [f"models.{m}.{v}.{k}" for m in STUDENTS for v in VARIANTS for k in ("rtf", "total_ms")]
    + [f"ratios.{m}_speedup_over_teacher" for m in STUDENTS]
    + [f"ratios.{m}_{v}_speedup_over_teacher" for m in STUDENTS for v in VARIANTS]
    + ["ratios.student_mac_reduction_vs_teacher", "ratios.dt_fbank_int8_speedup_over_teacher"]
)


def _get(report, dotted):
    node = report
    for part in dotted.split("."):
        assert isinstance(node, dict) and part in node, f"report has no {dotted!r} (missing {part!r})"
        node = node[part]
    return node


class _QuietMachine:
    """A CPU monitor that sees no other process: exactly ``--repeats`` rounds run, all of them used."""

    def start(self):
        pass

    def stop(self):
        return 0.0

    def wait_for_quiet(self, threshold, timeout):
        return 0.0


@pytest.fixture(scope="module")
def quick_run(tiny_teacher_ckpt, tmp_path_factory):
    from espnet_distill.bin.benchmark import main
    from espnet_distill.student import build_student, save_student

    d = tmp_path_factory.mktemp("bench")
    students = {name: save_student(d / f"{name}.pth", build_student(preset))
                for name, preset in zip(STUDENTS, ("tiny_cnn", "tiny_fbank"))}
    out, stdout = d / "bench.json", io.StringIO()
    threads = torch.get_num_threads()
    try:
        with contextlib.redirect_stdout(stdout), pytest.MonkeyPatch.context() as patch:
            patch.setattr("espnet_distill.benchmark.inference.CpuMonitor", _QuietMachine)
            code = main(["--model", f"teacher={tiny_teacher_ckpt}",
                         *[f"--model={name}={path}" for name, path in students.items()],
                         "--quick", "--repeats", "1", "--threads", "1", "--json", str(out)])
    finally:
        torch.set_num_threads(threads)  # the run sets it for the whole process
    assert code == 0
    return json.loads(out.read_text()), stdout.getvalue(), students["student"]


def test_every_number_a_recipe_reads_is_there(quick_run):
    report = quick_run[0]
    assert report["settings"]["variants"] == ["fp32", *VARIANTS]  # the default on a CPU
    for key in KEYS:
        value = _get(report, key)
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{key}: {value!r}"
        assert value > 0 and math.isfinite(value), f"{key}: {value!r}"


def test_ratios_follow_from_the_rows(quick_run):
    """One round: each speed-up (the median of per-round ratios) is the teacher's time over the model's."""
    report = quick_run[0]
    assert {info["rounds_used"] for info in report["timing_rounds"]["inference"].values()} == {1}
    models, ref = report["models"], f"{report['settings']['reference_duration']:g}"
    teacher = models["teacher"]
    for name in STUDENTS:
        rows = {name: models[name], **{f"{name}_{v}": models[name][v] for v in VARIANTS}}
        for label, row in rows.items():
            assert report["ratios"][f"{label}_speedup_over_teacher"] == pytest.approx(teacher["rtf"] / row["rtf"])
            for s, by in row["by_duration"].items():
                assert report["ratios_by_duration"][s][f"{label}_speedup_over_teacher"] == pytest.approx(
                    teacher["by_duration"][s]["rtf"] / by["rtf"])
            assert row["rtf"] == row["by_duration"][ref]["rtf"]
    assert "student_int8_mac_reduction_vs_teacher" not in report["ratios"]  # no MACs for variants


def test_sizes_and_timings(quick_run):
    report, _, student = quick_run
    models = report["models"]
    assert models["student"]["params"] != models["teacher"]["params"]
    duration = report["settings"]["reference_duration"]
    for name, m in models.items():
        assert m["frontend_ms"] + m["encoder_ms"] == pytest.approx(m["total_ms"], rel=1e-6), name
        assert m["rtf"] == pytest.approx(m["total_ms"] / 1000 / duration, rel=1e-6), name
        assert set(m["by_duration"]) == {"1", "2"}, name
        for v in VARIANTS if name != "teacher" else ():
            assert m[v]["rtf"] == pytest.approx(m[v]["total_ms"] / 1000 / duration, rel=1e-6), (name, v)
            assert set(m[v]["by_duration"]) == {"1", "2"}, (name, v)
    assert set(models["teacher"]) & set(VARIANTS) == set()  # the teacher runs in fp32 only
    assert report["checkpoints"]["student"] == str(student)
    assert report["machine"]["threads"] == 1 and report["machine"]["device"] == "cpu"
    assert set(report["timing_rounds"]["inference"]) == {"1", "2"}
    # the settings of the speed protocol, nothing of the s3prl comparison
    assert set(report["settings"]) == {"device", "threads", "durations", "reference_duration", "warmup", "repeats",
                                       "max_foreign_share", "max_rounds", "quiet_wait_s", "seed", "autocast",
                                       "variants"}


def test_table_on_stdout(quick_run):
    report, stdout = quick_run[:2]
    assert stdout.startswith("Inference, batch 1, 1 threads, 2 s utterance")
    assert "| teacher |" in stdout and "| student |" in stdout and "| dt_fbank |" in stdout
    rows = {line.split("|")[1].strip(): line for line in stdout.splitlines() if line.startswith("| ")}
    for name in STUDENTS:
        for v in VARIANTS:
            row, speedup = report["models"][name][v], report["ratios"][f"{name}_{v}_speedup_over_teacher"]
            assert rows[f"{name} {v}"].endswith(f"| {row['rtf']:.4f} | {speedup:.2f}x |"), rows[f"{name} {v}"]


@pytest.mark.parametrize("variants, message", [
    ("int8,onnx", "fp32 is needed"),
    ("fp32,tensorrt", "unknown ['tensorrt']"),
])
def test_bad_variants_fail_clearly(variants, message, capsys, tiny_teacher_ckpt):
    from espnet_distill.bin.benchmark import main

    with pytest.raises(SystemExit) as excinfo:
        main(["--quick", "--model", f"teacher={tiny_teacher_ckpt}", "--variants", variants])
    assert excinfo.value.code == 2
    assert message in capsys.readouterr().err


def test_onnx_rows_without_the_export_extra(monkeypatch, capsys, caplog, tiny_teacher_ckpt):
    """Asked for: an error naming the extra; by default: left out, with a warning."""
    import espnet_distill.export.speed as speed
    from espnet_distill.bin.benchmark import main

    monkeypatch.setattr(speed, "missing_onnx_modules", lambda: ["onnxruntime"])
    with caplog.at_level("WARNING", logger="espnet_distill.export.speed"):
        assert speed.resolve_variants(None, "cpu") == ("fp32", "int8")
    assert "no ONNX rows: onnxruntime not installed" in caplog.text
    assert speed.resolve_variants(["fp32", "int8"], "cpu") == ("fp32", "int8")  # no ONNX asked for: no error
    with pytest.raises(SystemExit) as excinfo:
        main(["--quick", "--model", f"teacher={tiny_teacher_ckpt}", "--variants", "fp32,onnx"])
    assert excinfo.value.code == 2
    err = capsys.readouterr().err
    assert "the ONNX rows need onnxruntime" in err and "espnet-distill[export]" in err


def test_variants_are_cpu_only():
    from espnet_distill.export.speed import resolve_variants

    assert resolve_variants(None, "cuda") == ("fp32",)
    with pytest.raises(ValueError, match="run on the CPU; on cuda give fp32 alone"):
        resolve_variants(["fp32", "int8"], "cuda")


def test_presets_are_timed_with_random_weights():
    """Without --model the table users compare on: HuBERT Base and the four students of the paper,
    random weights, sized exactly as the reference implementation and the presets say."""
    import torchaudio

    from espnet_distill.benchmark.checkpoints import DEFAULT_MODELS, load_upstream

    assert DEFAULT_MODELS == (("teacher", "preset:hubert_base"), ("sw_cnn", "preset:sw_cnn"),
                              ("dt_cnn", "preset:dt_cnn"), ("sw_fbank", "preset:sw_fbank"),
                              ("dt_fbank", "preset:dt_fbank"))
    teacher = load_upstream("teacher", "preset:hubert_base", torch.device("cpu"))
    assert teacher.params == sum(p.numel() for p in torchaudio.models.hubert_base().parameters())
    student = load_upstream("dt_fbank", "preset:dt_fbank", torch.device("cpu"))
    assert student.params == 19_107_008  # D&T-fbank, the abstract's -17 % model (presets.py)
    with pytest.raises(ValueError, match="unknown student preset .nope."):
        load_upstream("x", "preset:nope", torch.device("cpu"))


def test_preset_models_on_the_command_line(tmp_path, capsys):
    from espnet_distill.bin.benchmark import main

    out = tmp_path / "b.json"
    assert main(["--model", "teacher=preset:hubert_base", "--model", "dt_fbank=preset:tiny_fbank", "--durations", "1",
                 "--repeats", "1", "--variants", "fp32,int8", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["models"]["teacher"]["params"] > 90e6 and report["models"]["dt_fbank"]["params"] < 3e6
    assert report["ratios"]["dt_fbank_int8_speedup_over_teacher"] > 1.0  # a 2 M student beats a 94 M teacher
    assert "dt_fbank int8" in capsys.readouterr().out


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without a GPU")
def test_cuda_without_gpu_fails_clearly(capsys, tiny_teacher_ckpt):
    from espnet_distill.bin.benchmark import main

    with pytest.raises(SystemExit) as excinfo:
        main(["--device", "cuda", "--quick", "--model", f"teacher={tiny_teacher_ckpt}"])
    assert excinfo.value.code == 2
    err = capsys.readouterr().err
    assert "--device cuda needs a CUDA GPU" in err and "--device cpu" in err
