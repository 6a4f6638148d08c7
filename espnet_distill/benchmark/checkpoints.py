"""Time given checkpoints side by side (a recipe's own teacher and student), batch 1.

``bin.benchmark --model NAME=FILE`` loads each file (student checkpoints with :func:`~espnet_distill.student.load_student`,
anything else with :func:`~espnet_distill.teacher.load_teacher`), counts MACs and times them
interleaved (:mod:`.inference`), students also as their int8 / ONNX ``variants`` in the same rounds
(:mod:`espnet_distill.export.speed`). Ratios are against the model named ``teacher`` when there is one.

JSON layout (numbers are positive and finite)::

    machine:   cpu, logical_cpus, threads, torch, torchaudio, device, device_name, load averages
    settings:  what was run (BenchmarkSettings), and the variants of the students
    models.<name>:  params, macs_per_second (+ frontend_/encoder_), rtf, frontend_ms,
                    encoder_ms, total_ms (at the reference duration), by_duration.<s>
    models.<name>.<variant>:  a student's int8 / onnx / onnx_int8 run: rtf, total_ms, by_duration.<s>
    ratios:    <name>_speedup_over_teacher, <name>_<variant>_speedup_over_teacher,
               <name>_mac_reduction_vs_teacher
    ratios_by_duration.<s>: the speed-ups at each duration
    timing_rounds.inference.<s>: rounds run / undisturbed by other processes / used, foreign CPU shares
    checkpoints.<name>, wall_seconds: the files, the time of the whole run
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

from espnet_distill.benchmark.inference import run_inference_benchmark
from espnet_distill.benchmark.machine import describe_machine, load_average
from espnet_distill.benchmark.settings import BenchmarkSettings, check_device
from espnet_distill.benchmark.upstreams import Upstream, student_upstream, teacher_upstream


#: ``--model NAME=preset:P``: random weights of student preset P or of HuBERT Base (``preset:hubert_base``);
#: without ``--model``, ``bin.benchmark`` times ``DEFAULT_MODELS``, the table users compare on.
PRESET = "preset:"
DEFAULT_MODELS = tuple((n, PRESET + ("hubert_base" if n == "teacher" else n))
                       for n in ("teacher", "sw_cnn", "dt_cnn", "sw_fbank", "dt_fbank"))


def load_upstream(name: str, path: Path, device: torch.device) -> Upstream:
    from espnet_distill.student import CheckpointError, build_student, get_preset, load_student, read_checkpoint
    from espnet_distill.teacher import BackboneConfig, load_teacher, random_teacher

    if str(path).startswith(PRESET):  # random weights: speed does not depend on them
        preset = str(path)[len(PRESET):]
        if preset == "hubert_base":
            return teacher_upstream(random_teacher(BackboneConfig()).to(device), "HuBERT Base (random weights)", name)
        torch.manual_seed(0)
        return student_upstream(name, build_student(get_preset(preset)).to(device).eval(), f"{preset} (random weights)")

    try:
        read_checkpoint(path)
        is_student = True
    except (CheckpointError, IsADirectoryError, OSError):
        is_student = False
    if is_student:
        student = load_student(path).to(device).eval()
        return student_upstream(name, student, f"student {student.config.name or ''} ({path})")
    teacher = load_teacher(path, device=device)
    return teacher_upstream(teacher, f"{teacher.source_format} teacher ({path})", name)


def run_checkpoint_benchmark(models: List[Tuple[str, Path]], settings: BenchmarkSettings,
                             variants: Optional[Sequence[str]] = ("fp32",)) -> Dict[str, Any]:
    """Inference numbers of the given checkpoints (the JSON layout of the module docstring), every student
    in each of ``variants`` (None: all that run here, :func:`~espnet_distill.export.speed.resolve_variants`)."""
    from espnet_distill.export.speed import resolve_variants, student_variants

    variants = resolve_variants(variants, settings.device)
    device = check_device(settings.device)
    torch.set_num_threads(settings.threads)
    started = time.perf_counter()
    upstreams = [load_upstream(name, path, device) for name, path in models]
    report: Dict[str, Any] = {"machine": describe_machine(device),
                              "settings": {**settings.to_dict(), "variants": list(variants)}}
    with tempfile.TemporaryDirectory(prefix="espnet_distill_benchmark_") as work:  # the ONNX files
        upstreams += student_variants(upstreams, variants, settings.threads, work)
        inference = run_inference_benchmark(upstreams, settings, device)
    report["timing_rounds"] = {"inference": inference.pop("inference_rounds")}
    report.update(inference)
    report["checkpoints"] = {name: str(path) for name, path in models}
    report["machine"]["load_average_end"] = load_average()
    report["wall_seconds"] = time.perf_counter() - started
    return report


def checkpoint_markdown(report: Dict[str, Any]) -> str:
    """The report as a markdown table; a student's variants (int8, ONNX) are rows of their own below it."""
    ref = f"{report['settings']['reference_duration']:g}"
    lines = [f"Inference, batch 1, {report['machine']['threads']} threads, {ref} s utterance "
             f"({report['machine']['device_name']}):", "",
             "| model | params (M) | GMACs / s audio | front-end ms | encoder ms | total ms | RTF | speed-up vs teacher |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]

    def speedup(label: str) -> str:
        x = report["ratios"].get(f"{label}_speedup_over_teacher", 1.0 if label == "teacher" else None)
        return "n/a" if x is None else f"{x:.2f}x"

    for name, m in report["models"].items():
        lines.append(f"| {name} | {m['params'] / 1e6:.2f} | {m['macs_per_second'] / 1e9:.3f} | {m['frontend_ms']:.1f} "
                     f"| {m['encoder_ms']:.1f} | {m['total_ms']:.1f} | {m['rtf']:.4f} | {speedup(name)} |")
        for v in [v for v in report["settings"].get("variants", ()) if v in m]:
            total, rtf = m[v]["total_ms"], m[v]["rtf"]
            lines.append(f"| {name} {v} | | | | | {total:.1f} | {rtf:.4f} | {speedup(f'{name}_{v}')} |")
    return "\n".join(lines) + "\n"
