"""Turn a collected experiment into report.json, report.md and PNG plots."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, List, Optional

from espnet_distill.report import frozen as frozen_report

_LG = logging.getLogger(__name__)


def verdict(student: Dict, scratch: Optional[Dict]) -> Dict:
    """Compare the arms' mean CERs with their seed spread (sample std); plain words."""
    if scratch is None:
        return {"text": "no from-scratch control was run (--control false)"}
    gain = scratch["cer"] - student["cer"]  # > 0: distillation helped
    n = len(student["seeds"])
    spread = max(student["cer_stats"]["std"] or 0.0, scratch["cer_stats"]["std"] or 0.0)
    out = {"cer_gain_points": 100 * gain, "seed_spread_points": 100 * spread if n > 1 else None, "seeds": n}
    if n < 2:
        out["text"] = (f"distilled {100 * student['cer']:.1f} % vs scratch {100 * scratch['cer']:.1f} % CER with one seed "
                       "per arm: a single seed cannot tell a gain from seed noise (run --seeds 3)")
    elif gain > spread:
        out["text"] = (f"distillation beat scratch by {100 * gain:.1f} CER points, more than the seed spread "
                       f"({100 * spread:.1f} points, {n} seeds per arm)")
    elif gain > 0:
        out["text"] = (f"distillation was {100 * gain:.1f} CER points better on average, but within the seed spread "
                       f"({100 * spread:.1f} points, {n} seeds per arm): not a reliable gain")
    else:
        out["text"] = (f"distillation did not beat scratch: {100 * -gain:.1f} CER points worse on average "
                       f"(seed spread {100 * spread:.1f} points, {n} seeds per arm)")
    out["beats_scratch_beyond_spread"] = bool(n > 1 and gain > spread)
    return out


def markdown(report: Dict) -> str:
    t, s, c = report["teacher"], report["student"], report.get("scratch")
    sets = report.get("test_sets") or [report["test_set"]]
    wall = report.get("wall_seconds")
    lines = ["# espnet_distill report", "",
             f"Experiment: `{report['expdir']}`. Seeds per arm: {report['seeds']}. "
             f"Pipeline wall time: {'n/a' if wall is None else f'{wall / 60:.1f} min'} "
             "(first stage start to last stage end).", "",
             "| model | parameters | speed (RTF, 1 utt, CPU) | speed-up vs teacher | "
             + " | ".join(f"{x} CER | {x} WER" for x in sets) + " |",
             "|---|---:|---:|---:|" + "---:|---:|" * len(sets)]
    na = " | ".join("n/a | n/a" for _ in sets)
    lines.append(f"| teacher ({t['layers']} x {t['hidden_size']}, {t['units']} units) | {t['params'] / 1e6:.2f} M "
                 f"| {_fmt(t.get('rtf'), '{:.4f}')} | 1.00x | {na} |")
    lines.append(f"| distilled student | {s['params'] / 1e6:.2f} M | {_fmt(s.get('rtf'), '{:.4f}')} "
                 f"| {_fmt(s.get('speedup_vs_teacher'), '{:.2f}x')} | {_test_cells(s, sets)} |")
    if c is not None:
        lines.append(f"| same student from scratch | {s['params'] / 1e6:.2f} M | same | same | {_test_cells(c, sets)} |")
    lines += ["", f"**Verdict** ({sets[0]}): {report['comparison']['text']}.", "",
              f"Size: the student is {t['params'] / s['params']:.1f}x smaller than its teacher.", "",
              f"Teacher: {t.get('release') or t['source']}; valid masked-unit accuracy "
              f"{_fmt(None if t.get('valid_masked_acc') is None else 100 * t['valid_masked_acc'], '{:.1f} %')}.", "",
              "Per seed (CER):", ""]
    for name, arm in (("distilled", s), ("scratch", c)):
        if arm is not None:
            for x in sets:
                res = arm.get("tests", {}).get(x, arm)
                lines.append(f"- {name}, {x}: " + ", ".join(f"seed {r['seed']}: {100 * r['cer']:.2f} % "
                                                            f"({r['num_utts']} utts)" for r in res["seeds"]))
    lines += ["", *frozen_report.markdown(report.get("frozen"), sets)]
    lines += ["", "Stage wall times (s): " + ", ".join(f"{k} {v:.0f}" for k, v in report["stage_seconds"].items()), "",
              "![curves](curves.png)", "", "![summary](summary.png)", ""]
    return "\n".join(lines)


def _test_cells(arm: Dict, sets: List[str]) -> str:
    tests = arm.get("tests") or {sets[0]: arm}
    return " | ".join(f"{_pct(tests[x]['cer_stats'])} | {_pct(tests[x]['wer_stats'])}" for x in sets)


def plots(report: Dict, out_dir: Path) -> List[Path]:
    """``curves.png`` (teacher, distillation, fine-tuning) and ``summary.png`` (size, speed, CER)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    curve = report["teacher"].get("curve") or {}
    if curve:
        ep = sorted(curve, key=int)
        axes[0].plot(ep, [curve[e]["valid_acc_masked"] for e in ep], "o-", label="valid, masked frames")
        axes[0].plot(ep, [curve[e]["valid_acc_unmasked"] for e in ep], "s--", label="valid, unmasked frames")
        axes[0].legend()
    axes[0].set(title="teacher pre-training: unit accuracy", xlabel="epoch")
    dcurve = report["distill"]["curve"]
    if dcurve:
        ep = sorted(dcurve, key=int)
        axes[1].plot(ep, [dcurve[e]["valid_loss"] for e in ep], "o-", label="valid loss")
        if any(dcurve[e].get("valid_unit_agreement") is not None for e in ep):
            axes[1].plot(ep, [dcurve[e].get("valid_unit_agreement") for e in ep], "s--", label="unit agreement")
        axes[1].legend()
    axes[1].set(title="distillation (stage 2 loss)", xlabel="epoch")
    for name, arm, style in (("distilled", report["student"], "-"), ("scratch", report.get("scratch"), "--")):
        for seed, cur in (arm or {}).get("curves", {}).items():
            ep = sorted(cur, key=int)
            axes[2].plot(ep, [cur[e]["valid_cer"] for e in ep], style, label=f"{name} seed {seed}")
    axes[2].set(title="fine-tuning: valid CER (CTC)", xlabel="epoch")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    curves_png = out_dir / "curves.png"
    fig.savefig(curves_png, dpi=100)
    plt.close(fig)

    t, s, c = report["teacher"], report["student"], report.get("scratch")
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].bar(["teacher", "student"], [t["params"] / 1e6, s["params"] / 1e6], color=["grey", "tab:blue"])
    axes[0].set(title="parameters (M)")
    if t.get("rtf") and s.get("rtf"):
        axes[1].bar(["teacher", "student"], [t["rtf"], s["rtf"]], color=["grey", "tab:blue"])
    axes[1].set(title="real-time factor (lower is faster)")
    names, cers, errs = ["distilled"], [100 * s["cer"]], [100 * (s["cer_stats"]["std"] or 0)]
    if c is not None:
        names.append("scratch"); cers.append(100 * c["cer"]); errs.append(100 * (c["cer_stats"]["std"] or 0))
    axes[2].bar(names, cers, yerr=errs, color=["tab:blue", "tab:orange"][: len(names)], capsize=6)
    axes[2].set(title="test CER (%), mean and std over seeds")
    fig.tight_layout()
    summary_png = out_dir / "summary.png"
    fig.savefig(summary_png, dpi=100)
    plt.close(fig)
    frozen_png = frozen_report.plot(report.get("frozen"), out_dir)
    return [curves_png, summary_png] + ([frozen_png] if frozen_png else [])


def _fmt(value, pattern: str) -> str:
    return "n/a" if value is None else pattern.format(value)


def _pct(stats: Dict) -> str:
    if stats["mean"] is None:
        return "n/a"
    return f"{100 * stats['mean']:.2f} %" + (f" ± {100 * stats['std']:.2f}" if stats["std"] else "")
