"""Describe a student: parameter counts per component and derived sizes.

Usage:
    python -m espnet_distill.bin.describe dt_fbank
    python -m espnet_distill.bin.describe conf/student/sw_cnn.yaml --json
    python -m espnet_distill.bin.describe exp/distill/student.pt

The argument is a preset name, a student YAML config or a student checkpoint
(``save_student``; exported checkpoints have no heads). "total without heads" is
what remains after export; CMVN statistics are buffers and not counted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, Dict

from espnet_distill.bin._common import setup_logging

ROWS = [
    ("frontend", "front-end (CNN / fbank Conv1d subsampler)"),
    ("projection", "projection to D"),
    ("pos_conv", "positional conv"),
    ("encoder_norm", "encoder LayerNorm"),
    ("layers", "transformer layers"),
    ("pred_heads", "distillation heads"),
    ("unit_head", "unit head (L_disc)"),
    ("frontend_head", "front-end head (input distillation)"),
    ("total_without_heads", "total without heads"),
    ("total", "total with heads"),
]


def describe(spec: str) -> Dict[str, Any]:
    """Facts about the student named by ``spec`` (preset, YAML or checkpoint)."""
    from espnet_distill.student import build_student, load_student
    from espnet_distill.student.presets import PRESETS

    path = Path(spec)
    is_checkpoint = spec not in PRESETS and path.is_file() and path.suffix not in (".yaml", ".yml")
    student = load_student(path) if is_checkpoint else build_student(spec)
    config = student.config
    return {
        "source": spec,
        "name": config.name,
        "frontend": config.frontend.type,
        "num_layers": config.num_layers,
        "output_dim": config.output_dim,
        "ffn_dim": config.encoder.ffn_dim,
        "num_heads": config.encoder.num_heads,
        "downsample_rate": config.downsample_rate,
        "frame_rate_hz": config.frame_rate,
        "receptive_field": config.receptive_field,
        "targets": _targets(config),
        "parameters": student.parameter_counts(),
    }


def _targets(config) -> str:
    targets = config.heads.targets
    if targets is None:
        return "none"
    if targets.type == "prediction_heads":
        return f"prediction heads on layer {config.num_layers} -> teacher layers {targets.teacher_layers}"
    pairs = ", ".join(f"{s}->{t}" for s, t in zip(targets.student_layers, targets.teacher_layers))
    return f"layer to layer (student->teacher): {pairs}"


def format_table(info: Dict[str, Any]) -> str:
    counts = info["parameters"]
    lines = [
        f"student: {info['name'] or info['source']} ({info['frontend']} front-end, {info['num_layers']} x "
        f"({info['output_dim']}, FFN {info['ffn_dim']}, {info['num_heads']} heads))",
        f"frames: {info['downsample_rate']} samples per frame ({info['frame_rate_hz']:g} Hz), "
        f"receptive field {info['receptive_field']} samples",
        f"targets: {info['targets']}",
        "",
        "| component | parameters | M |",
        "| --- | ---: | ---: |",
    ]
    for key, label in ROWS:
        if key == "layers":
            label = f"{label} ({info['num_layers']} x {counts[key] // info['num_layers']:,})"
        bold = "**" if key.startswith("total") else ""
        lines.append(f"| {bold}{label}{bold} | {counts[key]:,} | {counts[key] / 1e6:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_distill.bin.describe",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("student", help="preset name, student YAML config or student checkpoint")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    setup_logging()
    logging.getLogger("espnet_distill.student").setLevel(logging.WARNING)  # no build chatter in the output
    try:
        info = describe(args.student)
    except (ValueError, OSError) as err:
        print(f"describe: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(info, indent=2) if args.json else format_table(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
