"""The student as an exportable graph: one forward with no data-dependent Python.

:class:`GraphStudent` is what ``torch.onnx.export`` (the dynamo exporter) traces:
``(wavs (B, N), lengths (B,)) -> (hidden_states (L + 1, B, T, D), lengths (B,))``, the
student's hidden states stacked (index 0 the front-end output, k the output of layer
k, 1-based; padded frames unspecified, as in :class:`~espnet_distill.student.StudentOutput`)
and its valid frames. All of them, not only the last, because the ``distill_student``
frontend may read one layer or a weighted sum; taking ``hidden_states[-1]`` costs nothing.

Three pieces of the eager model are replaced for the graph, with the same results:

- the GroupNorm of HuBERT's first CNN block loops over utterances in eager code; traced,
  :func:`espnet_distill.frames.masked_group_norm` switches to masked sums by itself;
- the Kaldi fbank becomes :class:`MatrixFbank`. Every step of Kaldi's fbank up to the
  power spectrum (DC removal, pre-emphasis, the povey window, the 512-point real DFT
  and the 2**15 scale) is linear in a frame, so it is one ``(400, 514)`` float64
  matrix; framing (25 ms / 10 ms) is a reshape of the waveform into 10 ms blocks and a
  concatenation of three shifted views (no ``Unfold``, which the TorchScript exporter
  refuses with a dynamic time axis; it exports this one, the dynamo exporter both). Measured with ONNX Runtime, one thread, 10 s of audio
  (AMD EPYC, AVX2): the dynamo exporter's translation of the eager fbank (``unfold`` +
  ``rfft`` as ONNX ``DFT``) took 20.8 ms, this matrix 14.0 ms and identical values
  (to float32), the same matrix in float32 6.6 ms but 5.6e-4 off in log-mel (float32
  cancellation in the low, pre-emphasis-attenuated bins), torch's eager fbank 7.9 ms.
  The fbank stays inside the graph: the whole ``dt_fbank`` took 410 ms (fastest of 11;
  median 454) with it inside and 398 ms (median 472) with torch's fbank outside feeding a
  graph of the rest, a difference within the machine's noise, and inside the model is one
  self-contained file that needs no torch next to ONNX Runtime;
- attention gets an additive float mask (0 / -inf) instead of the boolean one: the
  exporter turns a boolean mask into ``Where`` over every ``(B, H, T, T)`` score plus a
  NaN guard (15 % of ``dt_fbank``'s time in ONNX Runtime's profile, 1 thread, 10 s), an
  additive one into a broadcast ``Add`` (12 % faster overall: 458 vs 521 ms). Every query
  has a key to attend to (an utterance with no frame attends to all), so no row is all -inf.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from espnet_distill.student import KaldiFbank, StudentModel
from espnet_distill.student.config import FBANK_FRAME_LENGTH, FBANK_FRAME_SHIFT
from espnet_distill.student.fbank import PREEMPHASIS, WAVEFORM_SCALE, fbank_num_frames


def kaldi_power_matrix(window: Tensor, fft_size: int = 512) -> Tensor:
    """``(400, 2 * (fft_size // 2 + 1))`` float64: a frame of waveform in [-1, 1] times it is
    Kaldi's DFT of the frame (real parts, then imaginary parts) after scaling by 2**15, DC
    removal, pre-emphasis and ``window`` (``(400,)``)."""
    n = FBANK_FRAME_LENGTH
    eye = torch.eye(n, dtype=torch.float64)
    remove_dc = eye - 1.0 / n
    preemphasis = eye.clone()
    preemphasis[1:, :-1] -= PREEMPHASIS * torch.eye(n - 1, dtype=torch.float64)
    preemphasis[0, 0] -= PREEMPHASIS  # Kaldi's first sample is pre-emphasised against itself
    bins = torch.arange(fft_size // 2 + 1, dtype=torch.float64)[:, None]
    angle = 2.0 * torch.pi * bins * torch.arange(n, dtype=torch.float64)[None, :] / fft_size
    dft = torch.cat([torch.cos(angle), -torch.sin(angle)])  # (514, 400): zero padding to 512 is implicit
    frame_to_dft = dft @ torch.diag(window.double()) @ preemphasis @ remove_dc
    return (WAVEFORM_SCALE * frame_to_dft).t().contiguous()


class MatrixFbank(nn.Module):
    """:class:`~espnet_distill.student.KaldiFbank` as framing by reshapes and one float64 matmul.

    Same interface and (to float32 rounding) the same values; the time axis must have at
    least 400 samples (one frame).
    """

    def __init__(self, fbank: KaldiFbank):
        super().__init__()
        self.num_mel_bins = fbank.num_mel_bins
        self.num_bins = fbank.fft_size // 2 + 1
        self.register_buffer("power_matrix", kaldi_power_matrix(fbank.window, fbank.fft_size), persistent=False)
        self.register_buffer("mel_banks", fbank.mel_banks.double(), persistent=False)

    def forward(self, wavs: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``(B, N)`` waveforms, ``(B,)`` samples -> ``(B, F, mels)`` float32 log-mel, ``(B,)`` frames."""
        b, n = wavs.shape
        shift = FBANK_FRAME_SHIFT
        x = F.pad(wavs, (0, (-n) % shift)).double()
        blocks = x.reshape(b, -1, shift)  # (B, ceil(N / 160), 160)
        # a 400-sample frame is blocks i and i + 1 and the first half of block i + 2
        tail = FBANK_FRAME_LENGTH - 2 * shift
        frames = torch.cat([blocks[:, :-2], blocks[:, 1:-1], blocks[:, 2:, :tail]], dim=-1)
        frames = frames[:, : (n - FBANK_FRAME_LENGTH) // shift + 1]  # (B, F, 400)
        spectrum = frames @ self.power_matrix  # (B, F, 514)
        power = spectrum[..., : self.num_bins].square() + spectrum[..., self.num_bins :].square()
        mel = power @ self.mel_banks  # (B, F, mels)
        logmel = mel.clamp_min(torch.finfo(torch.float32).eps).log()
        return logmel.float(), fbank_num_frames(lengths)


class AdditiveMaskAttention(nn.Module):
    """Calls a :class:`~espnet_distill.student.components.SelfAttention` with its boolean key mask
    ``(B, 1, 1, T)`` turned into an additive one (0 where allowed, -inf elsewhere)."""

    def __init__(self, attention: nn.Module):
        super().__init__()
        self.attention = attention

    def forward(self, x: Tensor, attend: Tensor) -> Tensor:
        additive = torch.zeros(attend.shape, dtype=x.dtype, device=x.device).masked_fill(~attend, float("-inf"))
        return self.attention(x, additive)


class GraphStudent(nn.Module):
    """A head-free student whose forward returns plain tensors (what ONNX exports).

    Build it with :func:`graph_student`. Inputs shorter than the receptive field (400
    samples) are outside what the graph supports; callers return no frames for them.
    """

    def __init__(self, student: StudentModel):
        super().__init__()
        self.student = student

    def forward(self, wavs: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``(B, N)`` float32 waveforms in [-1, 1], ``(B,)`` int64 samples ->
        ``(L + 1, B, T, D)`` hidden states and ``(B,)`` int64 frames."""
        out = self.student(wavs, lengths)
        return torch.stack(out.hidden_states), out.lengths


def graph_student(student: StudentModel) -> GraphStudent:
    """A copy of ``student`` ready to trace: no heads, eval mode, on the CPU, weight norm of the
    positional conv folded into a plain weight, :class:`MatrixFbank` for an fbank front-end,
    :class:`AdditiveMaskAttention` around each layer's attention."""
    bare = copy.deepcopy(student.without_heads()).cpu().eval()
    for layer in bare.encoder.layers:
        layer.self_attn = AdditiveMaskAttention(layer.self_attn)
    conv = bare.encoder.pos_conv.conv
    if torch.nn.utils.parametrize.is_parametrized(conv, "weight"):
        torch.nn.utils.parametrize.remove_parametrizations(conv, "weight", leave_parametrized=True)
    fbank = getattr(bare.frontend, "fbank", None)
    if isinstance(fbank, KaldiFbank):
        bare.frontend.fbank = MatrixFbank(fbank)
    return GraphStudent(bare).eval()
