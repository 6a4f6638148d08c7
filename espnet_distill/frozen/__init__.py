"""SUPERB-style frozen-upstream evaluation: what a representation holds, without fine-tuning it.

The protocol of SUPERB's ASR task (Yang et al., 2021), scaled to a CPU demo: the upstream is
frozen, a learned softmax-weighted sum of all its hidden states (s3prl's ``Featurizer``) feeds a
small recurrent CTC downstream (s3prl's ``RNNEncoder``), trained on the labelled set with the same
budget for every upstream; the model with the best valid CER is decoded greedily on the test set.
Upstreams are s3prl's own (``S3PRLUpstream``): a student checkpoint (``distill_student_local``), an
ESPnet HuBERT experiment such as the demo's teacher (``espnet_hubert_local``), or any s3prl name such
as ``fbank`` (SUPERB's FBANK baseline). Each upstream's hidden states are extracted once and cached,
so several seeds cost only the downstream's training.

    >>> from espnet_distill.frozen import FrozenConfig, UpstreamSpec, run_frozen
"""

from espnet_distill.frozen.config import FrozenConfig
from espnet_distill.frozen.protocol import run_frozen
from espnet_distill.frozen.upstreams import UpstreamSpec

__all__ = ["FrozenConfig", "UpstreamSpec", "run_frozen"]
