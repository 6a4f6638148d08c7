"""Helpers of the DistillTask runs (the tiny teacher and CMVN fixtures are in tests/conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import List


def distill_args(corpus: Path, teacher: Path, out: Path, *extra: str) -> List[str]:
    """A distill_train command line over the synthetic corpus (shape files = utt2num_samples)."""
    args = ["--teacher", str(teacher), "--output_dir", str(out), "--ngpu", "0", "--seed", "0",
            "--num_workers", "0"]
    for split, role in (("train", "train"), ("dev", "valid")):
        args += [f"--{role}_data_path_and_name_and_type", f"{corpus / split}/wav.scp,speech,sound",
                 f"--{role}_shape_file", str(corpus / split / "utt2num_samples")]
    return args + list(extra)


def run_distill(args: List[str], log: Path, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "espnet_distill.bin.distill_train", *args],
                          capture_output=True, text=True, check=False)
    log.write_text(proc.stdout + proc.stderr)
    if check:
        assert proc.returncode == 0, f"distill_train failed (log {log}):\n{proc.stderr[-4000:]}"
    return proc
