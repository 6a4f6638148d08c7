"""Export trained students: our checkpoint format, s3prl's distiller format, HF HubertModel, ONNX.

Also what decides whether an export may ship: the ONNX parity check (``onnx_format``), the
int8 / ONNX accuracy gate on a fine-tuned ASR model (``gate``) and the speed comparison (``speed``).
"""

from espnet_distill.export.experiment import ExperimentError, load_trained_student, resolve_checkpoint
from espnet_distill.export.gate import GateResult, accuracy_gate
from espnet_distill.export.hf_format import build_hubert_model, export_hf_hubert
from espnet_distill.export.onnx_format import (
    OnnxStudent,
    export_onnx,
    export_verified_onnx,
    load_onnx_student,
    quantize_onnx,
    verify_onnx,
)
from espnet_distill.export.s3prl_format import export_s3prl_distiller
from espnet_distill.export.speed import SpeedSettings, measure_rtf

__all__ = [
    "ExperimentError", "GateResult", "OnnxStudent", "SpeedSettings", "accuracy_gate", "build_hubert_model",
    "export_hf_hubert", "export_onnx", "export_s3prl_distiller", "export_verified_onnx", "load_onnx_student",
    "load_trained_student", "measure_rtf", "quantize_onnx", "resolve_checkpoint", "verify_onnx",
]
