"""run_local.sh: the recipes' default job command (cmd.sh), with Kaldi run.pl's command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LIB = REPO / "egs2" / "TEMPLATE" / "lib"
ENV = dict(os.environ, PATH=f"{LIB}:{Path(sys.executable).parent}:{os.environ['PATH']}")


def run(*args, cwd=None):
    return subprocess.run(["run_local.sh", *map(str, args)], env=ENV, cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)


def test_job_array_logs_and_failures(tmp_path):
    proc = run("--max_jobs_run", 2, "JOB=1:3", tmp_path / "log.JOB.txt", "bash", "-c", "echo job JOB; [ JOB != 2 ]")
    assert proc.returncode == 1
    assert f"job 2 failed, see {tmp_path}/log.2.txt" in proc.stderr and "1 / 3 failed" in proc.stderr
    for i in (1, 2, 3):
        text = (tmp_path / f"log.{i}.txt").read_text()
        assert text.startswith("# bash -c echo job") and f"job {i}\n" in text
        assert f"# Ended (code {int(i == 2)})" in text
    ok = run("JOB=1:2", tmp_path / "ok.JOB.txt", "true")
    assert ok.returncode == 0 and ok.stderr == ""


def test_refuses_what_this_machine_cannot_do(tmp_path):
    nodes = run("--num_nodes", 2, tmp_path / "x.log", "true")
    assert nodes.returncode == 2 and "cluster launcher in cmd.sh" in nodes.stderr
    if subprocess.run(["bash", "-c", "command -v nvidia-smi"], capture_output=True).returncode != 0:
        gpu = run("--gpu", 1, tmp_path / "x.log", "true")
        assert gpu.returncode == 2 and "this machine has 0 GPU(s)" in gpu.stderr and "--ngpu 0" in gpu.stderr
    bad = run("JOB=3", tmp_path / "x.log", "true")
    assert bad.returncode == 2 and "JOB=<first>:<last>" in bad.stderr


def test_espnet_launch_goes_through_it(tmp_path):
    """espnet2.bin.launch (how the recipes start training) calls the job command with --gpu and a log."""
    script = tmp_path / "show.py"
    script.write_text("import sys; print('args', sys.argv[1:])\n")
    proc = subprocess.run([sys.executable, "-m", "espnet2.bin.launch", "--cmd", "run_local.sh --num_threads 1",
                           "--log", str(tmp_path / "train.log"), "--ngpu", "0", "--num_nodes", "1", "--",
                           sys.executable, str(script), "--x", "1"],
                          env=ENV, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = (tmp_path / "train.log").read_text()
    assert "args ['--x', '1', '--ngpu', '0', '--multiprocessing_distributed', 'True']" in log
