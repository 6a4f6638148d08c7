"""egs2/librispeech/distill1 in smoke mode, for every shipped config: the real recipe, cut short.

``./run.sh --smoke true --config NAME`` synthesises a LibriSpeech-shaped tree, writes a full-size
random HuBERT Base in fairseq's released layout and runs all its stages (10, the frozen comparison, is off by default) on the CPU. Here the
data stage runs once, then the seven configs run in two lanes at once (one thread per job; the
configs of one student share a lane, as they share the from-scratch control). Each config must
end with a report holding the student's size, its speed-up and both arms' CER on both test sets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_tts

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "egs2" / "librispeech" / "distill1"
ENV = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
#: lanes run side by side; the configs of one student stay in one lane (shared control)
LANES = [["dt_cnn_reg", "dt_cnn_disc", "sw_fbank_disc"],
         ["sw_cnn_reg", "sw_cnn_disc", "dt_fbank_reg", "dt_fbank_disc"]]
PARAMS = {"sw_cnn": 23_491_200, "dt_cnn": 22_937_856, "dt_fbank": 19_107_008, "sw_fbank": 20_103_296}


def _cmd(root: Path, config: str, *extra: str) -> list:
    return ["./run.sh", "--smoke", "true", "--smoke_dir", str(root), "--config", config, "--threads", "1", *extra]


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory):
    require_tts()
    root = tmp_path_factory.mktemp("librispeech_smoke")
    prep = subprocess.run(_cmd(root, "dt_cnn_reg", "--stop_stage", "1"), cwd=RECIPE, env=ENV,
                          capture_output=True, text=True, timeout=900, check=False)
    (root / "data.log").write_text(prep.stdout + prep.stderr)
    assert prep.returncode == 0, f"stage 1 failed:\n{prep.stderr[-3000:]}"
    lanes = []
    for i, configs in enumerate(LANES):
        script = " && ".join(f"./run.sh --smoke true --smoke_dir {root} --config {c} --threads 1 "
                             f">{root}/{c}.log 2>&1" for c in configs)
        lanes.append(subprocess.Popen(["bash", "-c", script], cwd=RECIPE, env=ENV))
    codes = [p.wait(timeout=3600) for p in lanes]
    return root, codes


@pytest.mark.parametrize("config", [c for lane in LANES for c in lane])
def test_smoke_run_ends_in_a_scored_report(smoke_runs, config):
    root, _ = smoke_runs
    log = root / f"{config}.log"
    report_path = root / "exp_smoke" / config / "report.json"
    assert report_path.is_file(), f"no report for {config}; log {log}:\n{log.read_text()[-4000:] if log.is_file() else ''}"
    report = json.loads(report_path.read_text())
    student = config.rsplit("_", 1)[0]
    assert report["student"]["params"] == PARAMS[student]
    assert report["teacher"]["format"] == "fairseq" and 94e6 < report["teacher"]["params"] < 95e6
    assert report["teacher"]["units"] == 504
    assert report["student"]["speedup_vs_teacher"] > 1.0
    assert report["test_sets"] == ["test_clean", "test_other"]
    for arm in ("student", "scratch"):
        for test_set in ("test_clean", "test_other"):
            result = report[arm]["tests"][test_set]
            assert result["seeds"][0]["num_utts"] == 3 and 0.0 < result["cer"] < 20.0, (arm, test_set)
    # the benchmark table of the same run shows the same speed-up
    bench = json.loads((root / "exp_smoke" / config / "benchmark.json").read_text())
    assert report["student"]["speedup_vs_teacher"] == bench["ratios"]["student_speedup_over_teacher"]
    # fbank students: CMVN (from the subset) and both input-distillation stages ran; CNN students: no CMVN
    stages = {e["stage"] for e in report["distill"]["curve"].values()}
    if "fbank" in config:
        assert (root / "exp_smoke" / config / "cmvn.npz").is_file() and 1.0 < max(stages) <= 2.0
    else:
        assert not (root / "exp_smoke" / config / "cmvn.npz").exists() and stages == {2.0}
    assert report["wall_seconds"] > 0 and "distill" in report["stage_seconds"]


def test_configs_of_one_student_share_the_control(smoke_runs):
    root, codes = smoke_runs
    assert codes == [0, 0]
    for student in ("dt_cnn", "sw_cnn", "dt_fbank"):
        runs = [c for lane in LANES for c in lane if c.startswith(student)]
        targets = {(root / "exp_smoke" / c / "asr_control_seed1").resolve() for c in runs}
        assert targets == {(root / "exp_smoke" / f"control_{student}" / "asr_control_seed1").resolve()}
    second = (root / "dt_cnn_disc.log").read_text()
    assert "fine-tune control seed 1: done before" in (root / "exp_smoke" / "dt_cnn_disc" / "control.log").read_text()
    assert "Finished stages 1-12" in second
