"""Time given checkpoints side by side (a recipe's own teacher and student), batch 1.

``python -m espnet_distill.bin.benchmark --model teacher=exp/teacher --model student=exp/student/student.pth``
loads each file (student checkpoints with :func:`~espnet_distill.student.load_student`,
anything else with :func:`~espnet_distill.teacher.load_teacher`), counts MACs and times them
interleaved (:mod:`.inference`). Ratios are against the model named ``teacher`` when there is one.

JSON layout (numbers are positive and finite)::

    machine:   cpu, logical_cpus, threads, torch, torchaudio, device, device_name, load averages
    settings:  what was run (BenchmarkSettings)
    models.<name>:  params, macs_per_second (+ frontend_/encoder_), rtf, frontend_ms,
                    encoder_ms, total_ms (at the reference duration), by_duration.<s>
    ratios:    <name>_speedup_over_teacher, <name>_mac_reduction_vs_teacher
    ratios_by_duration.<s>: the speed-ups at each duration
    timing_rounds.inference.<s>: rounds run / undisturbed by other processes / used, foreign CPU shares
    checkpoints.<name>, wall_seconds: the files, the time of the whole run
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import torch

from espnet_distill.benchmark.inference import run_inference_benchmark
from espnet_distill.benchmark.machine import describe_machine, load_average
from espnet_distill.benchmark.settings import BenchmarkSettings, check_device
from espnet_distill.benchmark.upstreams import Upstream, student_upstream, teacher_upstream


def parse_models(specs: List[str]) -> List[Tuple[str, Path]]:
    """``["name=path", ...]`` -> ``[(name, path)]``; names must be distinct, files must exist."""
    out, seen = [], set()
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--model {spec!r}: expected NAME=CHECKPOINT")
        if name in seen:
            raise ValueError(f"--model: the name {name!r} is given twice")
        if not Path(path).exists():
            raise ValueError(f"--model {name}={path}: no such file or directory")
        seen.add(name)
        out.append((name, Path(path)))
    return out


def load_upstream(name: str, path: Path, device: torch.device) -> Upstream:
    from espnet_distill.student import CheckpointError, load_student, read_checkpoint

    try:
        read_checkpoint(path)
        is_student = True
    except (CheckpointError, IsADirectoryError, OSError):
        is_student = False
    if is_student:
        student = load_student(path).to(device).eval()
        return student_upstream(name, student, f"student {student.config.name or ''} ({path})")
    from espnet_distill.teacher import load_teacher

    teacher = load_teacher(path, device=device)
    upstream = teacher_upstream(teacher, f"{teacher.source_format} teacher ({path})")
    upstream.name = name
    return upstream


def run_checkpoint_benchmark(models: List[Tuple[str, Path]], settings: BenchmarkSettings) -> Dict[str, Any]:
    """Inference numbers of the given checkpoints (the JSON layout of the module docstring)."""
    device = check_device(settings.device)
    torch.set_num_threads(settings.threads)
    started = time.perf_counter()
    upstreams = [load_upstream(name, path, device) for name, path in models]
    report: Dict[str, Any] = {"machine": describe_machine(device), "settings": settings.to_dict()}
    inference = run_inference_benchmark(upstreams, settings, device)
    report["timing_rounds"] = {"inference": inference.pop("inference_rounds")}
    report.update(inference)
    report["checkpoints"] = {name: str(path) for name, path in models}
    report["machine"]["load_average_end"] = load_average()
    report["wall_seconds"] = time.perf_counter() - started
    return report


def checkpoint_markdown(report: Dict[str, Any]) -> str:
    ref = f"{report['settings']['reference_duration']:g}"
    lines = [f"Inference, batch 1, {report['machine']['threads']} threads, {ref} s utterance "
             f"({report['machine']['device_name']}):", "",
             "| model | params (M) | GMACs / s audio | front-end ms | encoder ms | total ms | RTF | speed-up vs teacher |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, m in report["models"].items():
        speedup = report["ratios"].get(f"{name}_speedup_over_teacher", 1.0 if name == "teacher" else None)
        lines.append(f"| {name} | {m['params'] / 1e6:.2f} | {m['macs_per_second'] / 1e9:.3f} | {m['frontend_ms']:.1f} "
                     f"| {m['encoder_ms']:.1f} | {m['total_ms']:.1f} | {m['rtf']:.4f} "
                     f"| {'n/a' if speedup is None else f'{speedup:.2f}x'} |")
    return "\n".join(lines) + "\n"
