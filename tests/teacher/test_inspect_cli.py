"""python -m espnet_distill.bin.inspect_teacher."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from espnet_distill.bin import inspect_teacher
from tests.oracles.teachers import make_teacher_checkpoint


def test_json_report_of_a_fairseq_checkpoint(tmp_path):
    path = make_teacher_checkpoint("fairseq", tmp_path / "hubert.pt", num_units=30, codeword_dim=8)
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    run = subprocess.run(
        [sys.executable, "-m", "espnet_distill.bin.inspect_teacher", str(path), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    info = json.loads(run.stdout)
    assert info["format"] == "fairseq" and info["num_layers"] == 3 and info["hidden_states"] == 4
    assert info["hidden_size"] == 128 and info["num_heads"] == 2 and info["ffn_dim"] == 256
    assert info["unit_posteriors"] is True and info["num_units"] == 30 and info["codeword_dim"] == 8
    assert info["downsample_rate"] == 320 and info["receptive_field"] == 400
    assert info["parameters"] == info["backbone_parameters"] + 128 * 8 + 8


def test_text_report_and_errors(tmp_path, capsys):
    path = make_teacher_checkpoint("hf", tmp_path / "hf")
    assert inspect_teacher.main([str(path)]) == 0
    report = capsys.readouterr().out
    assert "format:            hf" in report and "unit posteriors:   no" in report
    (tmp_path / "x.txt").write_text("not a checkpoint")
    assert inspect_teacher.main([str(tmp_path / "x.txt")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "is not a teacher checkpoint" in captured.err
