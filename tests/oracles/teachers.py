"""Tiny random teachers written in each real checkpoint format.

Everything here writes files the way the real tools do, without their training code and
without network:

- :func:`save_fairseq_checkpoint`: a fairseq HuBERT ``.pt`` (``cfg`` dict or older ``args``
  Namespace, fairseq parameter names, ``task_state`` with a pickled
  ``fairseq.data.dictionary.Dictionary``). The names come from :func:`fairseq_state_dict`,
  a torchaudio -> fairseq renaming written independently of the loader's key map, so a
  round trip checks the map.
- :func:`save_s3prl_checkpoint`: s3prl's converted layout of the same.
- :func:`save_hf_directory`: transformers' own ``HubertModel`` / ``WavLMModel`` /
  ``Wav2Vec2Model`` (``save_pretrained``).
- :func:`save_torchaudio_state_dict` (raw) and
  :func:`espnet_distill.teacher.save_torchaudio_checkpoint` (with config).
- :func:`save_espnet_experiment`: ESPnet's real ``HubertTask.build_model`` and its
  ``config.yaml`` + ``valid.loss.ave.pth``; :func:`save_espnet_fairseq_experiment` for
  ESPnet's fairseq-based encoder (whose model needs fairseq, so only the files are made).

Every builder returns the reference model it saved, to compare the loaded teacher with.
:func:`make_teacher_checkpoint` does it all in one call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
from torch import nn

from espnet_distill.teacher.config import BackboneConfig
from espnet_distill.teacher.torchaudio_format import save_torchaudio_checkpoint

from tests.oracles.models import FORMATS, TINY_CONV, base_config, random_hubert_pretrain, randomize_, tiny_config
from tests.oracles.fairseq_files import (
    edit_fairseq_checkpoint, fairseq_model_cfg, fairseq_state_dict, fairseq_symbols, fairseq_task_cfg,
    save_fairseq_checkpoint, save_s3prl_checkpoint,
)
from tests.oracles.hf_espnet_files import (
    espnet_encoder_conf, hf_config, save_espnet_experiment, save_espnet_fairseq_experiment, save_hf_directory,
)

__all__ = [
    "FORMATS", "TINY_CONV", "base_config", "edit_fairseq_checkpoint", "espnet_encoder_conf", "fairseq_model_cfg",
    "fairseq_state_dict", "fairseq_symbols", "fairseq_task_cfg", "hf_config", "make_teacher_checkpoint",
    "random_hubert_pretrain", "randomize_", "save_espnet_experiment", "save_espnet_fairseq_experiment",
    "save_fairseq_checkpoint", "save_hf_directory", "save_s3prl_checkpoint", "save_torchaudio_checkpoint",
    "save_torchaudio_state_dict", "tiny_config",
]


# -- torchaudio ------------------------------------------------------------------------------
def save_torchaudio_state_dict(model: nn.Module, path: Path) -> Path:
    """Write ``model.state_dict()`` alone (the raw layout: the loader infers the config)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path



# -- one call --------------------------------------------------------------------------------
def make_teacher_checkpoint(
    fmt: str,
    out: Path,
    *,
    config: Optional[BackboneConfig] = None,
    large: bool = False,
    seed: int = 0,
    num_units: int = 24,
    codeword_dim: int = 16,
) -> Path:
    """Save a random tiny teacher in format ``fmt`` (one of :data:`FORMATS`); returns what to pass to ``load_teacher``.

    ``out`` is a file for fairseq / s3prl / torchaudio formats and a directory for
    ``hf`` / ``espnet`` / ``espnet_fairseq``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, found {fmt!r}")
    config = config or tiny_config(large=large)
    out = Path(out)
    if fmt == "hf":
        save_hf_directory(config, out, seed=seed)
        return out
    if fmt == "espnet":
        save_espnet_experiment(config, out, num_units=num_units, codeword_dim=codeword_dim, seed=seed)
        return out
    model = random_hubert_pretrain(config, num_units=num_units, codeword_dim=codeword_dim, seed=seed)
    if fmt in ("fairseq", "fairseq_args"):
        return save_fairseq_checkpoint(
            model, config, out, normalize=large, style="args" if fmt == "fairseq_args" else "cfg"
        )
    if fmt == "s3prl":
        return save_s3prl_checkpoint(model, config, out, normalize=large)
    if fmt == "torchaudio":
        return save_torchaudio_checkpoint(model, out, config, normalize_waveform=large)
    if fmt == "torchaudio_raw":
        return save_torchaudio_state_dict(model, out)
    return save_espnet_fairseq_experiment(model, config, out)
