"""Shared fixtures: a small synthetic corpus made once per test session."""

from __future__ import annotations

import os
import shutil

import pytest
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # any accidental hub call fails at once


def require_tts() -> None:
    """Skip (locally) or fail (in CI) when the speech synthesisers are missing."""
    missing = [t for t in ("flite", "espeak-ng", "sox") if shutil.which(t) is None]
    if missing:
        message = f"needs {', '.join(missing)}: sudo apt-get install -y {' '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def synth_corpus(tmp_path_factory):
    """A 160-utterance corpus (12 voices, Kaldi + LibriSpeech layouts), shared by all tests."""
    require_tts()
    from espnet_distill.data.corpus import CorpusSpec, make_corpus

    out = tmp_path_factory.mktemp("corpus") / "synth"
    make_corpus(out, CorpusSpec(num_utts=160, seed=0, layout="librispeech", labelled_minutes=1.0), progress=False)
    return out


@pytest.fixture(scope="session")
def corpus_cmvn(synth_corpus, tmp_path_factory) -> Path:
    from espnet_distill.student import compute_cmvn_from_data_dir, save_cmvn

    out = tmp_path_factory.mktemp("cmvn") / "cmvn.npz"
    save_cmvn(out, compute_cmvn_from_data_dir(synth_corpus / "train", progress=False))
    return out


@pytest.fixture(scope="session")
def tiny_teacher_ckpt(tmp_path_factory) -> Path:
    """A random 4-layer x 128 HuBERT with a 24-unit head, saved in the torchaudio format."""
    from espnet_distill.teacher import save_torchaudio_checkpoint
    from tests.oracles.teachers import random_hubert_pretrain, tiny_config

    config = tiny_config(encoder_num_layers=4)
    model = random_hubert_pretrain(config, num_units=24, codeword_dim=16, seed=0)
    return save_torchaudio_checkpoint(model, tmp_path_factory.mktemp("teacher") / "teacher.pt", config)
