"""Test helpers shared by tests/student and tests/losses: a tiny random teacher, padded batches, speech."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import List, Sequence, Tuple

import pytest
import torch

from espnet_distill.teacher.base import Teacher, UnitHead
from tests.oracles.teachers import random_hubert_pretrain, tiny_config

TINY_CONV = [(128, 10, 5)] + [(128, 3, 2)] * 4 + [(128, 2, 2)] * 2


def make_tiny_teacher(
    seed: int = 0,
    *,
    dim: int = 256,
    num_layers: int = 4,
    num_heads: int = 4,
    num_units: int = 100,
    codeword_dim: int = 128,
    conv_layers=TINY_CONV,
    extractor_mode: str = "group_norm",
    pre_ln: bool = False,
) -> Teacher:
    """A random HuBERT (torchaudio ``hubert_pretrain_model``) wrapped as a frozen :class:`Teacher`."""
    config = tiny_config(
        extractor_mode=extractor_mode, extractor_conv_layer_config=list(conv_layers), extractor_conv_bias=False,
        encoder_embed_dim=dim, encoder_pos_conv_kernel=64, encoder_pos_conv_groups=16, encoder_num_layers=num_layers,
        encoder_num_heads=num_heads, encoder_ff_interm_features=4 * dim, encoder_layer_norm_first=pre_ln,
    )
    m = random_hubert_pretrain(config, num_units=num_units, codeword_dim=codeword_dim, seed=seed)
    return Teacher(
        m.wav2vec2, UnitHead(m.logit_generator.final_proj, m.logit_generator.label_embeddings.data), source="random"
    )


def pad_batch(wavs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad 1-D waveforms into ``(B, N)`` plus ``(B,)`` lengths."""
    lengths = torch.tensor([w.numel() for w in wavs])
    batch = torch.zeros(len(wavs), int(lengths.max()))
    for i, w in enumerate(wavs):
        batch[i, : w.numel()] = w
    return batch, lengths


def noise_wavs(lengths: Sequence[int], seed: int = 0) -> List[torch.Tensor]:
    """Band-limited noise plus a tone per utterance, peak around 0.3."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for n in lengths:
        t = torch.arange(n) / 16000
        tone = 0.2 * torch.sin(2 * torch.pi * (150 + 400 * torch.rand((), generator=g)) * t)
        out.append(tone + 0.05 * torch.randn(n, generator=g))
    return out


SENTENCES = [
    ("slt", "the quick brown fox jumps over the lazy dog"),
    ("rms", "distillation makes small and fast speech models"),
    ("awb", "seven green apples fell from the tall tree"),
    ("slt", "hello world"),
]


def synthesise(out_dir: Path, sentences=SENTENCES) -> List[Path]:
    """Speak ``sentences`` with flite into 16 kHz wavs (skip the test if flite is missing)."""
    if shutil.which("flite") is None:
        pytest.skip("needs the flite speech synthesiser: sudo apt-get install -y flite")
    paths = []
    for i, (voice, text) in enumerate(sentences):
        path = Path(out_dir) / f"utt{i}.wav"
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(path)], check=True, capture_output=True)
        paths.append(path)
    return paths
