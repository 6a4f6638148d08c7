"""Reference computations for the teacher tests, written independently of the loaders."""

from __future__ import annotations

import copy
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ATOL = 1e-4  # max abs difference allowed between a loaded teacher and the reference implementation


def noise_wavs(lengths: Sequence[int], seed: int = 0) -> List[Tensor]:
    """1-D test waveforms: a random tone plus noise each, peak around 0.3."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for n in lengths:
        t = torch.arange(n) / 16000
        freq = 120 + 500 * torch.rand((), generator=g)
        out.append(0.2 * torch.sin(2 * torch.pi * freq * t) + 0.05 * torch.randn(n, generator=g))
    return out


def pad_batch(wavs: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
    lengths = torch.tensor([w.numel() for w in wavs])
    batch = torch.zeros(len(wavs), int(lengths.max()))
    for i, w in enumerate(wavs):
        batch[i, : w.numel()] = w
    return batch, lengths


def max_diffs(ours: Sequence[Tensor], reference: Sequence[Tensor]) -> List[float]:
    assert len(ours) == len(reference), f"{len(ours)} hidden states, reference has {len(reference)}"
    for a, b in zip(ours, reference, strict=True):
        assert a.shape == b.shape, f"shape {tuple(a.shape)} vs reference {tuple(b.shape)}"
    return [float((a.double() - b.double()).abs().max()) for a, b in zip(ours, reference, strict=True)]


def assert_states_close(ours: Sequence[Tensor], reference: Sequence[Tensor], atol: float = ATOL) -> None:
    diffs = max_diffs(ours, reference)
    assert max(diffs) <= atol, f"max abs diff per hidden state {diffs} exceeds {atol}"


def torchaudio_reference(w2v: nn.Module, wav: Tensor, *, normalize: bool = False, dtype=torch.float32) -> List[Tensor]:
    """L + 1 hidden states of a torchaudio ``Wav2Vec2Model`` on one unpadded ``(1, T)`` utterance.

    Layers 1..L come from torchaudio's public ``extract_features``; index 0 is the
    transformer input (projection + positional convolution, + LayerNorm for post-LN);
    for pre-LN models the last state gets the final LayerNorm, as in HuggingFace.
    """
    model = copy.deepcopy(w2v).to(dtype).eval()
    x = wav.to(dtype)
    if normalize:
        x = F.layer_norm(x, x.shape)
    with torch.inference_mode():
        layers, _ = model.extract_features(x)
        feats, _ = model.feature_extractor(x, None)
        transformer = model.encoder.transformer
        first = transformer._preprocess(model.encoder.feature_projection(feats))
        layers = list(layers)
        if not transformer.layer_norm_first:  # torchaudio's flag is True for post-LN models
            layers[-1] = transformer.layer_norm(layers[-1])
    return [first] + layers


def unit_logits_float64(
    last_hidden: Tensor, proj_weight: Tensor, proj_bias: Tensor, codewords: Tensor, temp: float = 0.1
) -> Tensor:
    """HuBERT's pre-training logits for every unit, in float64: cos(W h + b, e_k) / temp."""
    last_hidden, proj_weight, proj_bias, codewords = (
        t.detach().double() for t in (last_hidden, proj_weight, proj_bias, codewords)
    )
    proj = last_hidden @ proj_weight.t() + proj_bias
    proj = proj / proj.norm(dim=-1, keepdim=True)
    codes = codewords / codewords.norm(dim=-1, keepdim=True)
    return proj @ codes.t() / temp


def check_padding(teacher, wavs: Sequence[Tensor], atol: float = ATOL) -> None:
    """Each utterance of a padded batch gets, on its valid frames, what it gets alone."""
    batch, lengths = pad_batch(wavs)
    out = teacher(batch, lengths)
    for i, wav in enumerate(wavs):
        alone = teacher(wav[None])
        n = int(alone.lengths[0])
        assert int(out.lengths[i]) == n
        diffs = [
            float((a[i, :n] - b[0]).abs().max()) for a, b in zip(out.hidden_states, alone.hidden_states, strict=True)
        ]
        assert max(diffs) <= atol, f"utterance {i}: {diffs}"
        if alone.unit_logits is not None:
            assert float((out.unit_logits[i, :n] - alone.unit_logits[0]).abs().max()) <= 10 * atol
