"""Inference timing with the protocol of the authors' scripts/speed_test.py.

Upstream forward only, batch 1, a fixed number of threads, ``torch.inference_mode()``;
the front-end and the encoder are timed separately. For every duration each model is
run ``warmup`` times untimed, then rounds follow; one round runs every model once,
interleaved (model order rotated each round), so that a slow spell of a shared machine
hits every model alike. Rounds during which other processes took more than
``max_foreign_share`` of the CPUs are repeated (up to ``max_rounds``): two threads
sharing their cores with another job slow down unevenly, a model of many small
operations (D&T) far more than one of few large ones. Reported: medians over the
undisturbed rounds, and speed-ups as medians of per-round ratios.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from tqdm import tqdm

from espnet_distill.benchmark.machine import CpuMonitor, collect_rounds, median, paired_ratio, timed
from espnet_distill.benchmark.macs import count_macs
from espnet_distill.benchmark.upstreams import Upstream
from espnet_distill.common import SAMPLE_RATE

_LG = logging.getLogger(__name__)


def make_inputs(durations: Sequence[float], device: torch.device, seed: int = 0) -> Dict[float, torch.Tensor]:
    """One ``(1, N)`` random waveform (amplitude ~0.1) per duration."""
    gen = torch.Generator().manual_seed(seed)
    return {d: (0.1 * torch.randn(1, int(round(d * SAMPLE_RATE)), generator=gen)).to(device) for d in durations}


def _run_once(upstream: Upstream, wavs: torch.Tensor, device: torch.device, autocast_dtype) -> tuple:
    """Front-end and encoder wall times (seconds) of one forward."""
    lengths = torch.tensor([wavs.shape[1]], device=device)
    autocast = (
        torch.autocast(device.type, dtype=autocast_dtype) if autocast_dtype is not None else contextlib.nullcontext()
    )
    with torch.inference_mode(), autocast:
        state, t_front = timed(lambda: upstream.frontend(wavs, lengths), device)
        _, t_enc = timed(lambda: upstream.encoder(state), device)
    return t_front, t_enc


def time_inference(
    upstreams: List[Upstream],
    durations: Sequence[float],
    device: torch.device,
    *,
    warmup: int = 1,
    repeats: int = 5,
    max_rounds: Optional[int] = None,
    max_foreign_share: float = 0.1,
    quiet_wait_s: float = 0.0,
    autocast_dtype: Optional[torch.dtype] = None,
    seed: int = 0,
) -> Tuple[Dict[str, Dict[float, Dict[str, List[float]]]], Dict[str, Any]]:
    """Time every upstream on every duration, interleaved, in rounds undisturbed by other processes.

    For each duration: ``warmup`` untimed runs of every model, then rounds (every model
    once, order rotated) until ``repeats`` of them ran while other processes took at most
    ``max_foreign_share`` of the CPUs, or ``max_rounds`` (default ``2 * repeats``) ran
    (see :func:`~espnet_distill.benchmark.machine.collect_rounds`).

    Returns:
        ``{model: {duration: {"frontend": [s, ...], "encoder": [...], "total": [...]}}}`` over
        the rounds used (aligned across models), and ``{duration: rounds info}``.
    """
    inputs = make_inputs(durations, device, seed)
    times: Dict[str, Dict[float, Dict[str, List[float]]]] = {
        u.name: {d: {"frontend": [], "encoder": [], "total": []} for d in durations} for u in upstreams
    }
    rounds_info: Dict[str, Any] = {}
    monitor = CpuMonitor()
    max_rounds = max_rounds or 2 * repeats
    with tqdm(total=(warmup + repeats) * len(durations) * len(upstreams), desc="inference", unit="run",
              dynamic_ncols=True) as bar:
        for d in durations:
            for _ in range(warmup):
                for upstream in upstreams:
                    _run_once(upstream, inputs[d], device, autocast_dtype)
                    bar.update()

            def run_round(r: int, d: float = d) -> Dict[str, tuple]:
                if r >= repeats:  # a repeated round
                    bar.total += len(upstreams)
                out = {}
                for upstream in upstreams[r % len(upstreams):] + upstreams[: r % len(upstreams)]:
                    bar.set_postfix_str(f"{upstream.name} {d:g}s")
                    out[upstream.name] = _run_once(upstream, inputs[d], device, autocast_dtype)
                    bar.update()
                return out

            rounds = collect_rounds(run_round, repeats, max_rounds=max_rounds, threshold=max_foreign_share,
                                    monitor=monitor, wait_budget_s=quiet_wait_s)
            rounds_info[f"{d:g}"] = rounds.info()
            for i in rounds.used:
                for name, (t_front, t_enc) in rounds.results[i].items():
                    entry = times[name][d]
                    entry["frontend"].append(t_front)
                    entry["encoder"].append(t_enc)
                    entry["total"].append(t_front + t_enc)
    return times, rounds_info


def time_upstreams(upstreams: List[Upstream], settings, device: torch.device) -> Tuple[dict, Dict[str, Any]]:
    """:func:`time_inference` with the durations, rounds and seed of ``settings`` (``BenchmarkSettings``)."""
    return time_inference(upstreams, settings.durations, device, warmup=settings.warmup, repeats=settings.repeats,
                          max_rounds=settings.max_rounds, max_foreign_share=settings.max_foreign_share,
                          quiet_wait_s=settings.quiet_wait_s, autocast_dtype=settings.autocast_dtype,
                          seed=settings.seed)


def summarize_inference(
    upstreams: List[Upstream],
    times: Dict[str, Dict[float, Dict[str, List[float]]]],
    macs: Dict[str, Dict[str, float]],
    reference_duration: float,
    baselines: Sequence[str] = ("teacher",),
) -> Dict[str, Any]:
    """Per-model numbers (at ``reference_duration`` and per duration) and the speed-up ratios: over each
    of ``baselines`` that was timed (``<name>_speedup_over_<baseline>``, ``<of>_<variant>_...`` for a
    variant), MAC reductions over ``teacher``. A variant's row, ``models.<of>.<variant>``, has totals
    only (ONNX Runtime runs one graph) and no MACs (``macs`` has none for it).

    Returns:
        ``{"models": {...}, "ratios": {...}, "ratios_by_duration": {...}}`` (see the JSON
        layout in :mod:`espnet_distill.benchmark.checkpoints`).
    """
    models: Dict[str, Any] = {}
    for u in sorted(upstreams, key=lambda u: u.of is not None):  # a variant's row goes into its model's
        by_duration = {}
        for d, entry in times[u.name].items():
            total = median(entry["total"])
            by_duration[f"{d:g}"] = {
                "frontend_ms": 1e3 * median(entry["frontend"]),
                "encoder_ms": 1e3 * median(entry["encoder"]),
                "total_ms": 1e3 * total,
                "rtf": total / d,
            }
        ref = by_duration[f"{reference_duration:g}"]
        if u.of is not None:
            models[u.of][u.variant] = {
                "description": u.description, "total_ms": ref["total_ms"], "rtf": ref["rtf"],
                "by_duration": {s: {"total_ms": v["total_ms"], "rtf": v["rtf"]} for s, v in by_duration.items()},
            }
            continue
        models[u.name] = {"description": u.description, "params": u.params, **macs[u.name],
                          **{k: ref[k] for k in ("frontend_ms", "encoder_ms", "total_ms", "rtf")},
                          "frontend_share": ref["frontend_ms"] / ref["total_ms"], "by_duration": by_duration}
    ratios_by_duration = {}
    for d in next(iter(times.values())):
        ratios = {}
        for u in upstreams:
            label = u.name if u.of is None else f"{u.of}_{u.variant}"
            totals = times[u.name][d]["total"]
            for base in baselines:
                if u.name != base and base in times:
                    ratios[f"{label}_speedup_over_{base}"] = paired_ratio(times[base][d]["total"], totals)
        ratios_by_duration[f"{d:g}"] = ratios
    ratios = dict(ratios_by_duration[f"{reference_duration:g}"])
    for name in macs:
        if name != "teacher" and "teacher" in macs:
            teacher_macs = macs["teacher"]["macs_per_second"]
            ratios[f"{name}_mac_reduction_vs_teacher"] = teacher_macs / macs[name]["macs_per_second"]
    return {"models": models, "ratios": ratios, "ratios_by_duration": ratios_by_duration}


def run_inference_benchmark(
    upstreams: List[Upstream], settings, device: torch.device, baselines: Sequence[str] = ("teacher",)
) -> Dict[str, Any]:
    """Count MACs at the reference duration (not of variants), time all, summarise (speed-ups over ``baselines``)."""
    macs = {}
    for u in tqdm([u for u in upstreams if u.of is None], desc="MACs", unit="model", dynamic_ncols=True):
        macs[u.name] = count_macs(u, settings.reference_duration, device, settings.autocast_dtype, settings.seed)
    times, rounds = time_upstreams(upstreams, settings, device)
    summary = summarize_inference(upstreams, times, macs, settings.reference_duration, baselines)
    summary["inference_rounds"] = rounds
    return summary
