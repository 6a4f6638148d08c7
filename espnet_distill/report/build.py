"""Build ``report.json`` / ``report.md`` / plots for a distill.sh experiment directory."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import yaml

from espnet_distill.common import package_versions, write_json
from espnet_distill.report.collect import (arm_results, distill_summary, frozen_results, teacher_summary, timing,
                                          wall_seconds)
from espnet_distill.report import frozen as frozen_report
from espnet_distill.report.render import markdown, plots, verdict

_LG = logging.getLogger(__name__)


def build_report(expdir: Path, test_sets: Sequence[str] = ("test",), seeds: int = 1,
                 teacher: Optional[str] = None) -> Dict:
    """Collect everything and write ``report.json``, ``report.md``, ``curves.png``, ``summary.png``.

    Args:
        expdir: distill.sh's ``--expdir``.
        test_sets: the decoded test sets; each gets its CER/WER (``<arm>.tests.<set>``), the first
            is also reported at the top level of each arm (``student.cer``).
        seeds: fine-tuning seeds per arm (1..seeds).
        teacher: the teacher checkpoint; default: the one the distillation read (``teacher`` of
            ``<expdir>/distill/config.yaml``, which distill_train wrote).
    """
    expdir = Path(expdir)
    test_sets = [test_sets] if isinstance(test_sets, str) else list(test_sets)
    seed_ids: List[int] = list(range(1, seeds + 1))
    teacher = teacher or _distilled_teacher(expdir)
    student_ckpt = expdir / "student" / "student.pth"
    from espnet_distill.student import load_student

    student_params = load_student(student_ckpt).count_parameters()
    t = teacher_summary(expdir, teacher)
    student = {"checkpoint": str(student_ckpt), "params": student_params,
               **arm_results(expdir, "distilled", seed_ids, test_sets)}
    scratch = arm_results(expdir, "control", seed_ids, test_sets) if (expdir / "asr_control_seed1").is_dir() else None
    bench = _benchmark(expdir)
    if bench:  # the numbers benchmark.md shows: RTF at its reference duration, speed-up of paired rounds
        t["rtf"] = bench["models"].get("teacher", {}).get("rtf")
        student["rtf"] = bench["models"].get("student", {}).get("rtf")
        student["speedup_vs_teacher"] = bench.get("ratios", {}).get("student_speedup_over_teacher")
    stages = timing(expdir)
    frozen = frozen_results(expdir)
    report = {
        "expdir": str(expdir.resolve()),
        "teacher": t,
        "student": student,
        "scratch": scratch,
        "seeds": seeds,
        "test_set": test_sets[0],
        "test_sets": test_sets,
        "teacher_units": t["units"],
        "wall_seconds": wall_seconds(expdir),
        "stage_seconds": stages,
        "distill": distill_summary(expdir),
        "benchmark": bench,
        "comparison": verdict(student, scratch),
        "frozen": frozen,
        "frozen_verdicts": frozen_report.verdicts(frozen),
        "versions": package_versions(),
    }
    write_json(expdir / "report.json", report)
    (expdir / "report.md").write_text(markdown(report))
    try:
        plots(report, expdir)
    except ImportError:
        _LG.warning("matplotlib is not installed: no plots (pip install 'espnet-distill[plot]')")
    return report


def _distilled_teacher(expdir: Path) -> str:
    config = expdir / "distill" / "config.yaml"
    if not config.is_file():
        raise FileNotFoundError(f"{config}: missing; the report needs the distillation's config (distill.sh stage 5)")
    teacher = (yaml.safe_load(config.read_text()) or {}).get("teacher")
    if not teacher:
        raise ValueError(f"{config}: names no teacher")
    return str(teacher)


def _benchmark(expdir: Path) -> Optional[Dict]:
    path = expdir / "benchmark.json"
    return json.loads(path.read_text()) if path.is_file() else None
