"""Dynamic int8 quantisation of a student's Linear layers, for CPU inference.

Dynamic quantisation stores each ``nn.Linear`` weight as int8 (per output channel or per
tensor) and quantises its input on the fly, batch by batch; the convolutions (waveform
CNN, fbank subsampler, positional conv), LayerNorms and attention products stay float32.
There is nothing to calibrate, so the quantised student is made at load time from the
fp32 checkpoint (``load_student(path, quantize="int8")``, the ESPnet frontend's
``frontend_conf: {quantize: int8}``); no int8 checkpoint is written. For a file that
ships int8 weights, export ONNX and quantise it with ONNX Runtime
(``python -m espnet_distill.bin.export_student ... --format onnx --quantize int8``).

Which torch API. torch 2.14 marks ``torch.ao.quantization.quantize_dynamic`` deprecated and
points to torchao's ``quantize_(model, Int8DynamicActivationInt8WeightConfig())``. Measured
on ``dt_fbank`` (random weights, 10 s of audio, one thread, AMD EPYC with AVX2 but no
AVX512-VNNI or AMX, torchao 0.18): fp32 405 ms; ``quantize_dynamic`` (fbgemm kernels)
322 ms (1.26x faster); torchao's int8 dynamic config 6,770 ms eager and 6,190 ms under
``torch.compile`` (15-17x slower: on CPU it lowers to ``_int_mm`` / decomposed int32
matmuls, which are fast only with VNNI or AMX); torchao's ``Int8WeightOnlyConfig`` 424 ms
(no gain). So the default ``method="fbgemm"`` is the deprecated API, the only one that
makes a student faster on such CPUs; its warnings are silenced here and logged once.
``method="torchao"`` is the recommended path, for CPUs where it pays off (AMX, VNNI) or
for when ``quantize_dynamic`` is removed.
"""

from __future__ import annotations

import copy
import logging
import warnings
from typing import Dict

from torch import nn

_LG = logging.getLogger(__name__)

#: Quantisation schemes a student accepts (``quantize=``).
SCHEMES = ("int8",)
#: Implementations of ``int8`` (see the module docstring for the measurements behind the default).
METHODS = ("fbgemm", "torchao")


def check_scheme(scheme, where: str = "quantize") -> None:
    """Raise ``ValueError`` naming ``where`` unless ``scheme`` is one of :data:`SCHEMES`."""
    if scheme not in SCHEMES:
        raise ValueError(f"{where} must be one of {', '.join(SCHEMES)}, found {scheme!r}")


def quantize_student(student: nn.Module, scheme: str = "int8", *, method: str = "fbgemm") -> nn.Module:
    """A dynamically quantised copy of ``student`` (on the CPU, in eval mode; inference only).

    Args:
        student: a :class:`~espnet_distill.student.StudentModel` (or any module: every
            ``nn.Linear`` in it is quantised, heads included if it has them).
        scheme: ``"int8"``.
        method: ``"fbgemm"`` (torch's ``quantize_dynamic``, fast on x86 CPUs) or
            ``"torchao"`` (``Int8DynamicActivationInt8WeightConfig``, needs torchao).

    Returns:
        The quantised copy; ``student`` itself is unchanged. Same forward as ``student``.
    """
    check_scheme(scheme)
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, found {method!r}")
    model = copy.deepcopy(student).cpu().eval()
    if method == "torchao":
        try:
            from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_
        except ImportError as err:
            raise ImportError("method='torchao' needs torchao: pip install torchao") from err
        quantize_(model, Int8DynamicActivationInt8WeightConfig())
        return model
    import torch

    with warnings.catch_warnings():  # one deprecation warning per Linear; the choice is explained above
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        quantized = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    _LG.info("quantised %d Linear layers to int8 with torch.ao.quantization.quantize_dynamic (deprecated in torch, "
             "kept because it is the fast CPU path: see espnet_distill.student.quantize)",
             sum(v == "int8" for v in layer_precisions(quantized).values()))
    return quantized


def layer_precisions(model: nn.Module) -> Dict[str, str]:
    """``{module name: "int8" | "float"}`` for every Linear and convolution of ``model``."""
    out = {}
    for name, module in model.named_modules():
        kind = type(module).__module__
        if kind.startswith("torch.ao.nn.quantized") and type(module).__name__ == "Linear":
            out[name] = "int8"
        elif isinstance(module, (nn.Linear, nn.Conv1d)):
            weight = getattr(module, "weight", None)
            out[name] = "int8" if "int8" in type(weight).__name__.lower() else "float"
    return out
