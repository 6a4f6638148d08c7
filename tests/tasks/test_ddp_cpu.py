"""Two-process DistributedDataParallel on CPU (gloo), launched the way an external launcher
(torchrun, slurm srun, mpirun) would: one distill_train per rank, ESPnet's own DDP code."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import torch

from tests.tasks.conftest import distill_args

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_rank_gloo_ddp(synth_corpus, tiny_teacher_ckpt, corpus_cmvn, tmp_path):
    exp = tmp_path / "exp"
    base = distill_args(synth_corpus, tiny_teacher_ckpt, exp, "--config", str(REPO / "conf/distill/tiny_fbank_disc.yaml"),
                        "--cmvn", str(corpus_cmvn), "--max_epoch", "1", "--num_iters_per_epoch", "4",
                        "--max_samples", "32000", "--distill_conf", "frontend_steps=2",
                        "--multiprocessing_distributed", "false", "--dist_backend", "gloo",
                        "--dist_world_size", "2", "--dist_init_method", f"tcp://127.0.0.1:{_free_port()}")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-m", "espnet_distill.bin.distill_train", *base, "--dist_rank", str(r)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
             for r in range(2)]
    logs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    assert "[" in logs[0] and ":0/2]" in logs[0]  # rank 0 of a world of 2 did the logging
    assert "1epoch results" in logs[0]
    state = torch.load(exp / "1epoch.pth", map_location="cpu", weights_only=True)
    # both stages ran under DDP (stage one leaves the encoder unused: unused_parameters was set)
    assert int(state["num_forwards"]) == 4
