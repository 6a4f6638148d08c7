"""The frozen protocol's downstream: s3prl's weighted sum of layers and a CTC model over characters.

``Featurizer`` (softmax-weighted sum of all hidden states) -> ``FrameLevelLinear`` (SUPERB's linear
probe) or ``RNNEncoder`` (SUPERB ASR's projection, bidirectional LSTMs, linear) -> CTC, sized by
:class:`~espnet_distill.frozen.config.FrozenConfig`. Training reads cached hidden states
(:class:`~espnet_distill.frozen.upstreams.Features`), never the upstream.
"""

from __future__ import annotations

import copy
import logging
import random
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Dict, List, Sequence, Tuple

import torch
from torch import Tensor, nn

from espnet_distill.data.scoring import score_texts
from espnet_distill.frozen.config import FrozenConfig
from espnet_distill.frozen.upstreams import Features

_LG = logging.getLogger(__name__)


class CharCodec:
    """Characters <-> ids with an ESPnet token list (``<blank>`` first, ``<space>`` for blanks)."""

    def __init__(self, token_list: Sequence[str]):
        self.tokens = list(token_list)
        if not self.tokens or self.tokens[0] != "<blank>":
            raise ValueError(f"token list: expected '<blank>' first (ESPnet's char list), found {self.tokens[:3]}")
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.unk = self.ids.get("<unk>")

    def encode(self, text: str, utt: str = "?") -> List[int]:
        out = []
        for ch in text:
            token = "<space>" if ch == " " else ch
            if token in self.ids:
                out.append(self.ids[token])
            elif self.unk is not None:
                out.append(self.unk)
            else:
                raise ValueError(f"utterance {utt}: character {ch!r} is not in the token list and it has no <unk>")
        return out

    def decode(self, ids: Sequence[int]) -> str:
        """Greedy CTC: collapse repeats, drop blanks."""
        out, prev = [], None
        for i in ids:
            if i != prev and i != 0:
                token = self.tokens[i]
                out.append(" " if token == "<space>" else token if not token.startswith("<") else "")
            prev = i
        return " ".join("".join(out).split())


def build_downstream(features: Features, vocab_size: int, config: FrozenConfig) -> nn.Module:
    """``Featurizer`` + s3prl's ``FrameLevelLinear`` or ``RNNEncoder`` for hidden states like ``features``."""
    from s3prl.nn import Featurizer, FrameLevelLinear, RNNEncoder

    shape = SimpleNamespace(num_layers=features.num_layers, hidden_sizes=[features.hidden_size] * features.num_layers,
                            downsample_rates=[features.downsample_rate] * features.num_layers)
    model = nn.Module()
    model.featurizer = Featurizer(shape, normalize=config.normalize)
    if config.downstream == "linear":
        model.encoder = FrameLevelLinear(features.hidden_size, vocab_size, hidden_size=config.proj_size)
    else:
        n = config.num_layers
        model.encoder = RNNEncoder(features.hidden_size, vocab_size, module="LSTM", proj_size=config.proj_size,
                                   hidden_size=[config.hidden_size] * n, dropout=[config.dropout] * n,
                                   layer_norm=[False] * n, proj=[False] * n, sample_rate=[1] * n, bidirectional=True)
    return model


def forward(model: nn.Module, states: List[Tensor]) -> Tuple[Tensor, Tensor]:
    """Log-probabilities ``(B, T, V)`` and lengths ``(B,)`` for a list of ``(L, T_i, D)`` float32 states."""
    lens = torch.tensor([s.shape[1] for s in states])
    padded = nn.utils.rnn.pad_sequence([s.transpose(0, 1) for s in states], batch_first=True)  # (B, T, L, D)
    layers = list(padded.permute(2, 0, 1, 3))  # L x (B, T, D)
    hs, hs_len = model.featurizer(layers, [lens] * len(layers))
    logits, out_len = model.encoder(hs, hs_len)
    return logits.log_softmax(-1), out_len


@dataclass
class RunResult:
    """One trained downstream: its best valid CER, the update it was reached at, its test scores."""

    valid_cer: float
    best_update: int
    test: Dict[str, Dict[str, float]]
    train_loss: List[float]
    layer_weights: List[float]


def transcribe(model: nn.Module, features: Features, codec: CharCodec, batch_size: int = 16) -> Dict[str, str]:
    model.eval()
    utts = sorted(features.states, key=lambda u: -features.states[u].shape[1])
    hyps = {}
    with torch.no_grad():
        for start in range(0, len(utts), batch_size):
            chunk = utts[start:start + batch_size]
            logp, lens = forward(model, [features.states[u] for u in chunk])
            best = logp.argmax(-1)
            for i, u in enumerate(chunk):
                hyps[u] = codec.decode(best[i, :int(lens[i])].tolist())
    return hyps


def train_and_test(train: Features, train_text: Dict[str, str], valid: Features, valid_text: Dict[str, str],
                   tests: Dict[str, Tuple[Features, Dict[str, str]]], codec: CharCodec, config: FrozenConfig,
                   seed: int) -> RunResult:
    """Train one downstream for ``config.updates`` updates; test the best-valid-CER model.

    Raises:
        ValueError: a training utterance has more characters than frames (CTC cannot emit it).
    """
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = build_downstream(train, len(codec.tokens), config)
    targets = {u: torch.tensor(codec.encode(train_text[u], u)) for u in train.states}
    too_long = [u for u, t in targets.items() if len(t) > train.states[u].shape[1]]
    if too_long:
        raise ValueError(f"{len(too_long)} training utterances have more characters than frames "
                         f"(e.g. {too_long[:3]}): CTC cannot emit them")
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    utts = sorted(train.states)
    order: List[str] = []
    best = (float("inf"), 0, None)
    losses = []
    for update in range(1, config.updates + 1):
        if len(order) < config.batch_size:
            shuffled = utts[:]
            rng.shuffle(shuffled)
            order += shuffled
        batch, order = order[:config.batch_size], order[config.batch_size:]
        model.train()
        logp, lens = forward(model, [train.states[u] for u in batch])
        tgt = [targets[u] for u in batch]
        loss = ctc(logp.transpose(0, 1), torch.cat(tgt), lens, torch.tensor([len(t) for t in tgt]))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        losses.append(loss.item())
        if update % config.valid_every == 0 or update == config.updates:
            cer = score_texts(valid_text, transcribe(model, valid, codec)).cer
            _LG.debug("update %d: train loss %.3f, valid CER %.4f", update, losses[-1], cer)
            if cer < best[0]:
                best = (cer, update, copy.deepcopy(model.state_dict()))
    model.load_state_dict(best[2])
    test_scores = {name: score_texts(text, transcribe(model, feats, codec)).to_dict()
                   for name, (feats, text) in tests.items()}
    weights = torch.softmax(model.featurizer.weights.detach(), -1).tolist() if hasattr(model.featurizer, "weights") else [1.0]
    return RunResult(best[0], best[1], test_scores, losses, weights)
