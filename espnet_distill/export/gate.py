"""The accuracy gate: does a fine-tuned ASR model still recognise as well with an int8 or ONNX student?

:func:`accuracy_gate` decodes a test set with an ESPnet ASR model whose front-end is a
``distill_student`` twice, as ``asr_inference`` does in this project (``Speech2Text``,
CTC only, beam 1, no LM): once as trained, once with the student replaced by its int8
copy (:func:`~espnet_distill.student.quantize.quantize_student`), its ONNX export run by
ONNX Runtime, or the int8 ONNX model. It scores both against the references and fails
when the CER rises by more than ``max_cer_increase``.

The default, :data:`DEFAULT_MAX_CER_INCREASE` = 0.01 (1 % absolute CER), is our choice:
dynamic int8 quantisation of the Linear layers and an fp32 ONNX graph should change a
model's output far less (the fp32 ONNX graph agrees with torch within 1e-4, so it
should change no hypothesis), while a broken export (wrong weights, a scrambled
front-end) costs tens of percent. It is also above the noise of a small test set: one
character in a 500-character set is 0.2 %. Tighten it on large test sets
(LibriSpeech test-clean has about 280,000 characters).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Optional

import torch
import yaml

from espnet_distill.common import Pathlike
from espnet_distill.data.audio import load_audio
from espnet_distill.data.kaldi_dir import read_data_dir
from espnet_distill.data.scoring import score_texts

_LG = logging.getLogger(__name__)

#: Largest accepted rise of the CER (absolute, a fraction: 0.01 = 1 %); see the module docstring.
DEFAULT_MAX_CER_INCREASE = 0.01
#: What the student can be replaced by.
VARIANTS = ("int8", "onnx", "onnx_int8")


class GateError(ValueError):
    """The gate cannot run (a bad experiment or data directory); the message says which file."""


@dataclass
class GateResult:
    """CER / WER (fractions) of the model as trained (``*_before``) and with the replaced student."""

    variant: str
    cer_before: float
    cer_after: float
    wer_before: float
    wer_after: float
    num_utts: int
    changed_utts: int
    max_cer_increase: float

    @property
    def cer_increase(self) -> float:
        return self.cer_after - self.cer_before

    @property
    def passed(self) -> bool:
        return self.cer_increase <= self.max_cer_increase

    def message(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return (f"accuracy gate {verdict} ({self.variant}): CER {100 * self.cer_before:.2f} % -> "
                f"{100 * self.cer_after:.2f} % ({100 * self.cer_increase:+.2f} points, at most "
                f"{100 * self.max_cer_increase:+.2f} allowed) on {self.num_utts} utterances, "
                f"{self.changed_utts} hypotheses changed")

    def to_dict(self) -> Dict:
        return {**asdict(self), "cer_increase": self.cer_increase, "passed": self.passed}


def find_asr_model(asr_exp: Pathlike) -> Path:
    """The model file of an ESPnet ASR experiment: ``valid.<key>.best.pth`` for the config's first
    ``best_model_criterion``, else an averaged or best model, else ``valid.acc.ave.pth``'s kin."""
    exp = Path(asr_exp)
    config = exp / "config.yaml"
    if not config.is_file():
        raise GateError(f"{exp}: no config.yaml; expected an ESPnet ASR experiment directory (asr_train output)")
    args = yaml.safe_load(config.read_text()) or {}
    candidates = [exp / f"{phase}.{key}.best.pth" for phase, key, *_ in args.get("best_model_criterion") or []]
    candidates += sorted(exp.glob("*.ave*.pth")) + sorted(exp.glob("*.best.pth")) + [exp / "latest.pth"]
    for path in candidates:
        if path.is_file():
            return path
    raise GateError(f"{exp}: no model file (looked for {', '.join(p.name for p in candidates[:4])}, *.ave*.pth, "
                    "*.best.pth, latest.pth); pass --asr_model_file")


def accuracy_gate(asr_exp: Pathlike, data_dir: Pathlike, variant: str = "int8", *,
                  max_cer_increase: float = DEFAULT_MAX_CER_INCREASE, asr_model_file: Optional[Pathlike] = None,
                  onnx_path: Optional[Pathlike] = None, tolerance: float = 1e-4) -> GateResult:
    """Decode ``data_dir`` with the experiment's model before and after replacing its student.

    Args:
        asr_exp: an ESPnet ASR experiment dir (``config.yaml`` + a model file) whose
            frontend is ``distill_student``; relative paths in its config are resolved
            against the current directory, as for ``asr_inference``.
        data_dir: a Kaldi-style dir with ``wav.scp`` (16 kHz files) and ``text``.
        variant: ``"int8"`` (torch dynamic int8), ``"onnx"`` (fp32 ONNX Runtime) or
            ``"onnx_int8"`` (ONNX Runtime dynamic int8).
        max_cer_increase: largest accepted ``CER after - CER before`` (a fraction; a
            negative value demands an improvement).
        asr_model_file: the model file (default: :func:`find_asr_model`).
        onnx_path: for the ONNX variants, keep the (fine-tuned) student's ``.onnx`` here
            (``onnx_int8``: the fp32 file; the int8 one is written beside it as ``*.int8.onnx``).
        tolerance: the fp32 ONNX export must match torch within this (else
            :class:`~espnet_distill.export.verify.ExportMismatchError`).

    Returns:
        The :class:`GateResult`; check ``passed``.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, found {variant!r}")
    model_file = Path(asr_model_file) if asr_model_file else find_asr_model(asr_exp)
    data = read_data_dir(data_dir)
    refs = data.texts()
    if not refs:
        raise GateError(f"{data_dir}: no text file; the gate needs reference transcripts")
    s2t = _speech2text(Path(asr_exp) / "config.yaml", model_file)
    frontend = s2t.asr_model.frontend
    if getattr(frontend, "frontend_type", None) != "distill_student":
        raise GateError(f"{asr_exp}/config.yaml: the gate needs frontend: distill_student, found "
                        f"{type(frontend).__name__}")
    before = _decode(s2t, data, refs)
    with tempfile.TemporaryDirectory(prefix="espnet_distill_gate_") as tmp:
        frontend.student = _replacement(frontend.student, variant, Path(onnx_path or Path(tmp) / "student.onnx"),
                                        tolerance)
        after = _decode(s2t, data, refs)
    score_before, score_after = score_texts(refs, before), score_texts(refs, after)
    result = GateResult(variant, score_before.cer, score_after.cer, score_before.wer, score_after.wer,
                        score_before.num_utts, sum(before[u] != after[u] for u in refs), float(max_cer_increase))
    (_LG.info if result.passed else _LG.error)("%s", result.message())
    return result


def _speech2text(config: Path, model_file: Path):
    from espnet2.bin.asr_inference import Speech2Text

    from espnet_distill.espnet import register

    register(["asr"])
    return Speech2Text(asr_train_config=str(config), asr_model_file=str(model_file), device="cpu",
                       ctc_weight=1.0, lm_weight=0.0, beam_size=1, penalty=0.0, nbest=1)


def _decode(s2t, data, refs: Dict[str, str]) -> Dict[str, str]:
    missing = [u for u in refs if u not in data.utt_ids]
    if missing:
        raise GateError(f"{data.path}: {len(missing)} utterances of text are not in wav.scp (e.g. {missing[:3]})")
    hyps = {}
    with torch.no_grad():
        for utt in refs:
            results = s2t(load_audio(data.wav_path(utt)))
            hyps[utt] = results[0][0] if results else ""
    return hyps


def _replacement(student: torch.nn.Module, variant: str, onnx_path: Path, tolerance: float) -> torch.nn.Module:
    if variant == "int8":
        from espnet_distill.student.quantize import quantize_student

        return quantize_student(student)
    from espnet_distill.export.onnx_format import export_verified_onnx, load_onnx_student, quantize_onnx

    export_verified_onnx(student, onnx_path, tolerance)
    if variant == "onnx_int8":
        onnx_path = quantize_onnx(onnx_path, onnx_path.with_suffix(".int8.onnx"))
    return load_onnx_student(onnx_path)
