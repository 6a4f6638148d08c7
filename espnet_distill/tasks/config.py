"""The distillation objective's settings, as a typed, self-validating dataclass.

In an ESPnet config it is the ``distill_conf`` mapping::

    distill_conf:
        l1_weight: 1.0          # L_reg = l1_weight * L1 + cos_weight * (-log sigmoid(cos))
        cos_weight: 1.0
        disc_weight: 0.4        # lambda of L_disc; 0 = regression only
        disc_temperature: null  # divide the student's unit logits by this (null: as the authors' 'type2_no_tau' runs)
        frontend_steps: 2000    # input distillation stage one, in optimiser updates (fbank students)
        front_weight: 1.0
        restart_schedule: true  # the lr schedule starts again (warm-up included) with stage two
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, Optional


@dataclass
class DistillConfig:
    """Loss weights and the two-stage schedule of input distillation.

    Attributes:
        l1_weight, cos_weight: weights of L_reg's two terms (DistilHuBERT: 1 and 1).
        disc_weight: lambda, the weight of L_disc (the authors' checkpoint names show 0.2-0.8).
        disc_temperature: temperature of the student's unit logits, or ``None``.
        frontend_steps: optimiser updates of stage one (only the front-end and its
            auxiliary head train, on L_front); 0 skips stage one.
        front_weight: weight of L_front in stage one.
        restart_schedule: with ``frontend_steps > 0``, run the configured learning-rate
            schedule from its start in each stage (see :mod:`espnet_distill.tasks.schedule`);
            false runs one schedule over both stages.
    """

    l1_weight: float = 1.0
    cos_weight: float = 1.0
    disc_weight: float = 0.0
    disc_temperature: Optional[float] = None
    frontend_steps: int = 0
    front_weight: float = 1.0
    restart_schedule: bool = True

    def __post_init__(self) -> None:
        for name in ("l1_weight", "cos_weight", "disc_weight", "front_weight"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"distill_conf.{name}: expected a number >= 0, found {value!r}")
        if self.l1_weight == 0 and self.cos_weight == 0 and self.disc_weight == 0:
            raise ValueError("distill_conf: l1_weight, cos_weight and disc_weight are all 0: nothing to learn")
        if self.disc_temperature is not None and not self.disc_temperature > 0:
            raise ValueError(f"distill_conf.disc_temperature: expected null or > 0, found {self.disc_temperature!r}")
        if not isinstance(self.restart_schedule, bool):
            raise ValueError(f"distill_conf.restart_schedule: expected true or false, found {self.restart_schedule!r}")
        if not isinstance(self.frontend_steps, int) or isinstance(self.frontend_steps, bool) or self.frontend_steps < 0:
            raise ValueError(f"distill_conf.frontend_steps: expected an integer >= 0, found {self.frontend_steps!r}")

    @classmethod
    def from_dict(cls, data: Optional[Dict[str, Any]]) -> "DistillConfig":
        """Build from a mapping; unknown keys are an error that lists the known ones."""
        data = dict(data or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"distill_conf: unknown keys {unknown}; expected some of {sorted(known)}")
        return cls(**data)

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)
