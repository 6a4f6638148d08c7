"""The embedded recipe end to end, shortened (run.sh --quick true): every stage, the report, markers."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import require_tts
from tests.ctc_checks import assert_ctc_decoding

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "egs2" / "mini_synth" / "distill1"
ENV = dict(os.environ, PATH=f"{Path(os.sys.executable).parent}:{os.environ['PATH']}")


def run(args, cwd=RECIPE, timeout=1200):
    return subprocess.run(["./run.sh", *map(str, args)], cwd=cwd, env=ENV, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    require_tts()
    root = tmp_path_factory.mktemp("mini_synth")
    # the teacher-training path (stages 3-4), quick; the released teacher's path: test_distils_a_release
    dirs = ["--train_teacher", "true", "--datadir", root / "data", "--expdir", root / "exp", "--dumpdir", root / "dump"]
    proc = run(["--quick", "true", *dirs])
    (root / "run.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"run.sh failed (log {root / 'run.log'}):\n{proc.stderr[-4000:]}"
    return root, dirs, proc


def test_quick_recipe_writes_the_report(quick_run):
    root, _, proc = quick_run
    exp = root / "exp"
    report = json.loads((exp / "report.json").read_text())
    assert report["student"]["params"] == 978_240  # mini_fbank without its distillation heads
    assert 3.7e6 < report["teacher"]["params"] < 3.8e6  # the 4 x 256 HuBERT of conf/hubert_tiny.yaml
    for arm, name in (("student", "distilled"), ("scratch", "control")):  # a few CTC updates on 2 labelled minutes
        dec = exp / f"asr_{name}_seed1" / "decode_test"
        keys = dec / "logdir" / "keys.scp"
        scored = assert_ctc_decoding(root / "data" / "test", dec / "1best_recog" / "text", keys if keys.is_file() else None)
        assert report[arm]["cer"] == pytest.approx(scored.cer), arm  # the report shows what the decoding scored
    assert report["wall_seconds"] >= max(report["stage_seconds"].values())
    assert report["teacher_units"] == 20 and report["seeds"] == 1
    assert report["teacher"]["format"] == "espnet"  # pre-trained by ESPnet's HubertTask
    assert report["teacher"]["params"] > 3 * report["student"]["params"]
    assert report["student"]["speedup_vs_teacher"] > 1.0
    assert "one seed per arm" in report["comparison"]["text"]
    for name in ("report.md", "curves.png", "summary.png", "benchmark.json", "student/student.pth"):
        assert (exp / name).is_file(), name
    # every stage ran and was timed; both arms were fine-tuned and decoded
    assert {"data", "cmvn", "units", "teacher", "distill", "export", "finetune", "decode", "score",
            "benchmark"} <= set(report["stage_seconds"])
    for arm in ("distilled", "control"):
        assert (exp / f"asr_{arm}_seed1" / "decode_test" / "score.json").is_file()
    assert "Stage 12: report" in proc.stderr
    # the frozen comparison (stage 10): four upstreams, three seeds each, each random student its own
    frozen = report["frozen"]
    for name in ("teacher", "student", "random", "fbank"):
        assert frozen[name]["seeds"] == [1, 2, 3], name
        assert frozen[name]["cer"] == pytest.approx(sum(frozen[name]["per_seed"]) / 3), name
        assert 0.3 < frozen[name]["cer"] < 2.0, name  # 40 updates on 2 labelled minutes: far from learned
    assert len({(exp / "frozen" / f"random_seed{s}.pth").read_bytes() for s in (1, 2, 3)}) == 3
    assert [len(w) for w in frozen["teacher"]["layer_weights"]] == [4] * 3  # s3prl's espnet_hubert: 4 layers
    assert [len(w) for w in frozen["fbank"]["layer_weights"]] == [1] * 3
    assert "## Frozen upstreams" in (exp / "report.md").read_text() and (exp / "frozen.png").is_file()
    # the teacher's last valid masked-unit accuracy, as its training log shows it
    curve = report["teacher"]["curve"]
    assert report["teacher"]["valid_masked_acc"] == curve[max(curve)]["valid_acc_masked"]
    # the long stages show progress bars that follow the trainers' logs
    for bar in ("teacher: 100%", "distill: 100%", "fine-tune distilled 1: 100%"):
        assert bar in proc.stderr, bar


def test_rerun_skips_finished_stages(quick_run):
    root, dirs, _ = quick_run
    before = (root / "exp" / "student" / "student.pth").stat().st_mtime
    proc = run(["--quick", "true", *dirs, "--stop_stage", "11"], timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for stage in (1, 2, 3, 4, 5, 6, 10, 11):
        assert f"Stage {stage}: done before" in proc.stderr
    assert (root / "exp" / "student" / "student.pth").stat().st_mtime == before


@pytest.mark.parametrize("args,message", [
    (["--bogus", "1"], "unknown option --bogus"),
    (["--seeds", "two"], "--seeds must be an integer >= 1"),
    (["--stage", "5", "--teacher", "/nonexistent.pt"], "--teacher /nonexistent.pt: no such file"),
    (["--quick", "maybe"], "--quick must be true or false"),
    (["--ablations", "yes"], "--ablations must be true or false"),
    (["--asr_config", "conf/missing.yaml"], "--asr_config conf/missing.yaml: no such file"),
    (["stray"], "unexpected argument 'stray'"),
])
def test_bad_options_stop_before_any_work(tmp_path, args, message):
    proc = run([*args, "--expdir", tmp_path / "exp"], timeout=60)
    assert proc.returncode == 2 and message in proc.stderr
    assert not (tmp_path / "exp" / ".done").exists()


@pytest.mark.parametrize("args,message", [
    (["--expdir", "{tmp}/exp"], "no finished demo run (distill_sh.options, student/student.pth); run ./run.sh first"),
    (["--seeds", "3"], "unknown option --seeds (see --help)"),
])
def test_ablations_refuse_without_a_demo_run(tmp_path, args, message):
    args = [a.format(tmp=tmp_path) for a in args]
    proc = subprocess.run(["local/ablations.sh", *args], cwd=RECIPE, env=ENV, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 2 and message in proc.stderr
    assert not (tmp_path / "exp").exists()


def test_help_documents_every_option():
    proc = run(["--help"], timeout=60)
    assert proc.returncode == 0
    table = (REPO / "egs2/TEMPLATE/distill1/distill.sh").read_text().split("OPTION_TABLE=(")[1].split("\n)")[0]
    names = [line.strip().strip('"').split("|")[0] for line in table.strip().splitlines()]
    assert len(names) > 20
    for name in names + ["quick", "ablations", "train_teacher"]:
        assert f"--{name}" in proc.stdout, name


def test_killed_training_stage_resumes_and_force_restarts(quick_run):
    """A training stage with no marker but a checkpoint (a killed run) resumes from it, keeping the
    earlier log as train.1.log (as espnet2.bin.launch does); --force true starts it afresh.
    (Mid-epoch resume itself: tests/tasks.)"""
    root, dirs, _ = quick_run
    exp = root / "exp"
    log = exp / "distill" / "train.log"
    first = log.read_text()
    assert "1epoch results" in first
    (exp / ".done" / "distill").unlink()  # as if the run died before the stage finished
    proc = run(["--quick", "true", *dirs, "--stage", "5", "--stop_stage", "5"], timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"resuming from {exp / 'distill' / 'checkpoint.pth'}" in proc.stderr
    assert (exp / "distill" / "train.1.log").read_text() == first
    assert "already reached at max_epoch" in log.read_text()
    assert (exp / ".done" / "distill").is_file()

    proc = run(["--quick", "true", *dirs, "--stage", "5", "--stop_stage", "5", "--force", "true"], timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resuming from" not in proc.stderr
    fresh = log.read_text()
    assert "1epoch results" in fresh and first not in fresh


def test_a_failed_stage_takes_the_background_control_with_it(quick_run):
    """The distilled arm fails while the control fine-tunes beside it: distill.sh exits non-zero
    and no job of the control outlives it (this test damages the run, so it comes last)."""
    root, dirs, _ = quick_run
    exp = root / "exp"
    (exp / "student" / "student.pth").write_bytes(b"not a checkpoint")
    proc = run(["--quick", "true", *dirs, "--stage", "7", "--stop_stage", "7", "--force", "true"], timeout=600)
    assert proc.returncode != 0 and "fine-tuning failed" in proc.stderr
    assert "the from-scratch control fine-tunes in the background" in proc.stderr
    time.sleep(2)
    left = subprocess.run(["pgrep", "-af", str(exp / "control")], capture_output=True, text=True).stdout
    assert left == "", f"control jobs still running after distill.sh exited:\n{left}"


@pytest.fixture(scope="module")
def release_run(quick_run, quick_release):
    """Stages 2-6 of the quick recipe with pretrain1's quick release as the teacher."""
    root, _, _ = quick_run
    release, _ = quick_release
    dirs = ["--datadir", root / "data", "--dumpdir", root / "dump", "--expdir", root / "exp_release"]
    proc = run(["--quick", "true", "--teacher", release, *dirs, "--stage", "2", "--stop_stage", "6"], timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, release, dirs, proc


def test_distils_a_release(release_run):
    """The default path of make demo: a released teacher (here pretrain1's quick release) is distilled
    and compared frozen, with no teacher training in the run."""
    root, release, dirs, proc = release_run
    assert f"distillation of mini_fbank from {release}" in proc.stderr
    assert "Stage 3" not in proc.stderr and "Stage 4" not in proc.stderr
    assert "pre-training one here" not in proc.stderr  # --teacher wins over the auto release lookup
    proc = run(["--quick", "true", "--teacher", release, *dirs, "--stage", "10", "--stop_stage", "10",
                "--frozen_seeds", "1"], timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    frozen = json.loads((root / "exp_release" / "frozen" / "frozen.json").read_text())
    assert frozen["upstreams"]["teacher"]["source"] == str(release)
    assert set(frozen["upstreams"]) == {"teacher", "student", "random", "fbank"}


def test_ablations(release_run):
    """run.sh --ablations true: three variants of the demo's student, each changing one thing, distilled
    from the same teacher with the demo's own options, compared frozen on two labelled sets and timed."""
    from espnet_distill.student import load_student

    root, release, dirs, _ = release_run
    exp = root / "exp_release"
    args = ["--quick", "true", "--teacher", release, *dirs, "--stage", "11", "--stop_stage", "11",
            "--frozen_seeds", "2", "--ablations", "true"]
    proc = run(args, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    params = {"no_disc": 978_240, "sw": 978_304, "cnn": 1_122_752}  # mini_fbank, mini_sw_fbank, mini_cnn
    for variant, count in params.items():
        student = load_student(exp / f"ablation_{variant}" / "student" / "student.pth")
        assert student.count_parameters() == count, variant
        options = (exp / f"ablation_{variant}" / "distill_sh.options").read_text()
        assert f"teacher={release}" in options and "data_opts=--num_utts 240" in options  # the demo's own run
    plans = {v: json.loads((exp / f"ablation_{v}" / "distill_plan.json").read_text()) for v in params}
    assert plans["no_disc"]["disc_weight"] == 0 and plans["no_disc"]["student"] == "mini_fbank"
    assert plans["sw"]["student"] == "mini_sw_fbank" and plans["sw"]["disc_weight"] > 0
    assert plans["cnn"]["front_end"] == "cnn" and plans["cnn"]["frontend_steps"] == 0
    report = json.loads((exp / "ablations" / "report.json").read_text())
    assert list(report["frozen"]) == ["train_labelled", "train"]  # fewer labels first
    assert report["labels"]["train"]["utterances"] > report["labels"]["train_labelled"]["utterances"]
    for result in report["frozen"].values():
        assert {"student", "no_disc", "sw", "cnn", "fbank"} <= set(result)
        assert all(result[n]["seeds"] == [1, 2] for n in ("student", "no_disc", "sw", "cnn", "fbank"))
    assert sorted((c["claim"], c["labels"]) for c in report["claims"]) == sorted(
        (c, s) for c in "bcd" for s in ("train_labelled", "train"))
    assert {n: report["speed"][n]["params"] for n in params} == params
    assert report["speed"]["teacher"]["params"] > 3 * params["sw"]
    # the second labelled set reuses the first one's valid and test features (one shared cache)
    log = (exp / "ablations" / "frozen_train" / "frozen_eval.log").read_text()
    assert f"cnn on {root / 'data' / 'dev'}: cached features" in log
    markdown = (exp / "ablations" / "report.md").read_text()
    assert "(b) L_disc on vs off" in markdown and (exp / "ablations" / "ablations.png").is_file()
    # a rerun finds every step done
    proc = run(args, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count("done before, skipped") >= 2 and "variant sw: distill.sh" in proc.stderr
