"""The ablation report: claims judged against the seed spread, per labelled set, with the speed table."""

from __future__ import annotations

import json

import pytest

from espnet_distill.common import write_json
from espnet_distill.report.ablations import build_ablation_report


def _frozen(root, name, cers, utts):
    """A frozen.json as run_frozen writes it, with the given per-seed test CERs per upstream."""
    data = root / "data" / name
    data.mkdir(parents=True)
    (data / "utt2num_samples").write_text("".join(f"u{i} 48000\n" for i in range(utts)))
    upstreams = {}
    for up, per_seed in cers.items():
        mean = sum(per_seed) / len(per_seed)
        std = (sum((c - mean) ** 2 for c in per_seed) / (len(per_seed) - 1)) ** 0.5
        runs = [{"seed": i + 1, "tests": {"test": {"cer": c, "wer": 1.0}}, "layer_weights": [1.0]}
                for i, c in enumerate(per_seed)]
        upstreams[up] = {"cer": mean, "cer_std": std, "wer": 1.0, "wer_std": 0.0, "seeds": [r["seed"] for r in runs],
                         "tests": {"test": {"cer": mean, "cer_std": std}}, "runs": runs}
    write_json(root / "ablations" / f"frozen_{name}" / "frozen.json",
               {"upstreams": upstreams, "test_sets": ["test"], "config": {"downstream": "linear", "updates": 1000},
                "train_dir": str(data), "gain_kept": None})


def test_claims_per_labelled_set(tmp_path):
    # fewer labels: L_disc clearly better (gap 10 points, spread 1); all labels: within the spread
    _frozen(tmp_path, "train_labelled", {"student": [0.50, 0.51, 0.52], "no_disc": [0.60, 0.61, 0.62],
                                         "sw": [0.515, 0.525, 0.50], "cnn": [0.40, 0.41, 0.42],
                                         "fbank": [0.58, 0.58, 0.58]}, utts=10)
    _frozen(tmp_path, "train", {"student": [0.40, 0.42, 0.44], "no_disc": [0.41, 0.43, 0.45],
                                "sw": [0.40, 0.40, 0.40], "cnn": [0.45, 0.40, 0.44], "fbank": [0.5, 0.5, 0.5]}, utts=40)
    write_json(tmp_path / "ablations" / "benchmark.json", {"models": {
        "teacher": {"params": 3_721_000, "rtf": 0.010}, "student": {"params": 978_240, "rtf": 0.002},
        "cnn": {"params": 1_122_752, "rtf": 0.004}},
        "ratios": {"student_speedup_over_teacher": 5.0, "cnn_speedup_over_teacher": 2.5}})
    report = build_ablation_report(tmp_path / "ablations")
    assert list(report["frozen"]) == ["train_labelled", "train"]  # by amount of labels
    assert report["labels"]["train"]["utterances"] == 40 and report["labels"]["train"]["seconds"] == 120
    claims = {(c["claim"], c["labels"]): c for c in report["claims"]}
    assert len(claims) == 6
    assert claims["b", "train_labelled"]["clear"] and claims["b", "train_labelled"]["gap_points"] == pytest.approx(10)
    assert claims["b", "train"]["text"].startswith("no difference")
    assert "cnn better by more than three" in claims["d", "train_labelled"]["text"]
    assert not claims["c", "train_labelled"]["clear"]
    assert report["speed"]["student"]["speedup_over_teacher"] == pytest.approx(5.0)
    assert report["speed"]["cnn"]["speedup_over_teacher"] == pytest.approx(2.5)
    md = (tmp_path / "ablations" / "report.md").read_text()
    assert "| student | " in md and "| 0.978 M | 5.00x |" in md
    assert "CER, train_labelled (10 utts, 0 min)" in md and "CER, train (40 utts, 2 min)" in md
    assert "| teacher | the teacher | n/a | n/a | 3.721 M | 1.00x |" in md  # timed, not compared frozen
    assert "| sw | " in md and md.count("n/a") >= 4  # sw and fbank were not timed
    assert (tmp_path / "ablations" / "ablations.png").stat().st_size > 1000
    assert json.loads((tmp_path / "ablations" / "report.json").read_text())["reference"] == "student"


def test_no_comparison_is_a_clear_error(tmp_path):
    (tmp_path / "ablations").mkdir()
    with pytest.raises(FileNotFoundError, match="no frozen_"):
        build_ablation_report(tmp_path / "ablations")
