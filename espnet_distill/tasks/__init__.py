"""Distillation as an ESPnet2 task: :class:`DistillTask` and :class:`DistillModel`."""
