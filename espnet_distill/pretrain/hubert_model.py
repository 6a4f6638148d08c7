"""ESPnet's torchaudio HuBERT pre-training model with configurable loss weights.

``espnet2.hubert.espnet_model.TorchAudioHubertPretrainModel`` computes HuBERT's loss as
masked cross-entropy + 10 x feature penalty, summed over frames, and fixes the weight
of the unmasked-frame cross-entropy at 0. At the scale of a CPU demo that recipe learns
almost nothing in ten minutes (shared/reference/calibration.md: masked accuracy 5 %);
predicting the units of unmasked frames as well (weight 0.5), with full gradient into
the CNN, trains a usable teacher in the same time. This subclass only exposes those
weights (and a per-frame mean instead of the sum); the forward pass, masking, logits and
everything else are ESPnet's and torchaudio's own. It is registered as
``model: torchaudio_weighted`` of ESPnet's HubertTask by :func:`register`.
"""

from __future__ import annotations

from typing import Optional

import torch
from espnet2.hubert.espnet_model import TorchAudioHubertPretrainModel

MODEL_NAME = "torchaudio_weighted"


class WeightedTorchAudioHubertPretrainModel(TorchAudioHubertPretrainModel):
    """:class:`TorchAudioHubertPretrainModel` whose loss terms are weighted by the config.

    Args (``model_conf``):
        masked_weight: weight of the masked-frame cross-entropy (ESPnet: 1.0).
        unmasked_weight: weight of the unmasked-frame cross-entropy (ESPnet: fixed 0.0).
        feature_weight: weight of the CNN feature penalty (ESPnet: 10.0).
        reduction: ``"sum"`` over frames (ESPnet) or ``"mean"`` (divided by the masked frames).
    """

    def __init__(self, *args, masked_weight: float = 1.0, unmasked_weight: float = 0.0,
                 feature_weight: float = 10.0, reduction: str = "sum", **kwargs):
        super().__init__(*args, **kwargs)
        if reduction not in ("sum", "mean"):
            raise ValueError(f"model_conf.reduction: expected 'sum' or 'mean', found {reduction!r}")
        for name, value in (("masked_weight", masked_weight), ("unmasked_weight", unmasked_weight),
                            ("feature_weight", feature_weight)):
            if value < 0:
                raise ValueError(f"model_conf.{name}: expected >= 0, found {value}")
        self.masked_weight = float(masked_weight)
        self.unmasked_weight = float(unmasked_weight)
        self.feature_weight = float(feature_weight)
        self.reduction = reduction

    def _calc_hubert_loss(self, logit_m: Optional[torch.Tensor], logit_u: Optional[torch.Tensor],
                          feature_penalty: torch.Tensor, **_ignored) -> torch.Tensor:
        loss = super()._calc_hubert_loss(
            logit_m, logit_u, feature_penalty, masked_weight=self.masked_weight,
            unmasked_weight=self.unmasked_weight, feature_weight=self.feature_weight, reduction="sum",
        )
        if self.reduction == "mean" and logit_m is not None and logit_m.shape[0] > 0:
            loss = loss / logit_m.shape[0]
        return loss


def register() -> None:
    """Add ``model: torchaudio_weighted`` to ESPnet's HubertTask (idempotent)."""
    from espnet2.tasks import hubert

    register_task_module(hubert)


def register_task_module(hubert) -> None:
    """:func:`register` for the imported ``espnet2.tasks.hubert`` module (the import hook's call)."""
    classes = hubert.model_choices.classes
    existing = classes.get(MODEL_NAME)
    if existing is not None and existing is not WeightedTorchAudioHubertPretrainModel:
        raise ValueError(f"HubertTask model '{MODEL_NAME}' is already taken by {existing.__module__}.{existing.__name__}")
    classes[MODEL_NAME] = WeightedTorchAudioHubertPretrainModel
