"""DistillTask through ESPnet's real Trainer: two stages, resume after SIGKILL, export, bad data."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
import soundfile as sf
import torch

from espnet_distill.export import load_trained_student
from espnet_distill.report.espnet_logs import epoch_results
from espnet_distill.student import load_student
from tests.tasks.conftest import distill_args, run_distill

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "conf/distill/tiny_fbank_disc.yaml")
# 2 s crops, batches of 8, 8 updates per epoch (ESPnet's num_iters_per_epoch)
FAST = ["--max_samples", "32000", "--batch_size", "8", "--num_iters_per_epoch", "8"]


def test_two_stage_fbank_distillation(synth_corpus, tiny_teacher_ckpt, corpus_cmvn, tmp_path):
    exp = tmp_path / "exp"
    args = distill_args(synth_corpus, tiny_teacher_ckpt, exp, "--config", TINY, "--cmvn", str(corpus_cmvn),
                        "--max_epoch", "2", "--distill_conf", "frontend_steps=4", *FAST)
    run_distill(args, tmp_path / "log")
    epochs = epoch_results(tmp_path / "log")
    assert sorted(epochs) == [1, 2]
    train1, valid1 = epochs[1]["train"], epochs[1]["valid"]
    train2, valid2 = epochs[2]["train"], epochs[2]["valid"]
    # epoch 1: 4 stage-one updates (L_front), then stage two; epoch 2: stage two only
    assert "front" in train1 and 1.0 < train1["stage"] < 2.0
    assert train2["stage"] == 2.0 and "front" not in train2
    assert valid1["stage"] == 2.0 and valid2["stage"] == 2.0
    assert valid2["loss"] < valid1["loss"]
    assert {"disc", "unit_agreement", "reg_l1", "reg_cos", "reg_l1_t4"} <= set(valid2)

    # checkpoints hold the student and the update counter only, never the teacher
    state = torch.load(exp / "valid.loss.best.pth", map_location="cpu", weights_only=True)
    assert {k.split(".")[0] for k in state} == {"student", "num_forwards", "num_nonfinite"}
    assert int(state["num_nonfinite"]) == 0
    assert int(state["num_forwards"]) == 16
    assert (exp / "student_config.yaml").is_file() and (exp / "distill_provenance.yaml").is_file()

    # export: heads dropped, weights_only + strict loading, same hidden states
    out = tmp_path / "student.pth"
    proc = subprocess.run([sys.executable, "-m", "espnet_distill.bin.export_student", str(exp), "--out", str(out)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["max_abs_diff"]["espnet_distill"] == 0.0
    payload = torch.load(out, map_location="cpu", weights_only=True)
    assert not any(k.startswith(("pred_heads", "unit_head", "frontend_head")) for k in payload["state_dict"])
    assert payload["provenance"]["optimizer_steps"] == 16
    assert payload["provenance"]["teacher"]["num_layers"] == 4
    trained, _ = load_trained_student(exp)
    wavs = 0.1 * torch.randn(2, 20000)
    with torch.no_grad():
        a = trained.without_heads()(wavs).hidden_states
        b = load_student(out).eval()(wavs).hidden_states
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_sigkill_then_resume_cnn_student_and_export_all_formats(synth_corpus, tiny_teacher_ckpt, tmp_path):
    """S&W-style CNN student: killed during epoch 2, resumed to the end, exported to every format."""
    exp = tmp_path / "exp"
    args = distill_args(synth_corpus, tiny_teacher_ckpt, exp, "--config", TINY, "--student", "tiny_sw_cnn",
                        "--distill_conf", "frontend_steps=0", "--max_epoch", "3", *FAST)
    log = open(tmp_path / "log1", "w")
    proc = subprocess.Popen([sys.executable, "-m", "espnet_distill.bin.distill_train", *args],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 300
    while not (exp / "1epoch.pth").exists() or not (exp / "checkpoint.pth").exists():
        assert proc.poll() is None, (tmp_path / "log1").read_text()[-3000:]
        assert time.time() < deadline, "epoch 1 did not finish in time"
        time.sleep(0.5)
    time.sleep(2)  # into epoch 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (exp / "2epoch.pth").exists(), "killed too late to test a resume mid-run"

    run_distill(args + ["--resume", "true"], tmp_path / "log2")
    resumed = (tmp_path / "log2").read_text()
    assert "1epoch results" not in resumed and "2epoch results" in resumed and "3epoch results" in resumed
    assert (exp / "3epoch.pth").exists()
    state = torch.load(exp / "3epoch.pth", map_location="cpu", weights_only=True)
    assert int(state["num_forwards"]) == 24  # exactly 3 epochs of 8 updates: none lost or repeated

    out = tmp_path / "export"
    proc = subprocess.run([sys.executable, "-m", "espnet_distill.bin.export_student", str(exp / "3epoch.pth"),
                           "--out", str(out / "student.pth"), "--s3prl", str(out / "distiller.ckpt"),
                           "--hf", str(out / "hf")], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    diffs = json.loads(proc.stdout)["max_abs_diff"]
    assert diffs["espnet_distill"] == 0.0 and diffs["s3prl"] < 1e-4 and diffs["hf"] < 1e-4
    assert (out / "hf" / "config.json").is_file() and (out / "hf" / "model.safetensors").is_file()


def _bad_corpus(synth_corpus: Path, tmp_path: Path) -> Path:
    """The dev set plus a missing file, a 100-sample utterance and a stereo file."""
    d = tmp_path / "bad"
    d.mkdir()
    entries = (synth_corpus / "dev" / "wav.scp").read_text().splitlines()
    sf.write(str(tmp_path / "short.wav"), np.zeros(100, dtype=np.float32), 16000)
    sf.write(str(tmp_path / "stereo.wav"), np.zeros((16000, 2), dtype=np.float32), 16000)
    extra = [f"zz-missing {tmp_path / 'gone.wav'}", f"zz-short {tmp_path / 'short.wav'}",
             f"zz-stereo {tmp_path / 'stereo.wav'}"]
    (d / "wav.scp").write_text("\n".join(sorted(entries + extra)) + "\n")
    shapes = (synth_corpus / "dev" / "utt2num_samples").read_text().splitlines()
    (d / "utt2num_samples").write_text("\n".join(sorted(shapes + ["zz-missing 16000", "zz-short 100",
                                                                  "zz-stereo 16000"])) + "\n")
    return d


def test_bad_utterances_error_names_them(synth_corpus, tiny_teacher_ckpt, tmp_path):
    bad = _bad_corpus(synth_corpus, tmp_path)
    args = distill_args(synth_corpus, tiny_teacher_ckpt, tmp_path / "exp", "--config", TINY, "--max_epoch", "1",
                        "--student", "tiny_sw_cnn", "--distill_conf", "frontend_steps=0",
                        "--valid_data_path_and_name_and_type", f"{bad}/wav.scp,speech,sound",
                        "--valid_shape_file", str(bad / "utt2num_samples"))
    proc = run_distill(args, tmp_path / "log", check=False)
    assert proc.returncode != 0
    err = proc.stderr
    assert "3 of 19 utterances unusable" in err
    assert "zz-missing" in err and "does not exist" in err
    assert "zz-short" in err and "too short, 100 samples" in err
    assert "zz-stereo" in err and "expected mono audio, found 2 channels" in err
    # stopped by the up-front check, before any training or data-loader worker started
    assert "BadUtteranceError" in err and "epoch results" not in err and "DataLoader" not in err


def test_bad_utterances_skipped_and_counted(synth_corpus, tmp_path):
    from espnet_distill.tasks.data_check import check_and_filter

    bad = _bad_corpus(synth_corpus, tmp_path)
    triplets, shapes, reports = check_and_filter(
        [(f"{bad}/wav.scp", "speech", "sound")], [str(bad / "utt2num_samples")], tmp_path / "filtered", policy="skip")
    assert sorted(reports[0].bad) == ["zz-missing", "zz-short", "zz-stereo"]
    kept = Path(triplets[0][0]).read_text().splitlines()
    assert len(kept) == 16 and not any(line.startswith("zz-") for line in kept)
    assert len(Path(shapes[0]).read_text().splitlines()) == 16


def test_config_typos_are_clear_errors(synth_corpus, tiny_teacher_ckpt, tmp_path):
    args = distill_args(synth_corpus, tiny_teacher_ckpt, tmp_path / "exp", "--config", TINY, "--max_epoch", "1",
                        "--check_data", "false", "--distill_conf", "disc_wieght=0.3")
    proc = run_distill(args, tmp_path / "log", check=False)
    assert proc.returncode != 0 and "distill_conf: unknown keys ['disc_wieght']" in proc.stderr
    args = distill_args(synth_corpus, tiny_teacher_ckpt, tmp_path / "exp2", "--config", TINY, "--max_epoch", "1",
                        "--check_data", "false", "--student_conf", "encoder.num_layer=3")
    proc = run_distill(args, tmp_path / "log2", check=False)
    assert proc.returncode != 0 and "student_conf.encoder.num_layer: unknown student config key" in proc.stderr


def _lr_per_update(log: Path):
    """The learning rate of each update, from ESPnet's per-batch report (log_interval 1)."""
    import re

    rows = re.findall(r"(\d+)epoch:train:(\d+)-\d+batch: .*?optim0_lr0=([0-9.e+-]+)", log.read_text())
    return [float(lr) for _, _, lr in rows]


def test_stage_two_restarts_the_learning_rate_schedule(synth_corpus, tiny_teacher_ckpt, corpus_cmvn, tmp_path):
    """Input distillation: 4 front-end updates, then 6 of stage two. The warm-up (2 updates to 1e-3,
    linear decay to 0 at update 10) runs again from the start of stage two unless
    distill_conf.restart_schedule is false."""
    common = ["--config", TINY, "--cmvn", str(corpus_cmvn), "--max_epoch", "1", "--num_iters_per_epoch", "10",
              "--max_samples", "16000", "--batch_size", "4", "--log_interval", "1",
              "--scheduler", "piecewiselinearwarmuplr",
              "--scheduler_conf", "warmup_steps_list=[0,2,10]", "--scheduler_conf", "warmup_lr_list=[0.0,0.001,0.0]"]
    lrs = {}
    for restart in ("true", "false"):
        exp = tmp_path / restart
        args = distill_args(synth_corpus, tiny_teacher_ckpt, exp, *common,
                            "--distill_conf", "frontend_steps=4", "--distill_conf", f"restart_schedule={restart}")
        run_distill(args, tmp_path / f"{restart}.log")
        lrs[restart] = _lr_per_update(tmp_path / f"{restart}.log")
        assert len(lrs[restart]) == 10
    # ESPnet reports the rate set after each update: one schedule decays from its peak after update 2 ...
    one, two = lrs["false"], lrs["true"]
    assert one[:9] == pytest.approx([1e-3, 8.75e-4, 7.5e-4, 6.25e-4, 5e-4, 3.75e-4, 2.5e-4, 1.25e-4, 0.0], abs=1e-7)
    # ... the restarted one warms up again for stage two: update 5 runs at the rate update 1 ran at
    # (5e-4, half-way up the warm-up), update 6 at the peak, then the decay of stage one repeats
    assert two[:3] == pytest.approx(one[:3], abs=1e-7)
    assert two[3] == pytest.approx(5e-4, abs=1e-7) and two[4:9] == pytest.approx(one[:5], abs=1e-7)
    saved = yaml.safe_load((tmp_path / "true" / "config.yaml").read_text())
    assert saved["scheduler"] == "stage_restart" and saved["scheduler_conf"]["restart_at"] == 4
