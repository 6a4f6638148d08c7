"""The paper's claims in miniature, side by side: the report of mini_synth's ``run.sh --ablations true``.

Each claim compares the demo's own student (upstream ``student``: deep & thin, fbank front-end,
L_reg + L_disc) with one variant that changes one thing, distilled from the same teacher with the
same budget and judged under the same frozen protocol, at each amount of labels:

=====  ==============================================  ============
claim  what the variant changes                        upstream
=====  ==============================================  ============
(b)    L_disc off (L_reg only)                         ``no_disc``
(c)    shallow & wide at the same parameter count      ``sw``
(d)    the teacher's CNN instead of the fbank front-end  ``cnn``
=====  ==============================================  ============

Inputs, under one directory: ``frozen_<labels>/frozen.json`` for each amount of labels
(:func:`espnet_distill.frozen.run_frozen`; ``<labels>`` is the labelled set's name) and, when it
was run, ``benchmark.json`` (:mod:`espnet_distill.bin.benchmark`: parameters and speed, timed side
by side in one run). Outputs beside them: ``report.json``, ``report.md``, ``ablations.png``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Dict, List, Optional

from espnet_distill.common import write_json
from espnet_distill.data.kaldi_dir import read_kaldi_file
from espnet_distill.report.collect import read_frozen
from espnet_distill.report.frozen import compare

_LG = logging.getLogger(__name__)

#: The upstream every claim compares against.
REFERENCE = "student"
#: (claim, title, variant upstream), in the order the report shows them.
CLAIMS = (
    ("b", "L_disc on vs off", "no_disc"),
    ("c", "deep & thin vs shallow & wide, equal parameter count", "sw"),
    ("d", "fbank vs CNN front-end", "cnn"),
)
DESCRIPTIONS = {
    "student": "the demo's student: deep & thin, fbank front-end, L_reg + L_disc",
    "no_disc": "the same student distilled with L_reg only",
    "sw": "shallow & wide (half the layers, wider, same parameter count), fbank, L_reg + L_disc",
    "cnn": "deep & thin with the teacher's CNN front-end, L_reg + L_disc",
    "fbank": "fbank features (SUPERB's FBANK baseline)",
    "teacher": "the teacher",
}
ORDER = ("student", "no_disc", "sw", "cnn", "fbank", "teacher")


def build_ablation_report(root: Path) -> Dict:
    """Read ``root``'s frozen comparisons and benchmark; write ``report.{json,md}`` and the plot."""
    root = Path(root)
    frozen: Dict[str, Dict] = {}
    labels: Dict[str, Dict] = {}
    for path in sorted(root.glob("frozen_*/frozen.json")):
        name = path.parent.name[len("frozen_"):]
        frozen[name] = read_frozen(path)
        labels[name] = _labelled_set(json.loads(path.read_text()))
    if not frozen:
        raise FileNotFoundError(f"{root}: no frozen_*/frozen.json (mini_synth's run.sh --ablations true writes them)")
    frozen = dict(sorted(frozen.items(), key=lambda kv: labels[kv[0]].get("seconds") or 0))
    claims: List[Dict] = []
    for claim, title, variant in CLAIMS:
        for name, result in frozen.items():
            verdict = compare(result, REFERENCE, variant)
            if verdict:
                claims.append({"claim": claim, "title": title, "variant": variant, "labels": name, **verdict})
    report = {"reference": REFERENCE, "labels": labels, "frozen": frozen, "claims": claims,
              "speed": _speed(root / "benchmark.json")}
    write_json(root / "report.json", report)
    (root / "report.md").write_text("\n".join(markdown(report)) + "\n")
    plot(report, root)
    _LG.info("ablation report: %s", root / "report.md")
    return report


def _labelled_set(frozen_json: Dict) -> Dict:
    """Name, utterances and seconds of the labelled set a frozen comparison trained on."""
    train_dir = Path(frozen_json["train_dir"])
    out: Dict = {"train_dir": str(train_dir)}
    lengths = train_dir / "utt2num_samples"
    if lengths.is_file():
        samples = [int(v) for _, v in read_kaldi_file(lengths)]
        out.update(utterances=len(samples), seconds=sum(samples) / 16000)
    return out


def _speed(path: Path) -> Optional[Dict]:
    """Parameters, fp32 real-time factor and speed-up over ``teacher`` per model, from one benchmark
    run; the speed-ups are the benchmark's own (``ratios.<name>_speedup_over_teacher``, paired rounds)."""
    if not path.is_file():
        return None
    bench = json.loads(path.read_text())
    ratios = bench.get("ratios", {})
    return {name: {"params": m["params"], "rtf": m["rtf"], "macs_per_second": m.get("macs_per_second"),
                   "speedup_over_teacher": 1.0 if name == "teacher" else ratios.get(f"{name}_speedup_over_teacher")}
            for name, m in bench["models"].items()}


def _labels_title(name: str, meta: Dict) -> str:
    if "seconds" in meta:
        return f"{name} ({meta['utterances']} utts, {meta['seconds'] / 60:.0f} min)"
    return name


def markdown(report: Dict) -> List[str]:
    frozen, speed = report["frozen"], report["speed"] or {}
    first = next(iter(frozen.values()))
    config = first.get("config") or {}
    names = [n for n in ORDER if any(n in f for f in frozen.values()) or n in speed]
    seeds = first[REFERENCE]["seeds"] if REFERENCE in first else []
    lines = ["# The paper's claims in miniature (mini_synth ablations)", "",
             f"Every student distilled from the same teacher with the same budget; frozen protocol "
             f"({config.get('downstream', '?')} downstream, {config.get('updates', '?')} updates) on each "
             f"amount of labels; test CER mean ± std over seeds {', '.join(map(str, seeds))}. Speed: one "
             "benchmark run, fp32, side by side.", ""]
    heads = [f"CER, {_labels_title(n, report['labels'][n])}" for n in frozen]
    lines += ["| upstream | what it is | " + " | ".join(heads) + " | parameters | speed-up over the teacher |",
              "|---|---|" + "---:|" * (len(heads) + 2)]
    for name in names:
        cells = []
        for result in frozen.values():
            r = result.get(name)
            cells.append(f"{100 * r['cer']:.2f} ± {100 * r['cer_std']:.2f} %" if r else "n/a")
        s = speed.get(name) or {}
        params = f"{s['params'] / 1e6:.3f} M" if s else "n/a"
        ratio = f"{s['speedup_over_teacher']:.2f}x" if s.get("speedup_over_teacher") else "n/a"
        lines.append(f"| {name} | {DESCRIPTIONS.get(name, name)} | " + " | ".join(cells) + f" | {params} | {ratio} |")
    lines.append("")
    for claim, title, variant in CLAIMS:
        found = [c for c in report["claims"] if c["claim"] == claim]
        if not found:
            continue
        lines += [f"## ({claim}) {title}: {REFERENCE} vs {variant}", ""]
        for c in found:
            lines.append(f"- {c['labels']}: {c['gap_points']:+.2f} CER points in {REFERENCE}'s favour, seed spread "
                         f"{c['spread_points']:.2f}: {c['text']}.")
        lines.append("")
    lines += ["A gap within the larger seed standard deviation is reported as no difference; above three, "
              "as better.", "", "![ablations](ablations.png)", ""]
    return lines


def plot(report: Dict, out_dir: Path) -> Optional[Path]:
    """``ablations.png``: test CER per upstream (mean and std over seeds), one group of bars per labelled set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frozen = report["frozen"]
    names = [n for n in ORDER if any(n in f for f in frozen.values())]
    width = 0.8 / len(frozen)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for k, (label, result) in enumerate(frozen.items()):
        xs = [i + k * width for i, n in enumerate(names) if n in result]
        present = [n for n in names if n in result]
        ax.bar(xs, [100 * result[n]["cer"] for n in present], width, yerr=[100 * result[n]["cer_std"] for n in present],
               capsize=4, alpha=0.7, label=label)
        for x, n in zip(xs, present):
            ax.plot([x] * len(result[n]["per_seed"]), [100 * c for c in result[n]["per_seed"]], "k.", markersize=4)
    ax.set_xticks([i + width * (len(frozen) - 1) / 2 for i in range(len(names))], names)
    ax.set(title="frozen upstreams: test CER (%) per labelled set", ylabel="CER (%)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out_dir / "ablations.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
