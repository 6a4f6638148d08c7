"""Which student heads a distillation objective needs: the one place that decides it.

:class:`~espnet_distill.tasks.distill.DistillTask` (and ``distill_plan``) prune and check
the student config with it before the student is built; :class:`DistillModel` checks a
student built elsewhere with it.
"""

from __future__ import annotations

import logging
from typing import Dict, Optional

from espnet_distill.tasks.config import DistillConfig

_LG = logging.getLogger(__name__)


def heads_for_objective(spec: Dict, config: DistillConfig, *, teacher_has_units: Optional[bool] = None,
                        prune: bool = True) -> Dict:
    """The one decision of which student heads a distillation config needs.

    Heads no loss would train are removed from ``spec`` (dead parameters also break DDP);
    heads a loss needs but the student lacks, a unit head that cannot learn, and L_disc
    with a teacher that has no unit head (when ``teacher_has_units`` is known) are errors
    now, not at the first batch. ``spec`` is a student config dict; it is returned.
    ``prune=False`` only checks (a student already built keeps its heads).
    """
    heads = spec.get("heads") or {}
    if config.disc_weight > 0 and teacher_has_units is False:
        raise ValueError(
            f"distill_conf.disc_weight is {config.disc_weight}, but the teacher has no unit head (final_proj + "
            "codewords), so there are no unit posteriors to distil: use a HuBERT pre-training checkpoint, or set "
            "distill_conf.disc_weight: 0")
    if prune and config.disc_weight == 0 and heads.get("units") is not None:
        _LG.info("distill_conf.disc_weight is 0: the student's unit head is not built")
        heads["units"] = None
    if config.disc_weight > 0 and heads.get("units") is None:
        raise ValueError("distill_conf.disc_weight > 0 needs a student unit head (student_conf: heads.units: {type: type2})")
    units = heads.get("units") or {}
    if config.disc_weight > 0 and units.get("type") == "type1" and config.disc_temperature is None:
        raise ValueError(
            "distill_conf.disc_temperature: a type1 unit head scores units by cosine similarity, in [-1, 1]; "
            "without a temperature its softmax stays close to uniform and cannot match the teacher's "
            "posteriors (HuBERT's logit temperature is 0.1): set distill_conf.disc_temperature: 0.1, or use "
            "student_conf: {heads: {units: {type: type2}}}")
    if config.frontend_steps > 0 and not heads.get("frontend"):
        raise ValueError(
            f"distill_conf.frontend_steps is {config.frontend_steps}, but the student has no front-end head "
            "(heads.frontend: true, for fbank front-ends): input distillation's first stage needs one; set "
            "distill_conf.frontend_steps: 0 for this student")
    if prune and config.frontend_steps == 0 and heads.get("frontend"):
        _LG.info("distill_conf.frontend_steps is 0: the student's front-end head is not built")
        heads["frontend"] = False
    if (config.l1_weight > 0 or config.cos_weight > 0) and heads.get("targets") is None:
        raise ValueError("distill_conf: L_reg needs the student's heads.targets (prediction heads or a layer map)")
    return spec
