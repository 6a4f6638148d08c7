"""A learning-rate schedule that starts again when input distillation's front-end stage ends.

Two-stage input distillation trains only the fbank front-end for ``frontend_steps`` updates,
then everything. With one schedule over the whole run, stage one uses up the warm-up and the
randomly initialised encoder starts stage two at a decayed rate with no warm-up. Wrapped in
:class:`StageRestartLR`, the configured schedule runs from its first step in stage one and again
from its first step in stage two: ``lr(s) = f(s)`` for ``s < frontend_steps``, else
``f(s - frontend_steps)``. DistillTask wraps the configured scheduler this way unless
``distill_conf.restart_schedule`` is false (the old behaviour: one schedule for both stages).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import torch
from espnet2.schedulers.abs_scheduler import AbsBatchStepScheduler

#: The name under which DistillTask registers it in ESPnet's scheduler table.
SCHEDULER_NAME = "stage_restart"


class StageRestartLR(AbsBatchStepScheduler):
    """Run ``scheduler`` (an ESPnet batch-step scheduler name) and restart it at ``restart_at``.

    Args:
        optimizer: the optimiser.
        restart_at: the update (0-based count of ``step()`` calls) at which the inner
            schedule starts from its beginning again: ``frontend_steps``.
        scheduler: ESPnet's name of the inner scheduler (``piecewiselinearwarmuplr``,
            ``warmuplr``, ``tristagelr``, ...); it must step per batch.
        scheduler_conf: its keyword arguments.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, restart_at: int, scheduler: str,
                 scheduler_conf: Optional[Dict[str, Any]] = None):
        from espnet2.tasks.abs_task import scheduler_classes

        if isinstance(restart_at, bool) or not isinstance(restart_at, int) or restart_at < 1:
            raise ValueError(f"stage_restart: restart_at must be an integer >= 1, found {restart_at!r}")
        cls = scheduler_classes.get(str(scheduler).lower())
        if cls is None or cls is StageRestartLR:
            raise ValueError(f"stage_restart: scheduler must be one of ESPnet's schedulers, found {scheduler!r}")
        if not issubclass(cls, AbsBatchStepScheduler):
            raise ValueError(f"stage_restart: {scheduler} steps per epoch; restarting it after "
                             f"{restart_at} updates needs a scheduler that steps per batch")
        self.optimizer = optimizer
        self.restart_at = restart_at
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.inner = cls(optimizer, **(scheduler_conf or {}))
        self.num_steps = 0

    def step(self, epoch: Optional[int] = None) -> None:
        self.num_steps += 1
        if self.num_steps == self.restart_at:
            for group, lr in zip(self.optimizer.param_groups, self.base_lrs):
                group["lr"] = lr
            self.inner.last_epoch = -1
        self.inner.step()

    def get_last_lr(self):
        return self.inner.get_last_lr()

    def state_dict(self) -> Dict[str, Any]:
        return {"num_steps": self.num_steps, "restart_at": self.restart_at, "base_lrs": self.base_lrs,
                "inner": self.inner.state_dict()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.num_steps = int(state["num_steps"])
        self.base_lrs = list(state["base_lrs"])
        self.inner.load_state_dict(state["inner"])

    def __repr__(self) -> str:
        return f"StageRestartLR(restart_at={self.restart_at}, inner={self.inner!r})"


def register() -> None:
    """Add ``scheduler: stage_restart`` to ESPnet's scheduler table (idempotent)."""
    from espnet2.tasks import abs_task

    abs_task.scheduler_classes[SCHEDULER_NAME] = StageRestartLR


def wrap_for_stages(args, frontend_steps: int) -> bool:
    """Make ``args.scheduler`` restart at ``frontend_steps``; False if there is nothing to wrap."""
    if frontend_steps <= 0 or args.scheduler is None or args.scheduler == SCHEDULER_NAME:
        return False
    register()
    args.scheduler_conf = {"restart_at": frontend_steps, "scheduler": args.scheduler,
                           "scheduler_conf": dict(args.scheduler_conf or {})}
    args.scheduler = SCHEDULER_NAME
    return True
