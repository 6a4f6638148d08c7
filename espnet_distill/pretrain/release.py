"""Turn HuBERT pre-training experiments into a versioned, self-describing teacher release.

A release is a directory that :func:`espnet_distill.teacher.load_teacher` reads as an ESPnet
experiment (``config.yaml`` + ``model.pth``) and that says where it came from::

    config.yaml        the architecture part of the final iteration's ESPnet config
    model.pth          the final iteration's best model (valid masked-unit accuracy), as ESPnet wrote it
    curves.tsv         per epoch and iteration: updates, train loss, valid loss, masked / unmasked accuracy
    curves.png         the valid masked-unit accuracy per update, one line per iteration
    logs/iterN.log     the epoch summaries of each iteration's ESPnet train.log
    logs/iterN.units.json   how each iteration's targets were made (make_units' kmeans.json)
    release.json       machine-readable card: name, parameters, updates, wall time, accuracies, SHA-256
    MODEL_CARD.md      the same for people: data, command, training, curves, how to use it
    SHA256SUMS         ``sha256sum -c`` checks every file above

Each iteration directory is an ESPnet HubertTask output dir (``config.yaml``, ``train.log``,
``valid.acc_m.best.pth`` or another model file) whose units dir is a sibling ``unitsN``.
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import yaml

from espnet_distill.common import atomic_write_text, package_versions, sha256_file, write_json
from espnet_distill.report.espnet_logs import experiment_epoch_results, training_logs

_LG = logging.getLogger(__name__)

#: Config keys a release keeps: every key ESPnet's ``HubertTask.build_model`` reads (so stock
#: ``HubertTask.build_model_from_file`` and s3prl's ``espnet_hubert_local`` rebuild it), which
#: are the architecture and the targets it was trained on. The one other key it reads, ``init``,
#: the release sets to null: the weights are in ``model.pth``.
MODEL_KEYS = ("input_size", "frontend", "frontend_conf", "normalize", "normalize_conf", "specaug", "specaug_conf",
              "preencoder", "preencoder_conf", "encoder", "encoder_conf", "model", "model_conf", "num_classes",
              "token_list")
BEST_MODEL = "valid.acc_m.best.pth"
_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")


@dataclass
class EpochRow:
    iteration: int
    epoch: int
    updates: int
    train_loss: float
    valid_loss: float
    valid_acc_m: float
    valid_acc_u: float


def iteration_curve(exp_dir: Path, iteration: int) -> List[EpochRow]:
    """Per-epoch statistics of one ESPnet HubertTask run (updates = epoch x num_iters_per_epoch)."""
    config = yaml.safe_load((exp_dir / "config.yaml").read_text())
    per_epoch = config.get("num_iters_per_epoch")
    if not per_epoch:
        raise ValueError(f"{exp_dir}/config.yaml: a release needs num_iters_per_epoch to count updates")
    rows = []
    for epoch, stats in experiment_epoch_results(exp_dir).items():
        train, valid = stats["train"], stats["valid"]
        rows.append(EpochRow(iteration, epoch, epoch * int(per_epoch), train.get("loss", float("nan")),
                             valid.get("loss", float("nan")), valid.get("acc_m", float("nan")),
                             valid.get("acc_u", float("nan"))))
    if not rows:
        raise ValueError(f"{exp_dir}: its train.log has no finished epoch")
    return rows


def _model_file(exp_dir: Path) -> Path:
    if (exp_dir / BEST_MODEL).is_file():
        return exp_dir / BEST_MODEL
    from espnet_distill.teacher.espnet_format import find_model_file

    return find_model_file(exp_dir)


def _stage_seconds(timing_tsv: Optional[Path]) -> Dict[str, float]:
    seconds: Dict[str, float] = {}
    if timing_tsv is not None and timing_tsv.is_file():
        for line in timing_tsv.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) == 4:
                seconds[parts[1]] = seconds.get(parts[1], 0.0) + float(parts[3]) - float(parts[2])
    return seconds


def _epoch_summary_lines(log: Path) -> str:
    keep = [line for line in log.read_text(errors="replace").splitlines()
            if "epoch results:" in line or "best_model_criterion" in line or "The training was finished" in line]
    return "\n".join(keep) + "\n"


def _plot(rows: List[EpochRow], path: Path) -> Optional[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # matplotlib is an optional extra
        _LG.warning("matplotlib is not installed: no %s", path.name)
        return None
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for it in sorted({r.iteration for r in rows}):
        part = [r for r in rows if r.iteration == it]
        ax.plot([r.updates for r in part], [100 * r.valid_acc_m for r in part], marker="o", label=f"iteration {it}")
    ax.set_xlabel("updates")
    ax.set_ylabel("valid masked-unit accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_release(iterations: Sequence[Path], out: Path, *, name: str, corpus_json: Optional[Path] = None,
                  timing_tsv: Optional[Path] = None, command: str = "") -> Dict:
    """Write the release of the last of ``iterations`` (earlier ones contribute curves and logs).

    The release is checked before it is returned: it loads with ``load_teacher`` and gives the
    same hidden states and unit logits as the experiment it came from.
    """
    from espnet_distill.teacher import load_teacher

    iterations = [Path(p) for p in iterations]
    final = iterations[-1]
    out = Path(out)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((final / "config.yaml").read_text())
    kept = {**{k: config[k] for k in MODEL_KEYS if k in config}, "init": None}
    atomic_write_text(out / "config.yaml", yaml.safe_dump(kept, sort_keys=False))
    model_file = _model_file(final)
    shutil.copyfile(model_file, out / "model.pth")

    rows: List[EpochRow] = []
    units: List[Dict] = []
    for n, exp in enumerate(iterations, 1):
        rows += iteration_curve(exp, n)
        atomic_write_text(out / "logs" / f"iter{n}.log", "".join(_epoch_summary_lines(log) for log in training_logs(exp)))
        km = exp.parent / f"units{n}" / "kmeans.json"
        if km.is_file():
            shutil.copyfile(km, out / "logs" / f"iter{n}.units.json")
            units.append(yaml.safe_load(km.read_text()))
    atomic_write_text(out / "curves.tsv", "iteration\tepoch\tupdates\ttrain_loss\tvalid_loss\tvalid_acc_m\tvalid_acc_u\n"
                      + "".join(f"{r.iteration}\t{r.epoch}\t{r.updates}\t{r.train_loss:.4f}\t{r.valid_loss:.4f}\t"
                                f"{r.valid_acc_m:.4f}\t{r.valid_acc_u:.4f}\n" for r in rows))
    _plot(rows, out / "curves.png")

    teacher = load_teacher(out)
    _check_same(teacher, load_teacher(model_file))
    _check_stock_espnet_builds(out)
    stage_seconds = _stage_seconds(timing_tsv)
    final_rows = [r for r in rows if r.iteration == len(iterations)]
    best = max(final_rows, key=lambda r: r.valid_acc_m)
    card = {
        "name": name,
        "format": "ESPnet HubertTask experiment (config.yaml + model.pth); load_teacher reads the directory",
        "parameters": teacher.count_parameters(),
        "layers": teacher.num_layers,
        "hidden_size": teacher.hidden_size,
        "num_units": teacher.num_units,
        "iterations": len(iterations),
        "updates": {f"iter{n}": max(r.updates for r in rows if r.iteration == n) for n in range(1, len(iterations) + 1)},
        "wall_seconds": {k: round(v, 1) for k, v in stage_seconds.items()},
        "valid_masked_acc": best.valid_acc_m,
        "valid_unmasked_acc": best.valid_acc_u,
        "best_epoch": best.epoch,
        "valid_masked_acc_per_iteration": {
            f"iter{n}": max(r.valid_acc_m for r in rows if r.iteration == n) for n in range(1, len(iterations) + 1)},
        "units": units,
        "corpus": yaml.safe_load(Path(corpus_json).read_text()) if corpus_json and Path(corpus_json).is_file() else None,
        "command": command,
        "model_file": {"source": str(model_file), "sha256": sha256_file(out / "model.pth")},
        "versions": package_versions(),
    }
    write_json(out / "release.json", card)
    atomic_write_text(out / "MODEL_CARD.md", model_card(card, rows))
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "SHA256SUMS")
    atomic_write_text(out / "SHA256SUMS", "".join(f"{sha256_file(p)}  {p.relative_to(out)}\n" for p in files))
    _LG.info("release %s written to %s (valid masked-unit accuracy %.1f %%)", name, out, 100 * best.valid_acc_m)
    return card


def _check_same(a, b) -> None:
    import torch

    wav = torch.randn(1, 16000, generator=torch.Generator().manual_seed(0)) * 0.1
    lengths = torch.tensor([16000])
    oa, ob = a(wav, lengths), b(wav, lengths)
    for i, (x, y) in enumerate(zip(oa.hidden_states, ob.hidden_states)):
        if not torch.equal(x, y):
            raise RuntimeError(f"release check: hidden state {i} differs from the experiment's model")
    if oa.unit_logits is not None and not torch.equal(oa.unit_logits, ob.unit_logits):
        raise RuntimeError("release check: unit logits differ from the experiment's model")


def _check_stock_espnet_builds(release: Path) -> None:
    """ESPnet's own loader (what s3prl's ``espnet_hubert_local`` calls) rebuilds the release."""
    import espnet_distill.espnet  # noqa: F401  (registers the project's HuBERT model classes)
    from espnet2.tasks.hubert import HubertTask

    try:
        HubertTask.build_model_from_file(release / "config.yaml", release / "model.pth", "cpu")
    except Exception as err:  # noqa: BLE001 - any failure means users of stock ESPnet cannot load it
        raise RuntimeError(f"release check: ESPnet's HubertTask.build_model_from_file cannot rebuild "
                           f"{release}: {type(err).__name__}: {err}") from err


def _duration(seconds: Optional[float]) -> str:
    if not seconds:
        return "n/a"
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def model_card(card: Dict, rows: List[EpochRow]) -> str:
    """``MODEL_CARD.md`` text from the card dictionary and the curves."""
    corpus = card.get("corpus") or {}
    splits = corpus.get("splits", {})
    spec = corpus.get("spec", {})
    hours = sum(s.get("hours", 0) for k, s in splits.items() if k in ("train", "dev", "test"))
    wall = card["wall_seconds"]
    lines = [
        f"# {card['name']}: a HuBERT teacher pre-trained on synthetic speech, on CPU",
        "",
        "The teacher of the embedded demo (`egs2/mini_synth/distill1`). It exists because no real",
        "HuBERT weights can be downloaded where the demo runs; it is a small model of synthetic",
        "speech, not a general speech model. Use HuBERT Base for real work.",
        "",
        "## Model",
        "",
        f"- ESPnet HubertTask, torchaudio HuBERT: {card['layers']} x {card['hidden_size']} transformer layers, "
        f"{card['parameters'] / 1e6:.2f} M parameters, {card['num_units']} units",
        f"- {card['iterations']} HuBERT iteration(s); the release is the last one's model with the best "
        "valid masked-unit accuracy",
        f"- valid masked-unit accuracy **{100 * card['valid_masked_acc']:.1f} %** (unmasked "
        f"{100 * card['valid_unmasked_acc']:.1f} %), epoch {card['best_epoch']} of the last iteration",
        f"- `model.pth` SHA-256 `{card['model_file']['sha256']}`",
        "",
        "## Data",
        "",
    ]
    if splits:
        lines += [
            f"- {hours:.2f} h synthesised offline with flite and espeak-ng "
            f"(`make_corpus --hours {spec.get('hours')} --seed {spec.get('seed')}`), "
            f"{len(spec.get('voices', []))} voices",
            f"- train {splits['train']['num_utts']} utterances ({splits['train']['hours']:.2f} h), "
            f"dev {splits['dev']['num_utts']} ({splits['dev']['hours']:.2f} h)",
            f"- {corpus.get('excluded_sentences', 0)} sentences excluded: every sentence of the demo corpus "
            "(`make_corpus --seed 0`), so the teacher never heard a demo test sentence. The voices are the "
            "demo's voices.",
        ]
    lines += ["", "## Training", "", "Targets per iteration:", ""]
    for n, u in enumerate(card["units"], 1):
        lines.append(f"- iteration {n}: {u.get('num_units')} k-means units of {u.get('features')}")
    lines += ["", "| stage | updates | wall time |", "|---|---:|---:|"]
    for n in range(1, card["iterations"] + 1):
        seconds = wall.get(f"iter{n}")
        lines.append(f"| iteration {n} | {card['updates'][f'iter{n}']} | "
                     f"{_duration(seconds)} |")
    lines += ["", f"Command: `{card['command']}`", "", "## Curves (valid set, per epoch)", "",
              "![valid masked-unit accuracy](curves.png)", "",
              "| iteration | epoch | updates | train loss | valid loss | masked acc | unmasked acc |",
              "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.iteration} | {r.epoch} | {r.updates} | {r.train_loss:.3f} | {r.valid_loss:.3f} | "
                     f"{100 * r.valid_acc_m:.1f} % | {100 * r.valid_acc_u:.1f} % |")
    lines += ["", "## Use", "", "```python", "from espnet_distill.teacher import load_teacher",
              "teacher = load_teacher(\"<this directory>\")", "```", "",
              "`sha256sum -c SHA256SUMS` checks the files. Versions: "
              + ", ".join(f"{k} {v}" for k, v in card["versions"].items()), ""]
    return "\n".join(lines)
