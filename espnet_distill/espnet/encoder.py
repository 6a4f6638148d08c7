"""The ESPnet2 encoder ``identity``: the frontend's features go straight to the CTC layer.

Fine-tuning a distilled student as HuBERT is fine-tuned (fairseq ``hubert_ctc``) puts one
Linear layer, the CTC output layer, on the student's last layer. In ESPnet the CTC layer
(``espnet2.asr.ctc.CTC``, a Linear to the vocabulary) follows the encoder, so the encoder
must pass the features through unchanged, whatever their size::

    frontend: distill_student
    encoder: identity
"""

from __future__ import annotations

from typing import Optional, Tuple

from espnet2.asr.encoder.abs_encoder import AbsEncoder
from torch import Tensor


class IdentityEncoder(AbsEncoder):
    """Returns its input: ``(B, T, D)`` features and ``(B,)`` lengths; ``output_size() = D``.

    Args:
        input_size: D, given by ESPnet from the frontend's (or normalisation's) output size.
    """

    def __init__(self, input_size: int):
        super().__init__()
        self._output_size = int(input_size)

    def output_size(self) -> int:
        return self._output_size

    def forward(self, xs_pad: Tensor, ilens: Tensor,
                prev_states: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        return xs_pad, ilens, None
