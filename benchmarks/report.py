"""The comparison's report: its JSON layout, the markdown tables and the PNG chart.

JSON layout (numbers are positive and finite; the first five as
:mod:`espnet_distill.benchmark.checkpoints` writes them for given checkpoints)::

    machine:   cpu, logical_cpus, threads, torch, torchaudio, device, device_name, load averages
    settings:  what was run (ComparisonSettings)
    models.<name>:  params, macs_per_second (+ frontend_/encoder_), rtf, frontend_ms,
                    encoder_ms, total_ms (at the reference duration), by_duration.<s>
    ratios:    <model>_speedup_over_teacher, <model>_speedup_over_dt_cnn (incl.
               dt_fbank_speedup_over_dt_cnn), <model>_mac_reduction_vs_teacher
    ratios_by_duration.<s>: the speed-ups at each duration
    distill_step: ours_s, s3prl_s, speedup (s3prl_s / ours_s), ours_peak_mb,
                  s3prl_peak_mb, peak_ratio, dt_fbank_s, dt_fbank_peak_mb, ...
    timing_rounds: per inference duration and for the steps: rounds run, rounds
                   undisturbed by other processes, rounds used, their foreign CPU shares

``<name>`` is one of ``teacher, sw_cnn, dt_cnn, sw_fbank, dt_fbank, distilhubert``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List

from benchmarks.scales import MODELS, STUDENTS

_LG = logging.getLogger(__name__)

#: Keys every report has (dotted paths); each is a positive finite number.
REQUIRED_KEYS: List[str] = (
    [f"models.{m}.{k}" for m in MODELS for k in ("params", "macs_per_second", "rtf", "frontend_ms", "encoder_ms")]
    + ["ratios.dt_fbank_speedup_over_dt_cnn"]
    + [f"ratios.{m}_speedup_over_teacher" for m in STUDENTS + ("distilhubert",)]
    + [f"distill_step.{k}" for k in ("ours_s", "s3prl_s", "speedup", "ours_peak_mb", "s3prl_peak_mb", "dt_fbank_s")]
)

LABELS = {
    "teacher": "HuBERT Base (teacher)",
    "sw_cnn": "S&W CNN (sw_cnn)",
    "dt_cnn": "D&T CNN (dt_cnn)",
    "sw_fbank": "S&W fbank (sw_fbank)",
    "dt_fbank": "D&T fbank (dt_fbank)",
    "distilhubert": "DistilHuBERT (s3prl)",
}


def _label(name: str, report: Dict[str, Any]) -> str:
    if name == "teacher" and report["settings"]["scale"] != "base":
        return f"teacher ({report['settings']['scale']})"
    return LABELS.get(name, name)


def lookup(report: Dict[str, Any], dotted: str) -> Any:
    """``report["a"]["b"]`` for ``"a.b"``; KeyError naming the missing part."""
    node: Any = report
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"report has no {dotted!r} (missing {part!r})")
        node = node[part]
    return node


def _fmt(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def _rounds(info: Dict[str, Any]) -> str:
    """``5 interleaved rounds (2 more discarded: other processes busy)``."""
    text = f"{info['rounds_used']} interleaved rounds"
    if not info["only_clean_rounds_used"]:
        return text + f", {info['rounds'] - info['clean_rounds']} of them disturbed by other processes"
    if info["rounds"] > info["rounds_used"]:
        return text + f" ({info['rounds'] - info['rounds_used']} more discarded: other processes busy)"
    return text


def inference_table(report: Dict[str, Any]) -> str:
    """Markdown: one row per model at the reference duration."""
    s = report["settings"]
    ref = f"{s['reference_duration']:g}"
    ratios = report["ratios"]
    lines = [
        f"Inference, batch 1, {report['machine']['threads']} threads, {ref} s utterance "
        f"(median of {_rounds(report['timing_rounds']['inference'][ref])}; {report['machine']['device_name']}):",
        "",
        "| model | params (M) | GMACs / s audio (front-end + encoder) | front-end ms | encoder ms | total ms "
        "| RTF | front-end share | speed-up vs teacher | speed-up vs dt_cnn |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, m in report["models"].items():
        vs_teacher = ratios.get(f"{name}_speedup_over_teacher", 1.0)
        vs_dt = ratios.get(f"{name}_speedup_over_dt_cnn", 1.0)
        lines.append(
            f"| {_label(name, report)} | {_fmt(m['params'] / 1e6)} | {_fmt(m['macs_per_second'] / 1e9)} "
            f"({_fmt(m['frontend_macs_per_second'] / 1e9)} + {_fmt(m['encoder_macs_per_second'] / 1e9)}) "
            f"| {_fmt(m['frontend_ms'], 1)} | {_fmt(m['encoder_ms'], 1)} | {_fmt(m['total_ms'], 1)} "
            f"| {_fmt(m['rtf'], 4)} | {m['frontend_share']:.0%} | {_fmt(vs_teacher)}x | {_fmt(vs_dt)}x |"
        )
    return "\n".join(lines)


def duration_table(report: Dict[str, Any]) -> str:
    """Markdown: total ms and speed-up over dt_cnn per duration."""
    durations = [f"{d:g}" for d in report["settings"]["durations"]]
    lines = [
        "Total ms per utterance (speed-up vs dt_cnn) by duration:",
        "",
        "| model | " + " | ".join(f"{d} s" for d in durations) + " |",
        "| --- |" + " ---: |" * len(durations),
    ]
    for name, m in report["models"].items():
        cells = []
        for d in durations:
            ratio = report["ratios_by_duration"][d].get(f"{name}_speedup_over_dt_cnn", 1.0)
            cells.append(f"{_fmt(m['by_duration'][d]['total_ms'], 1)} ({_fmt(ratio)}x)")
        lines.append(f"| {_label(name, report)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def distill_table(report: Dict[str, Any]) -> str:
    """Markdown: seconds per step and peak memory of the distillation steps."""
    d = report["distill_step"]
    batch = " + ".join(f"{s:g}" for s in d["batch_seconds"])
    lines = [
        f"Distillation step (teacher fwd + student fwd/bwd + AdamW step), batch {batch} s of audio "
        f"(median of {_rounds(report['timing_rounds']['distill_step'])}; peak = {d['memory_method']}, "
        f"fresh process, {d['memory_steps']} step(s)):",
        "",
        "| step | s / step | audio s / s | peak MB above baseline | peak RSS / allocated MB |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| ours: DistillModel, sw_cnn (L_reg) | {_fmt(d['ours_s'])} | {_fmt(d['ours_audio_seconds_per_second'])} "
        f"| {d['ours_peak_mb']:.0f} | {d['ours_peak_total_mb']:.0f} |",
        f"| s3prl: DistilHuBERT pre-training step | {_fmt(d['s3prl_s'])} "
        f"| {_fmt(d['s3prl_audio_seconds_per_second'])} | {d['s3prl_peak_mb']:.0f} | {d['s3prl_peak_total_mb']:.0f} |",
        f"| ours: DistillModel, dt_fbank (L_reg + L_disc) | {_fmt(d['dt_fbank_s'])} "
        f"| {_fmt(d['audio_seconds_per_step'] / d['dt_fbank_s'])} | {d['dt_fbank_peak_mb']:.0f} "
        f"| {d['dt_fbank_peak_total_mb']:.0f} |",
        "",
        f"ours vs s3prl: speed ratio (s3prl s / ours s, median of paired rounds) {_fmt(d['speedup'])}; "
        f"peak memory ratio (ours / s3prl) {_fmt(d['peak_ratio'])}.",
    ]
    return "\n".join(lines)


def markdown(report: Dict[str, Any]) -> str:
    """All tables, with the headline ratios first."""
    r = report["ratios"]
    head = (
        f"**dt_fbank vs dt_cnn: {_fmt(r['dt_fbank_speedup_over_dt_cnn'])}x faster; dt_fbank vs teacher: "
        f"{_fmt(r['dt_fbank_speedup_over_teacher'])}x; distillation step ours vs s3prl: "
        f"{_fmt(report['distill_step']['speedup'])}x** (scale: {report['settings']['scale']})"
    )
    return "\n\n".join([head, inference_table(report), duration_table(report), distill_table(report)]) + "\n"


def plot(report: Dict[str, Any], path: Path) -> Path:
    """A three-panel PNG: front-end/encoder ms per model, RTF by duration, step seconds and peaks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = report["models"]
    names = list(models)
    labels = [_label(n, report).replace(" (teacher)", "").split(" (s3prl)")[0].split(" (")[0] for n in names]
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2))
    ax = axes[0]
    front = [models[n]["frontend_ms"] for n in names]
    enc = [models[n]["encoder_ms"] for n in names]
    ax.bar(labels, front, label="front-end", color="#d95f02")
    ax.bar(labels, enc, bottom=front, label="encoder", color="#1b9e77")
    ax.set_ylabel("ms per utterance")
    ax.set_title(f"Inference, {report['settings']['reference_duration']:g} s utterance, batch 1")
    ax.legend()
    ax.tick_params(axis="x", rotation=30)
    ax = axes[1]
    durations = [f"{d:g}" for d in report["settings"]["durations"]]
    for n, label in zip(names, labels):
        ax.plot([float(d) for d in durations], [models[n]["by_duration"][d]["rtf"] for d in durations],
                marker="o", label=label)
    ax.set_xlabel("utterance (s)")
    ax.set_ylabel("real-time factor")
    ax.set_ylim(bottom=0)
    ax.set_title(f"RTF, {report['machine']['threads']} threads ({report['machine']['device']})")
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    ax = axes[2]
    d = report["distill_step"]
    bars = ax.bar(["ours (sw_cnn)", "s3prl DistilHuBERT", "ours (dt_fbank)"],
                  [d["ours_s"], d["s3prl_s"], d["dt_fbank_s"]], color=["#1b9e77", "#7570b3", "#d95f02"])
    for bar, mb in zip(bars, [d["ours_peak_mb"], d["s3prl_peak_mb"], d["dt_fbank_peak_mb"]]):
        ax.annotate(f"peak {mb:.0f} MB", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("seconds per training step")
    ax.set_title(f"Distillation step, batch {sum(d['batch_seconds']):g} s of audio")
    ax.tick_params(axis="x", rotation=15)
    fig.suptitle(
        f"espnet_distill benchmark ({report['settings']['scale']} scale) on {report['machine']['device_name']}",
        fontsize=10,
    )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
