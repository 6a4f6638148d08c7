"""The s3prl upstream expert of a distilled student.

It follows s3prl's expert interface (``s3prl/upstream/example/expert.py``): built as
``UpstreamExpert(ckpt, model_config=None, **kwargs)``, it takes a list of 1-D 16 kHz
waveforms and returns ``hidden_states`` (all of the same size, so s3prl's weighted-sum
``Featurizer`` accepts them) and ``last_hidden_state``, and it reports its stride
through ``get_downsample_rates``, derived from the student (320 samples = 20 ms).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, List, Union

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pad_sequence

_LG = logging.getLogger(__name__)


class UpstreamExpert(nn.Module):
    """A student checkpoint as an s3prl upstream.

    Args:
        ckpt: path of a student checkpoint written by
            :func:`espnet_distill.student.save_student`.
        model_config: accepted for s3prl's call convention (``-g``); must be empty,
            since the checkpoint carries its own config.
        **kwargs: s3prl's other keywords (``refresh``, ...); ignored.

    Raises:
        FileNotFoundError: ``ckpt`` does not exist.
        ValueError: ``ckpt`` is not a student checkpoint
            (:class:`espnet_distill.student.CheckpointError`), or ``model_config`` is set.
    """

    def __init__(self, ckpt: Union[str, Path], model_config=None, **kwargs):
        super().__init__()
        from espnet_distill.student import load_student

        if model_config:
            raise ValueError(
                f"distill_student upstreams take no model config (-g / model_config), found {model_config!r}: "
                "the student checkpoint carries its own config"
            )
        self.model = load_student(ckpt)
        self.ckpt = str(ckpt)
        _LG.info("s3prl upstream from student %s: %d layers, dim %d, stride %d",
                 ckpt, self.model.num_layers, self.model.output_dim, self.model.downsample_rate)

    def get_downsample_rates(self, key: str = "hidden_states") -> int:
        """Input samples per output frame, the same for every returned feature."""
        return self.model.downsample_rate

    def forward(self, wavs: List[Tensor]) -> Dict[str, Union[Tensor, List[Tensor]]]:
        """Run the student on a list of waveforms.

        Args:
            wavs: ``B`` tensors ``(N_b,)``, 16 kHz, on the model's device.

        Returns:
            ``hidden_states``: ``L + 1`` tensors ``(B, T, D)``; index 0 is the
            front-end output, index k the output of student layer k (1-based), so
            it is s3prl's 0-based layer index. ``last_hidden_state``: index L.
        """
        for i, wav in enumerate(wavs):
            if wav.ndim != 1:
                raise ValueError(f"distill_student upstream: input {i} of the batch has shape {tuple(wav.shape)}; "
                                 "expected a mono waveform (samples,) at 16 kHz")
            if not torch.isfinite(wav).all():
                raise ValueError(f"distill_student upstream: input {i} of the batch ({wav.numel()} samples) holds "
                                 f"{int((~torch.isfinite(wav)).sum())} NaN or infinite samples")
        lengths = torch.tensor([len(w) for w in wavs], device=wavs[0].device)
        out = self.model(pad_sequence(wavs, batch_first=True), lengths)
        hidden = list(out.hidden_states)
        return {"hidden_states": hidden, "last_hidden_state": hidden[-1]}
