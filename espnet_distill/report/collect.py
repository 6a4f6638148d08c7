"""Gather what a distill.sh experiment directory holds into one JSON-able dict."""

from __future__ import annotations

import json
import logging
import statistics
from pathlib import Path
from typing import Dict, List, Optional

from espnet_distill.report.espnet_logs import experiment_epoch_results

_LG = logging.getLogger(__name__)


def _mean_std(values: List[float]) -> Dict[str, Optional[float]]:
    if not values:
        return {"mean": None, "std": None, "min": None, "max": None}
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def test_set_results(expdir: Path, arm: str, seeds: List[int], test_set: str) -> Dict:
    """CER/WER of one arm on one test set: per seed, mean and spread."""
    per_seed = []
    for seed in seeds:
        score = expdir / f"asr_{arm}_seed{seed}" / f"decode_{test_set}" / "score.json"
        if not score.is_file():
            raise FileNotFoundError(f"{score}: missing; run distill.sh stages 8-9 for {arm} seed {seed}")
        s = json.loads(score.read_text())
        per_seed.append({"seed": seed, "cer": s["cer"], "wer": s["wer"], "num_utts": s["num_utts"]})
    return {
        "seeds": per_seed,
        "cer": _mean_std([s["cer"] for s in per_seed])["mean"],
        "wer": _mean_std([s["wer"] for s in per_seed])["mean"],
        "cer_stats": _mean_std([s["cer"] for s in per_seed]),
        "wer_stats": _mean_std([s["wer"] for s in per_seed]),
    }


def arm_results(expdir: Path, arm: str, seeds: List[int], test_sets: List[str]) -> Dict:
    """One arm: results per test set (``tests.<set>``; the first set's also at the top level,
    as ``cer``, ``wer``, ``seeds``...) and the fine-tuning curves per seed."""
    tests = {t: test_set_results(expdir, arm, seeds, t) for t in test_sets}
    curves = {}
    for seed in seeds:
        d = expdir / f"asr_{arm}_seed{seed}"
        results = experiment_epoch_results(d)
        if results:
            curves[seed] = {e: {"train_loss": r["train"].get("loss"), "valid_loss": r["valid"].get("loss"),
                                "valid_cer": r["valid"].get("cer_ctc")} for e, r in results.items()}
    return {**tests[test_sets[0]], "tests": tests, "curves": curves}


def teacher_summary(expdir: Path, teacher_source: str) -> Dict:
    """Teacher size and units (loaded back through load_teacher) and its pre-training curve."""
    from espnet_distill.teacher import load_teacher

    teacher = load_teacher(teacher_source)
    out = {"source": str(teacher_source), "format": teacher.source_format, "params": teacher.count_parameters(),
           "layers": teacher.num_layers, "hidden_size": teacher.hidden_size, "units": teacher.num_units}
    results = experiment_epoch_results(expdir / "teacher")
    if results:
        out["curve"] = {e: {"train_loss": r["train"].get("loss"), "train_acc_masked": r["train"].get("acc_m"),
                            "valid_loss": r["valid"].get("loss"), "valid_acc_masked": r["valid"].get("acc_m"),
                            "valid_acc_unmasked": r["valid"].get("acc_u")}
                        for e, r in results.items()}
        out["valid_masked_acc"] = out["curve"][max(out["curve"])]["valid_acc_masked"]  # the last epoch's model
    release = Path(teacher_source) / "release.json"
    if release.is_file():  # a released teacher says how it was trained
        card = json.loads(release.read_text())
        out.update(release=card.get("name"), valid_masked_acc=card.get("valid_masked_acc"),
                   pretraining_updates=card.get("updates"))
    return out


def frozen_results(expdir: Path) -> Optional[Dict]:
    """The frozen comparison (stage 10's ``frozen/frozen.json``) per upstream: test CER mean,
    ``cer_std`` and ``seeds``, every test set, and the share of the teacher's gain the student keeps."""
    return read_frozen(expdir / "frozen" / "frozen.json")


def read_frozen(path: Path) -> Optional[Dict]:
    """One ``frozen.json`` (:func:`espnet_distill.frozen.run_frozen`) as the report shows it, or None."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    out = {name: {"cer": r["cer"], "cer_std": r["cer_std"], "seeds": r["seeds"], "wer": r["wer"],
                  "tests": r["tests"], "per_seed": [run["tests"][data["test_sets"][0]]["cer"] for run in r["runs"]],
                  "layer_weights": [run["layer_weights"] for run in r["runs"]]}
           for name, r in data["upstreams"].items()}
    out["gain_kept"] = data.get("gain_kept")
    out["config"] = data.get("config")
    return out


def distill_summary(expdir: Path) -> Dict:
    curve = {e: {"train_loss": r["train"].get("loss"), "valid_loss": r["valid"].get("loss"),
                 "valid_reg_l1": r["valid"].get("reg_l1"), "valid_disc": r["valid"].get("disc"),
                 "valid_unit_agreement": r["valid"].get("unit_agreement"), "stage": r["train"].get("stage")}
             for e, r in experiment_epoch_results(expdir / "distill").items()}
    return {"curve": curve}


def timing(expdir: Path) -> Dict[str, float]:
    """Seconds per stage from distill.sh's ``timing.tsv`` (stage, name, start, end)."""
    out: Dict[str, float] = {}
    for _, name, start, end in _timing_rows(expdir):
        out[name] = out.get(name, 0.0) + end - start
    return out


def wall_seconds(expdir: Path) -> Optional[float]:
    """Elapsed time from the first timed stage's start to the last one's end (stages that ran
    at the same time count once; pauses between separate invocations count too)."""
    rows = _timing_rows(expdir)
    return max(r[3] for r in rows) - min(r[2] for r in rows) if rows else None


def _timing_rows(expdir: Path) -> List[tuple]:
    path = expdir / "timing.tsv"
    rows = []
    if path.is_file():
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) == 4:
                rows.append((parts[0], parts[1], float(parts[2]), float(parts[3])))
    return rows
