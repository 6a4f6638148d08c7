"""Fixtures for the student tests."""

from __future__ import annotations

import pytest
import torch

from espnet_distill.data.audio import load_audio
from tests.student.helpers import make_tiny_teacher, synthesise


@pytest.fixture(scope="session")
def tiny_teacher():
    """A random 4 x 256 post-LN HuBERT with a 128-channel group-norm CNN, K = 100 units."""
    return make_tiny_teacher()


@pytest.fixture(scope="session")
def speech_paths(tmp_path_factory):
    """Four flite utterances (16 kHz wav paths)."""
    return synthesise(tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="session")
def speech(speech_paths):
    """The four utterances as 1-D float32 tensors."""
    return [load_audio(p) for p in speech_paths]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run each test on one intra-op thread.

    These tests run many small ops; with 2 threads every op ends in a barrier, and on a
    shared 2-core machine a descheduled thread stalls it (10x slower steps measured
    under load), while on an idle machine 1 thread costs little here.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
