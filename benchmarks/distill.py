"""Distillation throughput: seconds per training step and peak memory, ours against s3prl's.

All variants (:data:`~benchmarks.steps.VARIANTS`) are built in this process
and timed interleaved: after ``step_warmup`` untimed steps each, every round runs each
variant once (order rotated per round); rounds disturbed by other processes are
repeated (:func:`~espnet_distill.benchmark.machine.collect_rounds`). Seconds per step
are medians over rounds; the speed-up is the median of per-round ``s3prl / ours`` ratios. Peak memory comes from a
fresh process per variant (:mod:`benchmarks.memory`).
"""

from __future__ import annotations

import logging
from typing import Any, Dict

import torch
from tqdm import tqdm

from benchmarks.memory import measure_in_subprocess
from benchmarks.models import TeacherFiles
from benchmarks.scales import Scale
from benchmarks.steps import VARIANTS, build_step, make_batch
from espnet_distill.benchmark.machine import collect_rounds, median, paired_ratio, timed

_LG = logging.getLogger(__name__)


def time_steps(scale: Scale, files: TeacherFiles, settings, device: torch.device):
    """Seconds of each timed step per variant (rounds aligned), and the rounds info.

    Rounds during which other processes took more than ``settings.max_foreign_share``
    of the CPUs are repeated, as for inference.
    """
    steps = {
        v: build_step(
            v, scale, files, device, settings.autocast_dtype, dt_fbank_disc_weight=settings.dt_fbank_disc_weight
        )
        for v in tqdm(VARIANTS, desc="build steps", unit="variant", dynamic_ncols=True)
    }
    batch = make_batch(settings.step_seconds, device, settings.seed)
    order = list(VARIANTS)
    total = len(VARIANTS) * (settings.step_warmup + settings.step_repeats)
    with tqdm(total=total, desc="distill steps", unit="step", dynamic_ncols=True) as bar:
        for _ in range(settings.step_warmup):
            for v in order:
                steps[v](batch)
                bar.update()

        def run_round(r: int) -> Dict[str, float]:
            if r >= settings.step_repeats:
                bar.total += len(order)
            out = {}
            for v in order[r % len(order):] + order[: r % len(order)]:
                bar.set_postfix_str(v)
                loss, seconds = timed(lambda: steps[v](batch), device)
                if not torch.isfinite(loss):
                    raise RuntimeError(f"distillation step {v!r} gave a non-finite loss {float(loss)}")
                out[v] = seconds
                bar.update()
            return out

        rounds = collect_rounds(
            run_round,
            settings.step_repeats,
            max_rounds=settings.max_rounds or 2 * settings.step_repeats,
            threshold=settings.max_foreign_share,
            wait_budget_s=settings.quiet_wait_s,
        )
    times = {v: [rounds.results[i][v] for i in rounds.used] for v in VARIANTS}
    return times, rounds.info()


def measure_peaks(files: TeacherFiles, settings) -> Dict[str, Dict[str, Any]]:
    """Peak memory of each variant, each in a fresh process."""
    peaks = {}
    for v in tqdm(VARIANTS, desc="peak memory", unit="process", dynamic_ncols=True):
        spec = {
            "variant": v,
            "scale": settings.scale,
            "device": settings.device,
            "threads": settings.threads,
            "autocast": "bf16" if settings.autocast_dtype is not None else "none",
            "teacher_fairseq": str(files.fairseq),
            "teacher_s3prl": str(files.s3prl),
            "step_seconds": list(settings.step_seconds),
            "steps": settings.memory_steps,
            "seed": settings.seed,
            "dt_fbank_disc_weight": settings.dt_fbank_disc_weight,
        }
        peaks[v] = measure_in_subprocess(spec)
    return peaks


def run_distill_benchmark(scale: Scale, files: TeacherFiles, settings, device: torch.device) -> Dict[str, Any]:
    """Time the steps, measure their peak memory, and return the ``distill_step`` report section."""
    times, rounds = time_steps(scale, files, settings, device)
    peaks = measure_peaks(files, settings)
    ours_s, s3prl_s, fbank_s = (median(times[v]) for v in VARIANTS)
    batch_seconds = sum(settings.step_seconds)
    return {
        "ours_s": ours_s,
        "s3prl_s": s3prl_s,
        "speedup": paired_ratio(times["s3prl"], times["ours"]),
        "ours_peak_mb": peaks["ours"]["peak_mb"],
        "s3prl_peak_mb": peaks["s3prl"]["peak_mb"],
        "peak_ratio": peaks["ours"]["peak_mb"] / max(peaks["s3prl"]["peak_mb"], 1e-9),
        "dt_fbank_s": fbank_s,
        "dt_fbank_peak_mb": peaks["dt_fbank"]["peak_mb"],
        "dt_fbank_speedup_over_ours": paired_ratio(times["ours"], times["dt_fbank"]),
        "ours_peak_total_mb": peaks["ours"]["peak_total_mb"],
        "s3prl_peak_total_mb": peaks["s3prl"]["peak_total_mb"],
        "dt_fbank_peak_total_mb": peaks["dt_fbank"]["peak_total_mb"],
        "audio_seconds_per_step": batch_seconds,
        "ours_audio_seconds_per_second": batch_seconds / ours_s,
        "s3prl_audio_seconds_per_second": batch_seconds / s3prl_s,
        "batch_seconds": list(settings.step_seconds),
        "memory_method": peaks["ours"]["method"],
        "memory_steps": settings.memory_steps,
        "times_s": {v: times[v] for v in VARIANTS},
        "rounds": rounds,
        "variants": {
            "ours": f"DistillModel, S&W student (sw_cnn without unit head), L_reg; {scale.name} scale",
            "s3prl": "s3prl DistillerModel + s3prl hubert teacher, DistillerForPretrain loss (L1 + cosine)",
            "dt_fbank": f"DistillModel, D&T-fbank student, L_reg + {settings.dt_fbank_disc_weight} L_disc",
        },
    }
