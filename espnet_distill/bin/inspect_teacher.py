"""Inspect a teacher checkpoint: format, architecture, parameters, unit posteriors.

Usage:
    python -m espnet_distill.bin.inspect_teacher exp/teacher/hubert_base_ls960.pt
    python -m espnet_distill.bin.inspect_teacher exp/hubert_ssl/ --json
    python -m espnet_distill.bin.inspect_teacher hf_dir/ --format hf

SOURCE is anything ``espnet_distill.teacher.load_teacher`` reads: a fairseq HuBERT
checkpoint, an s3prl-converted one, a HuggingFace directory, a torchaudio state dict, an
ESPnet HuBERT experiment, or a known name (which downloads; online users only). The
report says whether the checkpoint keeps HuBERT's unit head (``final_proj`` + codewords),
which the discriminative loss needs. Logs go to stderr; the report (or JSON) to stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any, Dict

from espnet_distill.bin._common import setup_logging


def summarize(teacher) -> Dict[str, Any]:
    """Facts about a loaded :class:`~espnet_distill.teacher.Teacher` (plain types)."""
    config = teacher.backbone_config
    info: Dict[str, Any] = {
        "source": str(teacher.source),
        "format": teacher.source_format,
        "model_type": config.model_type if config is not None else None,
        "num_layers": teacher.num_layers,
        "hidden_states": teacher.num_layers + 1,
        "hidden_size": teacher.hidden_size,
        "num_heads": config.encoder_num_heads if config is not None else None,
        "ffn_dim": config.encoder_ff_interm_features if config is not None else None,
        "pre_layer_norm": config.encoder_layer_norm_first if config is not None else None,
        "extractor_mode": config.extractor_mode if config is not None else None,
        "downsample_rate": teacher.downsample_rate,
        "receptive_field": teacher.receptive_field,
        "normalize_waveform": teacher.normalize_waveform,
        "parameters": teacher.count_parameters(),
        "backbone_parameters": sum(p.numel() for p in teacher.backbone.parameters()),
        "unit_posteriors": teacher.has_unit_head,
        "num_units": teacher.num_units,
        "codeword_dim": int(teacher.codewords.shape[1]) if teacher.has_unit_head else None,
        "logit_temp": teacher.logit_temp if teacher.has_unit_head else None,
    }
    if config is not None:
        info["config"] = config.to_dict()
    return info


def format_report(info: Dict[str, Any]) -> str:
    arch = (
        f"{info['num_layers']} x {info['hidden_size']} ({info['num_heads']} heads, FFN {info['ffn_dim']}), "
        f"{'pre-LN' if info['pre_layer_norm'] else 'post-LN'}, {info['extractor_mode']} CNN"
    )
    units = (
        f"yes: K = {info['num_units']} units, codewords {info['num_units']} x {info['codeword_dim']}, "
        f"logit temperature {info['logit_temp']:g}"
        if info["unit_posteriors"]
        else "no (regression-only teacher: the discriminative loss needs a HuBERT pre-training checkpoint)"
    )
    return "\n".join(
        [
            f"source:            {info['source']}",
            f"format:            {info['format']}",
            f"model:             {info['model_type']}: {arch}",
            f"hidden states:     {info['hidden_states']} (index 0 = transformer input, k = layer k)",
            f"frames:            {info['downsample_rate']} samples per frame, "
            f"receptive field {info['receptive_field']}",
            f"normalize input:   {info['normalize_waveform']}",
            f"parameters:        {info['parameters']:,} ({info['parameters'] / 1e6:.2f} M; backbone "
            f"{info['backbone_parameters'] / 1e6:.2f} M)",
            f"unit posteriors:   {units}",
        ]
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_distill.bin.inspect_teacher",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", help="teacher checkpoint file or directory, or a known name")
    parser.add_argument("--format", default=None, help="force the format (fairseq, s3prl, hf, espnet, torchaudio)")
    parser.add_argument("--download-dir", default=None, help="where known names are downloaded / looked up")
    parser.add_argument("--trust_checkpoint", "--trust-checkpoint", action="store_true",
                        help="unpickle with weights_only=False, for a file you trust that holds other objects")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a report")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (stderr)")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if not args.verbose:
        logging.getLogger("espnet_distill.teacher").setLevel(logging.WARNING)
    from espnet_distill.teacher import load_teacher

    try:
        teacher = load_teacher(args.source, format=args.format, download_dir=args.download_dir,
                               trust_checkpoint=args.trust_checkpoint)
    except (ValueError, OSError) as err:
        logging.getLogger(__name__).error("%s", err)
        return 2
    info = summarize(teacher)
    print(json.dumps(info, indent=2) if args.json else format_report(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
