"""Frozen upstreams through s3prl's ``S3PRLUpstream``, and their hidden states, extracted once.

An upstream is named on the command line as ``NAME=SOURCE`` or ``NAME``:

- ``student=exp/student/student.pth``: a student checkpoint (s3prl ``distill_student_local``);
- ``teacher=exp/teacher``: an ESPnet HuBERT experiment or release directory (``config.yaml`` + model
  file; s3prl ``espnet_hubert_local``), such as the demo's teacher;
- ``fbank``: any s3prl upstream name without a checkpoint (``fbank`` is SUPERB's FBANK baseline:
  80 log-mel bins with deltas, CMVN per utterance, 10 ms frames).

``{seed}`` in a SOURCE is replaced by the seed of each run, so ``random=exp/rand{seed}.pth`` gives
every seed its own randomly initialised student.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import torch
from torch import Tensor

from espnet_distill.common import Pathlike, atomic_write
from espnet_distill.data.audio import load_audio
from espnet_distill.data.kaldi_dir import read_data_dir

_LG = logging.getLogger(__name__)
_CACHE_VERSION = 1


@dataclass(frozen=True)
class UpstreamSpec:
    """One upstream of the comparison: its report name and where it comes from.

    Attributes:
        name: the name reports use (``teacher``, ``student``, ``random``, ``fbank``...).
        source: a checkpoint file, an ESPnet experiment directory, or ``None`` for an s3prl
            upstream called ``name`` itself; may contain ``{seed}``.
    """

    name: str
    source: Optional[str] = None

    @classmethod
    def parse(cls, text: str) -> "UpstreamSpec":
        """``NAME=SOURCE`` or ``NAME``."""
        name, _, source = text.partition("=")
        if not name or not name.replace("_", "").isalnum():
            raise ValueError(f"--upstream {text!r}: expected NAME=SOURCE or NAME (NAME: letters, digits, _)")
        return cls(name, source or None)

    def per_seed(self) -> bool:
        return self.source is not None and "{seed}" in self.source

    def resolve(self, seed: int) -> "UpstreamSpec":
        """The spec with ``{seed}`` filled in."""
        return UpstreamSpec(self.name, self.source.replace("{seed}", str(seed))) if self.per_seed() else self

    def key(self) -> str:
        """A file-name-safe identity of the resolved upstream (name + source)."""
        if self.source is None:
            return self.name
        return f"{self.name}-{hashlib.sha256(self.source.encode()).hexdigest()[:10]}"


def build_upstream(spec: UpstreamSpec) -> torch.nn.Module:
    """s3prl's ``S3PRLUpstream`` for ``spec``, in eval mode.

    Raises:
        FileNotFoundError: the source does not exist.
        ValueError: an unknown s3prl name, or a directory that is not an ESPnet experiment.
    """
    from s3prl.nn import S3PRLUpstream

    from espnet_distill.s3prl import check_upstream_name, register

    register()
    if spec.source is None:
        check_upstream_name(spec.name)
        upstream = S3PRLUpstream(spec.name)
    else:
        source = Path(spec.source)
        if not source.exists():
            raise FileNotFoundError(f"upstream {spec.name}: {source} does not exist")
        if source.is_dir():
            from espnet_distill.teacher.espnet_format import resolve

            config, model_file = resolve(source)
            import espnet_distill.espnet  # noqa: F401  (ESPnet knows the project's HuBERT model classes)

            upstream = S3PRLUpstream("espnet_hubert_local", path_or_url=str(model_file),
                                     extra_conf={"config": str(config)})
        else:
            upstream = S3PRLUpstream("distill_student_local", path_or_url=str(source))
    return upstream.eval()


@dataclass
class Features:
    """Hidden states of one upstream on one data directory.

    Attributes:
        states: ``utt-id -> (L, T, D)`` float16 tensor: all L hidden states (s3prl's order) of
            the utterance, T frames of D values.
        downsample_rate: input samples per frame.
    """

    states: Dict[str, Tensor]
    downsample_rate: int

    def float32(self) -> "Features":
        """The same states in float32, converted once (training reads each many times)."""
        return Features({u: v.float() for u, v in self.states.items()}, self.downsample_rate)

    @property
    def num_layers(self) -> int:
        return next(iter(self.states.values())).shape[0]

    @property
    def hidden_size(self) -> int:
        return next(iter(self.states.values())).shape[-1]


def extract(upstream: torch.nn.Module, data_dir: Pathlike, batch_size: int = 1) -> Features:
    """Run ``upstream`` (frozen) over every utterance of ``data_dir``, batched by length.

    Raises:
        ValueError: the upstream's hidden states differ in size (s3prl's ``Featurizer`` needs one size),
            or are not finite in float16.
    """
    data = read_data_dir(data_dir)
    lengths = {}
    wavs = {}
    for utt in data.utt_ids:
        wavs[utt] = load_audio(data.wav_path(utt))
        lengths[utt] = wavs[utt].numel()
    order = sorted(data.utt_ids, key=lambda u: -lengths[u])
    states: Dict[str, Tensor] = {}
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            utts = order[start:start + batch_size]
            lens = torch.tensor([lengths[u] for u in utts])
            batch = torch.zeros(len(utts), int(lens.max()))
            for i, u in enumerate(utts):
                batch[i, :lengths[u]] = wavs[u]
            hs, hs_len = upstream(batch, lens)
            if len({h.shape[-1] for h in hs}) != 1:
                raise ValueError(f"upstream hidden states differ in size ({[h.shape[-1] for h in hs]}): "
                                 "a weighted sum needs one size")
            stacked = torch.stack(hs, dim=1)  # (B, L, T, D)
            for i, u in enumerate(utts):
                value = stacked[i, :, :int(hs_len[0][i])].to(torch.float16)
                if not torch.isfinite(value).all():
                    raise ValueError(f"{data_dir}: utterance {u}: the upstream's hidden states are not finite "
                                     "in float16")
                states[u] = value.clone()
    return Features(states, int(upstream.downsample_rates[0]))


def cached_features(spec: UpstreamSpec, data_dirs: List[Pathlike], cache_dir: Pathlike,
                    batch_size: int = 1) -> Dict[str, Features]:
    """Hidden states of ``spec`` on each of ``data_dirs`` (``str(dir) -> Features``), from
    ``cache_dir`` when an earlier run extracted them from the same source and audio list."""
    cache_dir = Path(cache_dir)
    out: Dict[str, Features] = {}
    upstream = None
    for data_dir in data_dirs:
        path = cache_dir / f"{spec.key()}.{_dir_key(data_dir)}.pt"
        identity = _identity(spec, data_dir)
        if path.is_file():
            saved = torch.load(path, weights_only=True)
            if saved.get("identity") == identity:
                out[str(data_dir)] = Features(saved["states"], saved["downsample_rate"])
                _LG.info("%s on %s: cached features %s", spec.name, data_dir, path)
                continue
        if upstream is None:
            upstream = build_upstream(spec)
        _LG.info("%s on %s: extracting hidden states (%s)", spec.name, data_dir, spec.source or "s3prl")
        feats = extract(upstream, data_dir, batch_size)
        atomic_write(path, lambda tmp: torch.save({"identity": identity, "states": feats.states,
                                                   "downsample_rate": feats.downsample_rate}, tmp))
        out[str(data_dir)] = feats
    return out


def _dir_key(data_dir: Pathlike) -> str:
    return hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:10]


def _identity(spec: UpstreamSpec, data_dir: Pathlike) -> str:
    """What the cached features depend on: format version, source (path, size, mtime), audio list."""
    parts = [str(_CACHE_VERSION), spec.name, str(spec.source)]
    if spec.source is not None:
        source = Path(spec.source)
        files = sorted(source.iterdir()) if source.is_dir() else [source]
        parts += [f"{p.name}:{os.stat(p).st_size}:{os.stat(p).st_mtime_ns}" for p in files if p.is_file()]
    parts.append(hashlib.sha256((Path(data_dir) / "wav.scp").read_bytes()).hexdigest())
    return "|".join(parts)
