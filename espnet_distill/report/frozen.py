"""The frozen comparison's part of the report: verdicts in words, a Markdown table, a plot."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

#: (better, worse) pairs the report judges, in the order it shows them.
PAIRS = (("teacher", "fbank"), ("student", "fbank"), ("student", "random"), ("teacher", "student"))
UPSTREAM_ORDER = ("teacher", "student", "random", "fbank")


def compare(frozen: Dict, better: str, worse: str) -> Optional[Dict]:
    """Is ``better``'s mean test CER lower than ``worse``'s, judged against the seed spread?

    The spread is the larger of the two sample standard deviations. A gap of more than three
    spreads is a clear difference; a gap within one spread is no difference; in between, not conclusive.
    """
    if better not in frozen or worse not in frozen:
        return None
    a, b = frozen[better], frozen[worse]
    gap = b["cer"] - a["cer"]  # > 0: ``better`` is better
    spread = max(a["cer_std"], b["cer_std"])
    n = min(len(a["seeds"]), len(b["seeds"]))
    if n < 2:
        text = "one seed each: no spread to judge by"
    elif abs(gap) <= spread:
        text = "no difference (within the seed spread)"
    elif gap > 3 * spread:
        text = f"{better} better by more than three seed standard deviations"
    elif gap < -3 * spread:
        text = f"{worse} better by more than three seed standard deviations"
    else:
        text = "a difference between one and three seed standard deviations: not conclusive"
    return {"better": better, "worse": worse, "gap_points": 100 * gap, "spread_points": 100 * spread,
            "clear": bool(n > 1 and gap > 3 * spread), "text": text}


def verdicts(frozen: Optional[Dict]) -> List[Dict]:
    return [v for v in (compare(frozen, a, b) for a, b in PAIRS) if v] if frozen else []


def names(frozen: Dict) -> List[str]:
    found = [n for n in frozen if isinstance(frozen[n], dict) and "cer" in frozen[n]]
    return [n for n in UPSTREAM_ORDER if n in found] + [n for n in found if n not in UPSTREAM_ORDER]


def markdown(frozen: Optional[Dict], test_sets: List[str]) -> List[str]:
    """Lines of the report's frozen-comparison section (empty when stage 10 did not run)."""
    if not frozen:
        return []
    config = frozen.get("config") or {}
    head = {"linear": "linear CTC probe", "lstm": "BiLSTM CTC"}.get(config.get("downstream"), "CTC downstream")
    lines = [f"## Frozen upstreams (SUPERB-style: weighted sum of layers + {head}, "
             f"{config.get('updates', '?')} updates each)", "",
             "| upstream | " + " | ".join(f"{x} CER (mean ± std)" for x in test_sets) + " | seeds | per seed (CER %) |",
             "|---|" + "---:|" * len(test_sets) + "---|---|"]
    for name in names(frozen):
        r = frozen[name]
        cells = " | ".join(f"{100 * r['tests'][x]['cer']:.2f} ± {100 * r['tests'][x]['cer_std']:.2f} %" for x in test_sets)
        lines.append(f"| {name} | {cells} | {', '.join(map(str, r['seeds']))} | "
                     f"{', '.join(f'{100 * c:.2f}' for c in r['per_seed'])} |")
    lines.append("")
    for v in verdicts(frozen):
        lines.append(f"- {v['better']} vs {v['worse']}: {v['gap_points']:+.2f} CER points in {v['better']}'s favour, "
                     f"seed spread {v['spread_points']:.2f}: {v['text']}.")
    if frozen.get("gain_kept") is not None:
        lines.append(f"- The student keeps {100 * frozen['gain_kept']:.0f} % of the teacher's gain over fbank.")
    lines += ["", "![frozen](frozen.png)", ""]
    return lines


def plot(frozen: Optional[Dict], out_dir: Path) -> Optional[Path]:
    """``frozen.png``: test CER per upstream, mean and std over seeds, each seed as a dot."""
    if not frozen:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = names(frozen)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    means = [100 * frozen[n]["cer"] for n in order]
    stds = [100 * frozen[n]["cer_std"] for n in order]
    ax.bar(order, means, yerr=stds, capsize=6, color="tab:blue", alpha=0.6)
    for i, n in enumerate(order):
        ax.plot([i] * len(frozen[n]["per_seed"]), [100 * c for c in frozen[n]["per_seed"]], "k.")
    ax.set(title="frozen upstreams: test CER (%)", ylabel="CER (%)")
    fig.tight_layout()
    path = out_dir / "frozen.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
