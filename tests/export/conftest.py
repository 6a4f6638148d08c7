"""Fixtures of the export tests: micro students (random weights), their ONNX files, a fine-tuned ASR model."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict

import pytest
import torch

from espnet_distill.student import StudentModel, build_student, get_preset, load_student
from tests.espnet.helpers import REPO, asr_data_args, make_student, run


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread per test (a shared 2-core machine; see tests/student/conftest.py)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def micro_cnn() -> StudentModel:
    """``tiny_cnn`` shrunk to a 32-channel group-norm CNN and 2 x (64, FFN 128, 2 heads)."""
    config = get_preset("tiny_cnn").without_heads().to_dict()
    config["frontend"]["cnn"]["conv_layers"] = [[32, 10, 5]] + [[32, 3, 2]] * 4 + [[32, 2, 2]] * 2
    config["encoder"].update(num_layers=2, embed_dim=64, ffn_dim=128, num_heads=2, pos_conv_kernel=16,
                             pos_conv_groups=4)
    config["name"] = "micro_cnn"
    torch.manual_seed(0)
    return build_student(config).eval()


@pytest.fixture(scope="session")
def students(tmp_path_factory) -> Dict[str, StudentModel]:
    """A micro CNN student and a micro fbank student (with non-trivial CMVN), random weights."""
    fbank = load_student(make_student(tmp_path_factory.mktemp("students") / "fbank.ckpt", seed=3))
    g = torch.Generator().manual_seed(0)
    fbank.frontend.set_cmvn(5.0 + torch.randn(80, generator=g), 2.0 + torch.rand(80, generator=g))
    return {"cnn": micro_cnn(), "fbank": fbank}


@pytest.fixture(scope="session")
def onnx_files(students, tmp_path_factory) -> Dict[str, Path]:
    """Each student exported once (fp32), shared by the ONNX tests."""
    from espnet_distill.export.onnx_format import export_onnx

    out = tmp_path_factory.mktemp("onnx")
    return {name: export_onnx(student, out / f"{name}.onnx") for name, student in students.items()}


@pytest.fixture(scope="session")
def asr_exp(synth_corpus, tmp_path_factory) -> Path:
    """A demo-scale ASR model with ``frontend: distill_student`` fine-tuned for a few updates, as in
    tests/espnet/test_asr_integration.py; returns its working dir (``exp/`` inside it)."""
    work = tmp_path_factory.mktemp("asr")
    make_student(work / "student.ckpt")
    run([sys.executable, "-m", "espnet_distill.bin.asr_train", "--config", REPO / "conf/asr/finetune_ctc.yaml",
         "--output_dir", work / "exp", *asr_data_args(synth_corpus, work),
         "--frontend_conf", "student=student.ckpt", "--frontend_conf", "mask_channel_length=16",
         "--max_epoch", "1", "--num_iters_per_epoch", "4", "--batch_bins", "800000"], work / "train.log", cwd=work)
    (work / "student.ckpt").unlink()  # the model rebuilds from config.yaml + its model file alone
    return work
