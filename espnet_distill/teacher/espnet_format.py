"""HuBERT models pre-trained with ESPnet (``espnet2.tasks.hubert.HubertTask``, ``egs2/*/ssl1``).

An ESPnet experiment directory holds ``config.yaml`` (every argument of the run, written
by ``AbsTask.main``) and model files (``valid.loss.ave.pth``, ``NNepoch.pth``,
``latest.pth``, ...: plain ``model.state_dict()``; the trainer's ``checkpoint.pth`` keeps
it under ``"model"``). Two encoders exist:

- ``encoder: torchaudio_hubert`` (``TorchAudioHuBERTPretrainEncoder``, ``model:
  torchaudio``): the keys are a torchaudio ``HuBERTPretrainModel`` under
  ``encoder.hubert_pretrain_model.`` and the config is ``encoder_conf`` (torchaudio's
  ``hubert_pretrain_model`` arguments; ESPnet's defaults in :data:`ESPNET_TORCHAUDIO_DEFAULTS`)
  plus ``num_classes``. The unit head is ``logit_generator`` (logit temperature 0.1).
- ``encoder: hubert_pretrain`` (``FairseqHubertPretrainEncoder``, ``model: fairseq``;
  needs fairseq to train): the keys are a fairseq ``HubertModel`` under
  ``encoder.encoder.``, read with the fairseq key map; ``encoder_conf`` holds ESPnet's
  names (``output_size`` -> ``encoder_embed_dim`` and ``final_dim``, ``linear_units``,
  ``attention_heads``, ``num_blocks``) and any fairseq ``HubertConfig`` field.

ESPnet feeds the raw waveform (``input_size: 1``, ``frontend: null``, ``normalize: null``):
no waveform normalisation. Experiments with a feature frontend, a normalisation layer or
a pre-encoder are refused.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import yaml

from espnet_distill.teacher.base import Teacher
from espnet_distill.teacher.checkpoint_io import is_tensor_mapping, read_torch_file
from espnet_distill.teacher.config import BackboneConfig, TeacherFormatError
from espnet_distill.teacher.fairseq import teacher_from_fairseq
from espnet_distill.teacher.state import strip_prefix
from espnet_distill.teacher.torchaudio_format import teacher_from_torchaudio_state

_LG = logging.getLogger(__name__)

#: ``TorchAudioHuBERTPretrainEncoder.__init__`` defaults (ESPnet 202611) of the architecture arguments.
ESPNET_TORCHAUDIO_DEFAULTS: Dict[str, Any] = {
    "extractor_mode": "group_norm",
    "extractor_conv_layer_config": [[512, 10, 5]] + [[512, 3, 2]] * 4 + [[512, 2, 2]] * 2,
    "extractor_conv_bias": False,
    "encoder_embed_dim": 768,
    "encoder_pos_conv_kernel": 128,
    "encoder_pos_conv_groups": 16,
    "encoder_num_layers": 12,
    "encoder_num_heads": 12,
    "encoder_ff_interm_features": 3072,
    "encoder_layer_norm_first": False,
}
#: ``FairseqHubertPretrainEncoder.__init__`` defaults (ESPnet 202611) and their fairseq names.
ESPNET_FAIRSEQ_DEFAULTS: Dict[str, Any] = {
    "output_size": 1024,
    "linear_units": 1024,
    "attention_heads": 12,
    "num_blocks": 12,
    "label_rate": 100,
}
_ESPNET_TO_FAIRSEQ = {
    "output_size": ("encoder_embed_dim", "final_dim"),
    "linear_units": ("encoder_ffn_embed_dim",),
    "attention_heads": ("encoder_attention_heads",),
    "num_blocks": ("encoder_layers",),
    "label_rate": ("label_rate",),
}
_TORCHAUDIO_PREFIX = "encoder.hubert_pretrain_model."
_FAIRSEQ_PREFIX = "encoder.encoder."
_IGNORED = re.compile(r"encoder\.(global_step|hubert_pretrain_model\.mask_generator\..*|encoder\.mask_emb)\Z")
_ENCODERS = ("torchaudio_hubert", "hubert_pretrain")
_PREFERRED = ("model.pth", "valid.loss.ave.pth", "valid.acc.ave.pth", "valid.loss.best.pth", "valid.acc.best.pth", "latest.pth")


def find_model_file(directory: Path) -> Path:
    """The model file of an experiment directory, by ESPnet's conventions.

    Order: ``model.pth`` (a release), ``valid.loss.ave.pth``, ``valid.acc.ave.pth``, other ``*ave*.pth``,
    ``valid.{loss,acc}.best.pth``, ``latest.pth``, the highest ``NNepoch.pth``, ``checkpoint.pth``.
    """
    directory = Path(directory)
    for name in _PREFERRED[:3]:
        if (directory / name).is_file():
            return directory / name
    averaged = sorted(directory.glob("*ave*.pth"))
    if averaged:
        return averaged[0]
    for name in _PREFERRED[3:]:
        if (directory / name).is_file():
            return directory / name
    epochs = sorted(directory.glob("*epoch.pth"), key=lambda p: int(re.sub(r"\D", "", p.name) or 0))
    if epochs:
        return epochs[-1]
    if (directory / "checkpoint.pth").is_file():
        return directory / "checkpoint.pth"
    raise TeacherFormatError(
        f"{directory} has no ESPnet model file: expected one of {list(_PREFERRED)}, *ave*.pth, NNepoch.pth "
        f"or checkpoint.pth; found {sorted(p.name for p in directory.iterdir())}"
    )


def resolve(source: Path, config: Optional[Path] = None) -> Tuple[Path, Path]:
    """``(config.yaml, model file)`` for a directory, a ``config.yaml`` or a ``.pth`` file."""
    source = Path(source)
    if source.is_dir():
        model_file = find_model_file(source)
        config_file = Path(config) if config else source / "config.yaml"
    elif source.suffix in (".yaml", ".yml"):
        config_file = source
        model_file = find_model_file(source.parent)
    else:
        model_file = source
        config_file = Path(config) if config else source.parent / "config.yaml"
    if not config_file.is_file():
        raise TeacherFormatError(
            f"ESPnet model {model_file} needs its config.yaml: expected {config_file} (or pass config=PATH)"
        )
    return config_file, model_file


def read_config(path: Path) -> Dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise TeacherFormatError(f"{path} is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise TeacherFormatError(f"{path} is not an ESPnet config (a mapping), found {type(data).__name__}")
    return data


def _check_pipeline(args: Mapping[str, Any], what: str) -> str:
    encoder = args.get("encoder")
    if encoder not in _ENCODERS:
        raise TeacherFormatError(
            f"{what}: expected an ESPnet HuBERT pre-training experiment (encoder one of {list(_ENCODERS)}), "
            f"found encoder {encoder!r} (task model {args.get('model')!r})"
        )
    extra = {k: args.get(k) for k in ("frontend", "normalize", "preencoder") if args.get(k) not in (None, "none")}
    if extra:
        raise TeacherFormatError(
            f"{what}: {extra} are not supported; a teacher takes the raw waveform "
            "(ESPnet's HuBERT recipes use input_size: 1, frontend: null, normalize: null)"
        )
    return encoder


def _model_state(obj: Any, what: str) -> Dict[str, Any]:
    if isinstance(obj, dict) and is_tensor_mapping(obj.get("model")):
        return obj["model"]  # the trainer's checkpoint.pth
    if is_tensor_mapping(obj):
        return obj
    found = sorted(obj)[:8] if isinstance(obj, dict) else type(obj).__name__
    raise TeacherFormatError(f"{what} is not an ESPnet model file (a state dict), found {found}")


def _outside(state: Mapping[str, Any], prefix: str) -> list:
    return sorted(k for k in state if not k.startswith(prefix) and not _IGNORED.match(k))


def torchaudio_config(args: Mapping[str, Any]) -> BackboneConfig:
    """The backbone of a ``torchaudio_hubert`` experiment (ESPnet's defaults filled in)."""
    conf = {**ESPNET_TORCHAUDIO_DEFAULTS, **(args.get("encoder_conf") or {})}
    return BackboneConfig.from_dict({k: conf[k] for k in ESPNET_TORCHAUDIO_DEFAULTS})


def fairseq_model_cfg(args: Mapping[str, Any]) -> Dict[str, Any]:
    """fairseq ``HubertConfig`` fields of a ``hubert_pretrain`` experiment (as ESPnet builds them)."""
    conf = {**ESPNET_FAIRSEQ_DEFAULTS, **(args.get("encoder_conf") or {})}
    cfg: Dict[str, Any] = {"_name": "hubert"}
    for key, names in _ESPNET_TO_FAIRSEQ.items():  # ESPnet's own names first, then fairseq fields win
        cfg.update({name: conf[key] for name in names})
    cfg.update({k: v for k, v in conf.items() if k not in _ESPNET_TO_FAIRSEQ})
    return cfg


def load_espnet(
    source: Path, *, obj: Any = None, config: Optional[Path] = None, normalize_waveform: Optional[bool] = None
) -> Teacher:
    """Load an ESPnet HuBERT experiment.

    Args:
        source: the experiment directory, its ``config.yaml``, or a ``.pth`` model file.
        obj: the model file's contents when already read.
        config: the ``config.yaml`` when it is not next to the model file.
        normalize_waveform: override (ESPnet feeds raw waveforms: default off).
    """
    config_file, model_file = resolve(source, config)
    what = f"ESPnet model {model_file}"
    args = read_config(config_file)
    encoder = _check_pipeline(args, f"ESPnet config {config_file}")
    if obj is None or Path(source).is_dir() or Path(source).suffix in (".yaml", ".yml"):
        obj = read_torch_file(model_file)
    state = _model_state(obj, what)
    prefix = _TORCHAUDIO_PREFIX if encoder == "torchaudio_hubert" else _FAIRSEQ_PREFIX
    outside = _outside(state, prefix)
    if outside:
        raise TeacherFormatError(f"{what}: unexpected keys outside the {encoder} encoder ({prefix}*): {outside[:12]}")
    inner = strip_prefix(state, prefix)
    normalize = bool(normalize_waveform) if normalize_waveform is not None else False
    _LG.info("%s: %s encoder, config %s", what, encoder, config_file)
    if encoder == "torchaudio_hubert":
        return teacher_from_torchaudio_state(
            inner,
            what=what,
            source=str(model_file),
            source_format="espnet",
            config=torchaudio_config(args).to_dict(),
            infer=False,
            normalize_waveform=normalize,
            key_prefix=prefix,
        )
    return teacher_from_fairseq(
        fairseq_model_cfg(args),
        {"normalize": normalize},
        inner,
        what=what,
        source=str(model_file),
        source_format="espnet",
        key_prefix=prefix,
    )


def looks_like_espnet_dir(path: Path) -> bool:
    return Path(path).is_dir() and (Path(path) / "config.yaml").is_file()


def looks_like_espnet_state(obj: Any) -> bool:
    state = obj.get("model") if isinstance(obj, dict) and "model" in obj and not is_tensor_mapping(obj) else obj
    return is_tensor_mapping(state) and any(k.startswith((_TORCHAUDIO_PREFIX, _FAIRSEQ_PREFIX)) for k in state)
