"""Export trained students: our checkpoint format, s3prl's distiller format, HF HubertModel."""

from espnet_distill.export.experiment import ExperimentError, load_trained_student, resolve_checkpoint
from espnet_distill.export.hf_format import build_hubert_model, export_hf_hubert
from espnet_distill.export.s3prl_format import export_s3prl_distiller

__all__ = [
    "ExperimentError", "build_hubert_model", "export_hf_hubert", "export_s3prl_distiller",
    "load_trained_student", "resolve_checkpoint",
]
