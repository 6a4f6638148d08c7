"""The frozen-upstream protocol's settings: one typed, self-validating dataclass (YAML: a mapping).

Two downstreams, both s3prl's own: ``linear``, SUPERB's frame-level linear probe (s3prl
``FrameLevelLinear``, the downstream of SUPERB's phoneme-recognition task) with CTC over
characters, and ``lstm``, SUPERB ASR's recurrent model (s3prl ``RNNEncoder``: projection,
bidirectional LSTMs on packed sequences, linear output). The default is ``linear``, our choice for a
2-core CPU: s3prl's packed BiLSTM took 1.1 s (32 cells) to 2.4 s (128 cells) per update of 8
utterances on one core here, against milliseconds for the probe, and the demo runs 12 of them
(4 upstreams x 3 seeds). The other defaults are ours too, for a few minutes of labelled speech, not
SUPERB's (ASR: a 2-layer BiLSTM of 1024 cells, 200k updates, lr 1e-4 on 100 h). Every upstream
gets exactly the same downstream and budget, which is what makes the comparison fair. The budget
(1,000 updates at lr 1e-2) was measured on the demo's cached features: at the earlier 300 updates
and lr 2e-3 the probe's own initialisation moved the test CER by up to 10 points (seed standard
deviations of 4-8 points, every upstream near 70 %); at 1,000 updates and lr 1e-2 the spread of
teacher, fbank and random was 0.4-1.7 points (10-20 s per run on 2 cores); 2,000 updates improved
one seed by about 1 point more at twice the time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, Optional

import yaml

from espnet_distill.common import Pathlike


DOWNSTREAMS = ("linear", "lstm")


@dataclass
class FrozenConfig:
    """Downstream and training budget of the frozen protocol.

    Attributes:
        downstream: ``linear`` (SUPERB's linear probe) or ``lstm`` (SUPERB ASR's recurrent model).
        proj_size: size of the first linear projection (both downstreams).
        hidden_size: ``lstm``: cells per direction of each recurrent layer.
        num_layers: ``lstm``: recurrent layers (bidirectional LSTMs).
        dropout: ``lstm``: dropout after each recurrent layer.
        updates: optimiser updates per run (one run = one upstream and one seed).
        batch_size: utterances per update.
        lr: Adam's learning rate (constant).
        grad_clip: maximum gradient norm.
        valid_every: updates between valid-set evaluations; the best valid CER's model is tested.
        normalize: layer-normalise each hidden state before the weighted sum (s3prl's
            ``Featurizer(normalize=...)``).
        extract_batch_size: utterances per upstream forward when extracting features. 1 (the
            default) keeps each utterance's hidden states independent of its batch: s3prl counts
            ``ceil(samples / stride)`` frames, one more than a model's own frames for most lengths,
            and in a padded batch that frame is computed from the padding.
    """

    downstream: str = "linear"
    proj_size: int = 256
    hidden_size: int = 128
    num_layers: int = 1
    dropout: float = 0.2
    updates: int = 1000
    batch_size: int = 8
    lr: float = 1e-2
    grad_clip: float = 5.0
    valid_every: int = 100
    normalize: bool = True
    extract_batch_size: int = 1

    def __post_init__(self) -> None:
        if self.downstream not in DOWNSTREAMS:
            raise ValueError(f"frozen config downstream: expected one of {list(DOWNSTREAMS)}, found {self.downstream!r}")
        for name in ("proj_size", "hidden_size", "num_layers", "updates", "batch_size", "valid_every",
                     "extract_batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"frozen config {name}: expected an integer >= 1, found {value!r}")
        for name in ("lr", "grad_clip"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise ValueError(f"frozen config {name}: expected a number > 0, found {value!r}")
        if not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ValueError(f"frozen config dropout: expected a number in [0, 1), found {self.dropout!r}")
        if not isinstance(self.normalize, bool):
            raise ValueError(f"frozen config normalize: expected true or false, found {self.normalize!r}")

    @classmethod
    def from_dict(cls, data: Optional[Dict[str, Any]], where: str = "frozen config") -> "FrozenConfig":
        """Build from a mapping; unknown keys are an error with a "did you mean" hint."""
        from espnet_distill.student._serialize import from_plain

        return from_plain(cls, dict(data or {}), where)

    @classmethod
    def from_yaml(cls, path: Pathlike) -> "FrozenConfig":
        data = yaml.safe_load(open(path)) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping of frozen-protocol settings, found {type(data).__name__}")
        return cls.from_dict(data, where=str(path))

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)
