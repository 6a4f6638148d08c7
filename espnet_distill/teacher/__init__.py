"""Frozen SSL teachers (HuBERT, and WavLM / wav2vec 2.0 for regression) behind one API.

>>> from espnet_distill.teacher import load_teacher
>>> teacher = load_teacher("exp/teacher/hubert_base_ls960.pt")   # fairseq, HF, torchaudio, ESPnet, s3prl
>>> out = teacher(wavs, wav_lengths)     # (B, T) float32 16 kHz, (B,)
>>> out.hidden_states                    # L + 1 tensors (B, T', D); 0 = transformer input, k = layer k
>>> out.lengths                          # (B,) valid frames
>>> out.unit_logits                      # (B, T', K) cos(final_proj(h_L), codewords) / 0.1, or None

Every checkpoint format is converted to a torchaudio ``Wav2Vec2Model`` plus, when the
checkpoint keeps it, HuBERT's pre-training :class:`UnitHead`; see :mod:`.load` for the
formats and how they are detected, and the per-format modules for their details.
"""

from espnet_distill.teacher.base import Teacher, TeacherOutput, UnitHead, random_teacher
from espnet_distill.teacher.config import BackboneConfig, TeacherFormatError
from espnet_distill.teacher.fairseq import save_fairseq_checkpoint
from espnet_distill.teacher.load import FORMATS, detect_format, load_teacher
from espnet_distill.teacher.torchaudio_format import save_torchaudio_checkpoint

__all__ = [
    "random_teacher",
    "FORMATS",
    "BackboneConfig",
    "Teacher",
    "TeacherFormatError",
    "TeacherOutput",
    "UnitHead",
    "detect_format",
    "load_teacher",
    "save_fairseq_checkpoint",
    "save_torchaudio_checkpoint",
]
