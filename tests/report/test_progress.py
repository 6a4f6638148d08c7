"""The progress bar that follows an ESPnet Trainer's train.log (distill.sh runs it beside each trainer)."""

import io
import threading
import time

import pytest

from espnet_distill.report.progress import TrainingPlan, TrainingPosition, follow_training, training_position


def batch(epoch, a, b, loss):
    return (f"[vm] 2026-11-26 22:56:42,465 (trainer:810) INFO: {epoch}epoch:train:{a}-{b}batch: "
            f"iter_time=0.010, loss={loss}, optim0_lr0=6.377e-04, train_time=1.015\n")


def results(epoch):
    return (f"[vm] 2026-11-26 22:58:00,000 (trainer:392) INFO: {epoch}epoch results: [train] loss=1.0, "
            f"time=2 minutes and 3.1 seconds, [valid] loss=1.1\n")


PLAN = TrainingPlan(max_epoch=3, iters_per_epoch=20)


def test_position_from_the_newest_line():
    assert training_position("").epoch == 0 and training_position("").done(PLAN) == 0
    text = batch(1, 1, 10, 4.0) + batch(1, 11, 20, 3.5)
    pos = training_position(text)
    assert (pos.epoch, pos.batches, pos.finished, pos.stats["loss"]) == (1, 20, False, 3.5)
    assert pos.done(PLAN) == 20
    pos = training_position(text + results(1))
    assert pos.finished and pos.done(PLAN) == 20 and pos.stats["loss"] == 3.5
    assert training_position(text + results(1) + batch(2, 1, 10, 3.0)).done(PLAN) == 30
    # appended logs of a resumed run: the last line wins, even when it goes back an epoch
    assert training_position(text + batch(2, 1, 10, 3.0) + batch(2, 1, 5, 3.2)).done(PLAN) == 25
    # epochs over the whole data (no num_iters_per_epoch): the bar counts finished epochs
    whole = TrainingPlan(max_epoch=3, iters_per_epoch=None)
    assert whole.total == 3
    assert training_position(text).done(whole) == 0 and training_position(text + results(1)).done(whole) == 1


def test_plan_from_config(tmp_path):
    (tmp_path / "config.yaml").write_text("max_epoch: 10\nnum_iters_per_epoch: 100\n")
    assert TrainingPlan.from_config(tmp_path / "config.yaml").total == 1000
    (tmp_path / "config.yaml").write_text("num_iters_per_epoch: 100\n")
    with pytest.raises(ValueError, match="config.yaml: expected an ESPnet training config with an integer max_epoch"):
        TrainingPlan.from_config(tmp_path / "config.yaml")


def _write_run(out, lines, done):
    (out / "config.yaml").write_text("max_epoch: 3\nnum_iters_per_epoch: 20\n")
    for line in lines:
        time.sleep(0.02)
        with open(out / "train.log", "a") as f:
            f.write(line)
    done.set()


def test_follow_a_run_to_its_end(tmp_path):
    lines = [batch(e, a, a + 9, 5.0 - e - a / 100) for e in (1, 2, 3) for a in (1, 11)]
    lines = [*lines[:2], results(1), *lines[2:4], results(2), *lines[4:], results(3)]
    done, stream = threading.Event(), io.StringIO()
    writer = threading.Thread(target=_write_run, args=(tmp_path, lines, done))
    writer.start()
    pos = follow_training(tmp_path, lambda: not done.is_set(), desc="teacher", poll=0.01, stream=stream)
    writer.join()
    assert pos.epoch == 3 and pos.finished and pos.done(PLAN) == 60
    assert "teacher: 100%" in stream.getvalue() and "60/60" in stream.getvalue()


def test_resumed_run_starts_after_its_last_finished_epoch(tmp_path):
    # the killed run finished epoch 1 and was in epoch 2; the resumed run redoes epoch 2
    old = batch(1, 1, 20, 3.0) + results(1) + batch(2, 1, 10, 2.5)
    (tmp_path / "train.log").write_text(old)
    done, stream = threading.Event(), io.StringIO()
    writer = threading.Thread(target=_write_run, args=(tmp_path, [batch(2, 1, 5, 2.6), batch(2, 6, 20, 2.4)], done))
    writer.start()
    pos = follow_training(tmp_path, lambda: not done.is_set(), desc="distill", log_offset=len(old), poll=0.01, stream=stream)
    writer.join()
    assert (pos.epoch, pos.batches) == (2, 20) and pos.done(PLAN) == 40
    assert "20/60" in stream.getvalue()  # where the bar started: after epoch 1
    assert "40/60" in stream.getvalue()


def test_trainer_that_dies_before_writing_its_config(tmp_path):
    assert follow_training(tmp_path, lambda: False, poll=0.01, stream=io.StringIO()) == TrainingPosition()
