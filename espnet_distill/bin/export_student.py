"""Export a trained student: drop distillation heads, write a self-describing checkpoint or ONNX.

Example:
    python -m espnet_distill.bin.export_student exp/distill --out exp/student.pth
    python -m espnet_distill.bin.export_student exp/distill/valid.loss.best.pth --out exp/student.pth \
        --s3prl exp/student_distiller.ckpt --hf exp/student_hf
    python -m espnet_distill.bin.export_student exp/student.pth --format onnx --quantize int8 --out exp/student.onnx

The ``--out`` file (``--format pth``) loads with ``torch.load(weights_only=True)`` and
``espnet_distill.student.load_student`` (strict). ``--s3prl`` (s3prl ``distiller_local``)
and ``--hf`` (transformers ``HubertModel``) exist for waveform-CNN students. ``SOURCE`` is a
distill_train output (dir or ``*.pth``) or a student checkpoint.

``--format onnx`` writes one ``.onnx`` file (waveforms ``(batch, samples)`` + lengths in,
all hidden states ``(L + 1, batch, frames, D)`` + frame lengths out, dynamic batch and
time; see ``espnet_distill.export.onnx_format``). With ``--quantize int8`` it also writes
ONNX Runtime's dynamic int8 model beside it (``<out>.int8.onnx``). With ``--format pth``,
``--quantize int8`` only checks and reports the int8 student: dynamic quantisation is done
at load time (``load_student(path, quantize="int8")``, frontend_conf ``quantize: int8``).
Every export is checked to reproduce the student's hidden states (``--tolerance``) before
the command succeeds; exit status 2 and a message on stderr when it does not.

Accuracy gate: with ``--asr_exp`` (an ESPnet ASR experiment whose frontend is
``distill_student``) and ``--data_dir`` (``wav.scp`` + ``text``), the command decodes the
test set with the fine-tuned model as trained and with its student replaced (int8 torch,
ONNX, or int8 ONNX by ``--quantize`` / ``--format``), prints both CERs and exits 1 when
the CER rises by more than ``--max_cer_increase``::

    python -m espnet_distill.bin.export_student --asr_exp exp/asr --data_dir data/test_clean \
        --quantize int8 --format onnx --max_cer_increase 0.01 --out exp/asr/student.onnx
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import torch

from espnet_distill.bin._common import setup_logging
from espnet_distill.export import ExperimentError, export_hf_hubert, export_s3prl_distiller, load_trained_student
from espnet_distill.export.gate import DEFAULT_MAX_CER_INCREASE, accuracy_gate
from espnet_distill.export.verify import verify_hf, verify_s3prl, verify_student_checkpoint
from espnet_distill.student import CheckpointError, load_student, read_checkpoint, save_student
from espnet_distill.student.quantize import SCHEMES

_LG = logging.getLogger("espnet_distill.export_student")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m espnet_distill.bin.export_student", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, nargs="?",
                        help="distill_train output dir, one of its *.pth files, or a student checkpoint")
    parser.add_argument("--out", type=Path, help="file to write (.pth, or .onnx with --format onnx)")
    parser.add_argument("--format", choices=("pth", "onnx"), default="pth", help="what --out is")
    parser.add_argument("--quantize", choices=SCHEMES, help="dynamic quantisation of the Linear layers")
    parser.add_argument("--s3prl", type=Path, help="also write an s3prl distiller checkpoint here (CNN students)")
    parser.add_argument("--hf", type=Path, help="also write a HuggingFace HubertModel directory here (CNN students)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="max abs hidden-state difference accepted")
    gate = parser.add_argument_group("accuracy gate (instead of SOURCE)")
    gate.add_argument("--asr_exp", type=Path, help="ESPnet ASR experiment dir (config.yaml + model file)")
    gate.add_argument("--asr_model_file", type=Path, help="its model file (default: the best / averaged one)")
    gate.add_argument("--data_dir", type=Path, help="Kaldi-style test dir with wav.scp and text")
    gate.add_argument("--max_cer_increase", type=float, default=DEFAULT_MAX_CER_INCREASE,
                      help="largest accepted absolute CER rise, a fraction (0.01 = 1 %%)")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    return parser


def main(argv=None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if args.asr_exp is not None:
        return _gate(parser, args)
    if args.source is None or args.out is None:
        parser.error("give SOURCE and --out (or --asr_exp and --data_dir for the accuracy gate)")
    if args.format == "onnx" and (args.s3prl or args.hf):
        parser.error("--s3prl / --hf go with --format pth")
    try:
        student, provenance = _load_source(args.source)
        if args.format == "onnx":
            report = _export_onnx(student, args.out, args.quantize, args.tolerance)
        else:
            report = _export_pth(student, provenance, args)
    except (ExperimentError, ValueError, OSError, ImportError) as err:
        print(f"export_student: error: {err}", file=sys.stderr)
        return 2
    report["parameters"] = student.count_parameters(include_heads=False)
    report["optimizer_steps"] = provenance.get("optimizer_steps")
    print(json.dumps(report, indent=2))
    return 0


def _load_source(source: Path):
    """``(student, provenance)`` from a student checkpoint or a distill_train output."""
    if source.is_file():
        try:
            ckpt = read_checkpoint(source)
        except CheckpointError:
            pass  # not a student checkpoint: a DistillModel state dict, tried next
        else:
            return load_student(source), dict(ckpt.get("provenance") or {})
    return load_trained_student(source)


def _export_pth(student, provenance, args) -> dict:
    save_student(args.out, student, provenance=provenance)
    report = {"student": str(args.out), "max_abs_diff": {}}
    report["max_abs_diff"]["espnet_distill"] = verify_student_checkpoint(student, args.out, args.tolerance)
    if args.quantize:
        report["quantize"] = {"scheme": args.quantize, "made_at": "load time (load_student(..., quantize=...))",
                              "relative_diff": _int8_relative_diff(student, args.out)}
    if args.s3prl:
        export_s3prl_distiller(student, args.s3prl, provenance)
        report["max_abs_diff"]["s3prl"] = verify_s3prl(student, args.s3prl, args.tolerance)
    if args.hf:
        export_hf_hubert(student, args.hf, provenance)
        report["max_abs_diff"]["hf"] = verify_hf(student, args.hf, args.tolerance)
    return report


def _export_onnx(student, out: Path, quantize, tolerance: float) -> dict:
    from espnet_distill.export.onnx_format import export_verified_onnx, quantize_onnx

    _, worst = export_verified_onnx(student, out, tolerance)
    report = {"onnx": str(out), "max_abs_diff": {"onnx": worst}}
    if quantize:
        int8 = quantize_onnx(out, out.with_suffix(".int8.onnx"))
        report["onnx_int8"] = str(int8)
        report["quantize"] = {"scheme": quantize, "relative_diff": _int8_relative_diff(student, int8)}
    return report


def _int8_relative_diff(student, path: Path) -> float:
    """Relative L2 difference of the last hidden state of the int8 model from the fp32 student."""
    from espnet_distill.export.onnx_format import load_onnx_student, padded_batch
    from espnet_distill.frames import valid_mask

    int8 = load_onnx_student(path) if path.suffix == ".onnx" else load_student(path, quantize="int8")
    wavs, lengths = padded_batch((16_001, 9_999), seed=0)
    with torch.no_grad():
        ref = student.without_heads().eval()(wavs, lengths)
        got = int8(wavs, lengths)
    mask = valid_mask(ref.lengths, ref.hidden_states[-1].shape[1])[..., None]
    diff = float(((got.hidden_states[-1] - ref.hidden_states[-1]) * mask).norm())
    return diff / float((ref.hidden_states[-1] * mask).norm())


def _gate(parser, args) -> int:
    if args.source is not None or args.s3prl or args.hf:
        parser.error("--asr_exp runs the accuracy gate: give no SOURCE, --s3prl or --hf")
    if args.data_dir is None:
        parser.error("--asr_exp needs --data_dir (wav.scp and text)")
    if args.format != "onnx" and not args.quantize:
        parser.error("the accuracy gate compares against --quantize int8 and/or --format onnx; give one")
    variant = ("onnx_int8" if args.quantize else "onnx") if args.format == "onnx" else "int8"
    try:
        result = accuracy_gate(args.asr_exp, args.data_dir, variant, max_cer_increase=args.max_cer_increase,
                               asr_model_file=args.asr_model_file, onnx_path=args.out, tolerance=args.tolerance)
    except (ValueError, OSError, ImportError) as err:
        print(f"export_student: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result.to_dict(), indent=2))
    if not result.passed:
        print(f"export_student: {result.message()}; not shipping it (raise --max_cer_increase to accept)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    torch.set_num_threads(max(1, torch.get_num_threads()))
    sys.exit(main())
