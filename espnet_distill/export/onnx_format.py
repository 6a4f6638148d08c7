"""ONNX export of a student, ONNX Runtime inference, and the check that both agree.

The file is one self-contained ``.onnx`` (weights inside) written by torch's dynamo
exporter from :class:`~espnet_distill.export.onnx_graph.GraphStudent`:

=================  ============================  ===============================================
name               shape, type                   meaning
=================  ============================  ===============================================
``wavs``           ``(batch, samples)`` float32  zero-padded 16 kHz waveforms in [-1, 1]
``lengths``        ``(batch,)`` int64            valid samples of each
``hidden_states``  ``(L + 1, batch, frames, D)`` 0: front-end output, k: layer k (padded frames
                   float32                       unspecified)
``frame_lengths``  ``(batch,)`` int64            valid frames, ``floor((N - 400) / 320) + 1``
=================  ============================  ===============================================

``batch`` and ``samples`` are dynamic (``samples >= 400``: one frame). The fbank
front-end is computed inside the graph (see :mod:`~espnet_distill.export.onnx_graph` for
how and why). The student's config is in the model's metadata (``espnet_distill.config``),
so :func:`load_onnx_student` needs nothing but the file (and no network).

An int8 variant (:func:`quantize_onnx`) is ONNX Runtime's dynamic quantisation of the
MatMuls of the student's Linear layers (weights 8-bit per output channel, activations
quantised per batch at run time); convolutions, the fbank and the attention products stay
float. The weights are unsigned (``QUInt8``): measured on ``dt_fbank`` (random weights, AMD
EPYC with AVX2, no VNNI), signed weights saturate the u8 x s8 kernels there (5.1 % relative
error of the hidden states; 1.7 % with ``reduce_range``), unsigned ones give 1.0 % and
were also the faster (RTF 0.037 vs 0.040 with ``reduce_range``, 1 thread, 10 s).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import warnings
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from espnet_distill.common import Pathlike, atomic_write
from espnet_distill.export.onnx_graph import graph_student
from espnet_distill.export.verify import ExportMismatchError
from espnet_distill.student import StudentConfig, StudentModel, StudentOutput

_LG = logging.getLogger(__name__)

INPUT_NAMES = ("wavs", "lengths")
OUTPUT_NAMES = ("hidden_states", "frame_lengths")
CONFIG_KEY = "espnet_distill.config"
#: The example the graph is traced with: batch 2 (batch 1 would be specialised), 1.5 s.
_TRACE_LENGTHS = (24_000, 17_777)
#: Padded batches the export is checked on: odd lengths, batch sizes and widths unlike the trace's.
VERIFY_BATCHES = ((9_999, 16_001, 12_347), (5_003,))

#: How to get what the ONNX export and ONNX Runtime need.
INSTALL_HINT = "pip install 'espnet-distill[export]' (onnx, onnxruntime, onnxscript)"


def _require(module: str):
    try:
        return __import__(module)
    except ImportError as err:
        raise ImportError(f"ONNX export needs {module}: {INSTALL_HINT}") from err


def export_onnx(student: StudentModel, path: Pathlike, *, opset: Optional[int] = None) -> Path:
    """Write ``student`` (heads dropped) to ``path`` as ONNX; see the module docstring for the graph.

    Args:
        student: the model (any device; exported from a CPU copy).
        path: the ``.onnx`` file, written atomically.
        opset: ONNX opset (default: the exporter's).

    Returns:
        ``path``. Check it with :func:`verify_onnx` before shipping it.
    """
    for module in ("onnx", "onnxscript"):  # the dynamo exporter writes through onnxscript
        _require(module)
    import onnx

    graph = graph_student(student)
    wavs, lengths = padded_batch(_TRACE_LENGTHS, seed=1)
    batch = torch.export.Dim("batch")
    samples = torch.export.Dim("samples", min=student.receptive_field)
    # the exporter prints its progress (stdout stays the caller's) and its passes log every step
    with contextlib.redirect_stdout(sys.stderr), _quiet_loggers("onnx_ir", "onnxscript"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*axis name.*will not be used")  # batch is shared on purpose
        program = torch.onnx.export(
            graph, (wavs, lengths), dynamo=True, input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
            dynamic_shapes=({0: batch, 1: samples}, {0: batch}), opset_version=opset, verbose=False,
        )
    model = program.model_proto
    config = student.config.without_heads()
    meta = {CONFIG_KEY: json.dumps(config.to_dict()), "espnet_distill.outputs": ",".join(OUTPUT_NAMES)}
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    path = atomic_write(path, lambda tmp: onnx.save_model(model, str(tmp)))
    _LG.info("wrote %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return path


def quantize_onnx(source: Pathlike, target: Pathlike) -> Path:
    """ONNX Runtime dynamic int8 quantisation of the Linear layers' MatMuls of an exported student.

    Only MatMuls with a float32 weight initializer (the Linear layers) are quantised; the
    fbank's float64 matrices, convolutions and attention products are left as they are.
    """
    _require("onnxruntime")
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(source))
    weights = {t.name for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT and len(t.dims) == 2}
    linear = [n.name for n in model.graph.node if n.op_type in ("MatMul", "Gemm") and n.input[1] in weights]
    if not linear:
        raise ValueError(f"{source}: no MatMul with a float32 weight to quantise; is it an exported student?")
    target = Path(target)
    with _quiet_loggers(""):  # the quantiser logs a line per tensor on the root logger
        atomic_write(target, lambda tmp: quantize_dynamic(
            str(source), str(tmp), weight_type=QuantType.QUInt8, per_channel=True, nodes_to_quantize=linear,
            op_types_to_quantize=["MatMul", "Gemm"]))
    _LG.info("quantised %d Linear MatMuls of %s to int8: %s", len(linear), source, target)
    return target


@contextlib.contextmanager
def _quiet_loggers(*names: str, level: int = logging.ERROR):
    """Raise the level of the named loggers (``""``: the root logger) for the duration."""
    loggers = [logging.getLogger(name or None) for name in names]
    before = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(max(level, lg.getEffectiveLevel()))
    try:
        yield
    finally:
        for lg, old in zip(loggers, before):
            lg.setLevel(old)


def onnx_session(path: Pathlike, num_threads: Optional[int] = None):
    """An ONNX Runtime CPU session on ``path`` (``num_threads``: intra-op threads, default ORT's)."""
    ort = _require("onnxruntime")
    options = ort.SessionOptions()
    if num_threads is not None:
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3  # ORT's warnings about unused initialisers are noise here
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxStudent(nn.Module):
    """An exported student run by ONNX Runtime, called like :class:`~espnet_distill.student.StudentModel`.

    Inference only (no gradients, no masking or layerdrop), on the CPU; it can replace
    ``student`` in the ``distill_student`` ESPnet frontend for decoding.

    Args:
        path: the ``.onnx`` file (:func:`export_onnx` or :func:`quantize_onnx`).
        num_threads: ONNX Runtime intra-op threads (default: ORT's).
    """

    def __init__(self, path: Pathlike, num_threads: Optional[int] = None):
        super().__init__()
        self.path = Path(path)
        self.session = onnx_session(path, num_threads)
        meta = self.session.get_modelmeta().custom_metadata_map
        if CONFIG_KEY not in meta:
            raise ValueError(f"{path}: no '{CONFIG_KEY}' metadata; not an ONNX student written by espnet_distill")
        self.config = StudentConfig.from_dict(json.loads(meta[CONFIG_KEY]))

    @property
    def num_layers(self) -> int:
        return self.config.num_layers

    @property
    def output_dim(self) -> int:
        return self.config.output_dim

    @property
    def downsample_rate(self) -> int:
        return self.config.downsample_rate

    @property
    def receptive_field(self) -> int:
        return self.config.receptive_field

    def forward(self, wavs: Tensor, wav_lengths: Optional[Tensor] = None, *, mask=None, layerdrop: float = 0.0,
                **_ignored) -> StudentOutput:
        """``(B, N)`` waveforms, ``(B,)`` samples -> :class:`StudentOutput` (hidden states and lengths only)."""
        if mask is not None or layerdrop:
            raise ValueError(f"{self.path}: an ONNX student is for inference; masking and layerdrop need the torch one")
        if wavs.ndim != 2:
            raise ValueError(f"expected waveforms of shape (batch, samples), found {tuple(wavs.shape)}")
        if wav_lengths is None:
            wav_lengths = torch.full((wavs.shape[0],), wavs.shape[1], dtype=torch.long)
        if wavs.shape[1] < self.receptive_field:  # below one frame: no frames, as the torch student
            empty = wavs.new_zeros(wavs.shape[0], 0, self.output_dim)
            return StudentOutput([empty] * (self.num_layers + 1), torch.zeros_like(wav_lengths), [], [])
        hidden, lengths = self.session.run(list(OUTPUT_NAMES), numpy_inputs(wavs, wav_lengths))
        hidden = torch.from_numpy(hidden).to(wavs.device)
        return StudentOutput(list(hidden.unbind(0)), torch.from_numpy(lengths).to(wavs.device), [], [])


def load_onnx_student(path: Pathlike, num_threads: Optional[int] = None) -> OnnxStudent:
    """:class:`OnnxStudent` on ``path`` (local file only, no network)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: ONNX student does not exist")
    return OnnxStudent(path, num_threads)


def export_verified_onnx(student: StudentModel, path: Pathlike, tolerance: float = 1e-4) -> tuple[Path, float]:
    """:func:`export_onnx` to a temporary file beside ``path``, :func:`verify_onnx`, then rename:
    a graph that does not reproduce the student is never left at ``path``.

    Returns:
        ``(path, largest difference from torch)``.

    Raises:
        ExportMismatchError: as :func:`verify_onnx` (nothing is written then).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.unverified.onnx")
    try:
        export_onnx(student, tmp)
        worst = verify_onnx(student, tmp, tolerance)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path, worst


def verify_onnx(student: StudentModel, path: Pathlike, tolerance: float = 1e-4,
                batches: Sequence[Sequence[int]] = VERIFY_BATCHES) -> float:
    """Largest difference of ONNX Runtime's hidden states from torch's, over the valid frames of
    padded batches of ``batches`` lengths (every hidden state, every utterance).

    Raises:
        ExportMismatchError: a frame count or a hidden state differs by more than ``tolerance``.
    """
    reference = student.without_heads().cpu().eval()
    onnx_student = load_onnx_student(path)
    worst = 0.0
    for i, lens in enumerate(batches):
        wavs, lengths = padded_batch(lens, seed=10 + i)
        with torch.no_grad():
            ref = reference(wavs, lengths)
        got = onnx_student(wavs, lengths)
        if not torch.equal(got.lengths, ref.lengths) or len(got.hidden_states) != len(ref.hidden_states):
            raise ExportMismatchError(f"{path}: frames {got.lengths.tolist()} x {len(got.hidden_states)} states, "
                                      f"torch gives {ref.lengths.tolist()} x {len(ref.hidden_states)}")
        worst = max(worst, max_valid_diff(ref.hidden_states, got.hidden_states, ref.lengths))
    if not worst <= tolerance:  # NaN fails too
        raise ExportMismatchError(f"{path}: ONNX Runtime's hidden states differ from torch's by {worst:.2e} > "
                                  f"{tolerance:.0e} on padded batches of lengths {list(batches)}; do not ship it")
    _LG.info("ONNX export reproduces the student within %.2e (tolerance %.0e)", worst, tolerance)
    return worst


def max_valid_diff(ours: List[Tensor], theirs: List[Tensor], lengths: Tensor) -> float:
    """Largest ``|a - b|`` over every hidden state's valid frames (``(B, T, D)`` each, ``(B,)`` frames)."""
    worst = 0.0
    for a, b in zip(ours, theirs):
        for j, n in enumerate(lengths.tolist()):
            if n:
                worst = max(worst, float((a[j, :n] - b[j, :n]).abs().max()))
    return worst


def padded_batch(lengths: Sequence[int], seed: int = 0) -> tuple[Tensor, Tensor]:
    """Speech-scaled noise (std 0.1), zero-padded: ``(B, max N)`` waveforms and ``(B,)`` lengths."""
    g = torch.Generator().manual_seed(seed)
    wavs = torch.zeros(len(lengths), max(lengths))
    for j, n in enumerate(lengths):
        wavs[j, :n] = 0.1 * torch.randn(n, generator=g)
    return wavs, torch.tensor(lengths, dtype=torch.long)


def numpy_inputs(wavs: Tensor, lengths: Tensor) -> dict:
    """The session's input feed for a padded batch (``(B, N)`` waveforms, ``(B,)`` samples)."""
    return {INPUT_NAMES[0]: wavs.detach().float().cpu().numpy(),
            INPUT_NAMES[1]: lengths.detach().cpu().numpy().astype(np.int64)}
