"""``load_teacher``: one entry point for every teacher checkpoint format.

Formats (``format=`` names) and what identifies them when auto-detecting:

==============  ======================================================================
``fairseq``     a ``.pt`` dict with ``model`` and ``cfg`` (or ``args``): HuBERT pre-training
``s3prl``       a dict with ``task_cfg``, ``model_cfg``, ``model_weight``, ``dictionaries_symbols``
``hf``          a directory with ``config.json`` (or that file / a weights file inside it)
``espnet``      a directory with ``config.yaml``, that file, or a ``.pth`` whose keys start
                with ``encoder.hubert_pretrain_model.`` / ``encoder.encoder.``
``torchaudio``  a ``{config, state_dict}`` file or a raw ``Wav2Vec2Model`` /
                ``HuBERTPretrainModel`` state dict
==============  ======================================================================

Names that are not paths are looked up in :mod:`espnet_distill.teacher.hub` (downloads for
online users only). Every loader returns a frozen :class:`~espnet_distill.teacher.base.Teacher`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping, Optional, Tuple, Union

import torch

from espnet_distill.teacher import hub
from espnet_distill.teacher.base import Teacher
from espnet_distill.teacher.checkpoint_io import file_kind, is_tensor_mapping, read_torch_file, trusted_checkpoints
from espnet_distill.teacher.config import TeacherFormatError
from espnet_distill.teacher.espnet_format import load_espnet, looks_like_espnet_dir, looks_like_espnet_state
from espnet_distill.teacher.fairseq import load_fairseq, looks_like_fairseq
from espnet_distill.teacher.huggingface import load_huggingface, looks_like_hf_dir
from espnet_distill.teacher.s3prl_format import load_s3prl, looks_like_s3prl
from espnet_distill.teacher.torchaudio_format import load_torchaudio, looks_like_torchaudio

_LG = logging.getLogger(__name__)

FORMATS = ("fairseq", "s3prl", "hf", "espnet", "torchaudio")
_ALIASES = {"huggingface": "hf", "transformers": "hf", "s3prl_converted": "s3prl"}
_DTYPES = {
    "bf16": torch.bfloat16,
    "bfloat16": torch.bfloat16,
    "fp16": torch.float16,
    "float16": torch.float16,
    "half": torch.float16,
    "fp32": None,
    "float32": None,
    "none": None,
}
_HF_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "config.json")
_FAIRSEQ_NAMES = ("encoder.pos_conv.0.", "post_extract_proj.", "feature_extractor.conv_layers.0.0.")


def load_teacher(
    source: Union[str, Path],
    *,
    format: Optional[str] = None,
    device: Union[str, torch.device, None] = None,
    autocast_dtype: Union[str, torch.dtype, None] = None,
    need_units: bool = False,
    normalize_waveform: Optional[bool] = None,
    config: Union[Mapping[str, Any], str, Path, None] = None,
    download_dir: Union[str, Path, None] = None,
    trust_checkpoint: bool = False,
) -> Teacher:
    """Load a frozen teacher from a checkpoint file, a directory or a known name.

    Args:
        source: a path (file or directory), or a known name for online users
            (``hubert_base_ls960``, ``hf:<repo id>``, ``torchaudio:HUBERT_BASE``; see
            :mod:`espnet_distill.teacher.hub`).
        format: one of :data:`FORMATS` (or ``huggingface``); ``None`` detects it.
        device: where to put the teacher (default: CPU).
        autocast_dtype: ``bf16``/``fp16`` (or a ``torch.dtype``) to run the teacher under
            autocast; ``None`` (default) runs it in fp32, also inside a caller's autocast
            (the Trainer's ``--use_amp``), as the authors' code does.
        need_units: require HuBERT's unit head (for the discriminative loss).
        normalize_waveform: override the format's waveform normalisation setting.
        config: torchaudio raw state dicts: :class:`~espnet_distill.teacher.config.BackboneConfig`
            fields overriding the inferred architecture (a mapping, or a YAML / JSON file of one);
            ESPnet model files: the path of their ``config.yaml``.
        download_dir: where known names are downloaded / looked up.
        trust_checkpoint: read torch files with ``weights_only=False`` (after a warning), for a
            file you trust that pickles globals outside the allow-list of
            :mod:`espnet_distill.teacher.checkpoint_io`. Unpickling such a file can run code.

    Returns:
        The :class:`Teacher`: ``teacher(wavs (B, T), wav_lengths (B,))`` gives
        :class:`~espnet_distill.teacher.base.TeacherOutput` with L + 1 hidden states
        ``(B, T', D)`` (index 0 = transformer input, k = layer k, 1-based) and, with a unit
        head, ``unit_logits (B, T', K)``.

    Raises:
        TeacherFormatError: unknown source or format, not a checkpoint, wrong
            architecture, missing / unexpected keys (named), units asked of a teacher
            without a unit head.
    """
    fmt = _canonical_format(format)
    with trusted_checkpoints(bool(trust_checkpoint)):
        try:
            teacher = _load(source, fmt, normalize_waveform=normalize_waveform, config=config,
                            download_dir=download_dir)
        except TeacherFormatError as err:
            from espnet_distill.file_kinds import wrong_kind_message

            better = wrong_kind_message(source, "teacher", "a teacher checkpoint", err) if Path(source).exists() else None
            if better is None:
                raise
            raise TeacherFormatError(better) from err
    if need_units and not teacher.has_unit_head:
        try:
            teacher._require_units()
        except ValueError as e:
            raise TeacherFormatError(str(e)) from e
    teacher.autocast_dtype = parse_dtype(autocast_dtype)
    if device is not None:
        teacher.to(device)
    _LG.info(
        "teacher %s (%s): %d layers x %d, %.1f M parameters, unit head: %s",
        teacher.source,
        teacher.source_format,
        teacher.num_layers,
        teacher.hidden_size,
        teacher.count_parameters() / 1e6,
        f"{teacher.num_units} units" if teacher.has_unit_head else "none",
    )
    return teacher


def _load(source, fmt: Optional[str], *, normalize_waveform, config, download_dir) -> Teacher:
    path = Path(source)
    if not path.exists():
        known = hub.parse_name(str(source))
        if known is None:
            raise TeacherFormatError(
                f"teacher {str(source)!r}: no such file or directory, and not a known name "
                f"(known: {', '.join(hub.known_names())})"
            )
        return _load_known(known, fmt, normalize_waveform=normalize_waveform, download_dir=download_dir)
    obj = None
    if fmt is None:
        fmt, obj = detect_format(path)
        _LG.info("%s: detected format %s", path, fmt)
    options = {"normalize_waveform": normalize_waveform}
    config = _side_config(config, fmt)
    if fmt == "fairseq":
        return load_fairseq(path, obj=obj, **options)
    if fmt == "s3prl":
        return load_s3prl(path, obj=obj, **options)
    if fmt == "hf":
        return load_huggingface(path, **options)
    if fmt == "espnet":
        return load_espnet(path, obj=obj, config=config, **options)
    return load_torchaudio(path, obj=obj, config=config, **options)


def _side_config(config, fmt: str):
    """torchaudio: a mapping, or a YAML / JSON file of one; ESPnet: the path of ``config.yaml``."""
    if config is None:
        return None
    if fmt == "espnet":
        if isinstance(config, Mapping):
            raise TeacherFormatError("config= for an ESPnet model is the path of its config.yaml, not a mapping")
        return Path(config)
    if fmt != "torchaudio":
        raise TeacherFormatError(f"config= applies to torchaudio and espnet checkpoints, not to format {fmt!r}")
    if isinstance(config, Mapping):
        return dict(config)
    import yaml

    try:
        data = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise TeacherFormatError(f"cannot read the torchaudio side config {config}: {e}") from e
    if not isinstance(data, Mapping):
        raise TeacherFormatError(f"the torchaudio side config {config} must hold a mapping of BackboneConfig fields")
    return dict(data)


def _load_known(known: Tuple[str, str], fmt: Optional[str], *, normalize_waveform, download_dir) -> Teacher:
    kind, name = known
    if fmt is not None and fmt != kind:
        raise TeacherFormatError(f"{name!r} is a known {kind} teacher, but format={fmt!r} was asked for")
    if kind == "fairseq":
        return load_fairseq(hub.fetch_fairseq(name, download_dir), normalize_waveform=normalize_waveform)
    if kind == "hf":
        return load_huggingface(hub.fetch_hf(name, download_dir), normalize_waveform=normalize_waveform)
    return hub.load_torchaudio_bundle(name, download_dir, normalize_waveform=normalize_waveform)


def detect_format(path: Union[str, Path]) -> Tuple[str, Any]:
    """The format of a checkpoint path, and the file's contents when it had to be read.

    Returns:
        ``(format, obj)``; ``obj`` is ``None`` for directories and config files.

    Raises:
        TeacherFormatError: the path matches no format (the message lists what each expects).
    """
    path = Path(path)
    if path.is_dir():
        if looks_like_hf_dir(path):
            return "hf", None
        if looks_like_espnet_dir(path):
            return "espnet", None
        raise TeacherFormatError(
            f"{path} is a directory but neither a HuggingFace model (config.json) nor an ESPnet experiment "
            f"(config.yaml); found {sorted(p.name for p in path.iterdir())[:20]}"
        )
    if path.suffix in (".yaml", ".yml"):
        return "espnet", None
    if (path.name in _HF_WEIGHTS and (path.parent / "config.json").is_file()) or file_kind(path) == "safetensors":
        return "hf", None
    obj = read_torch_file(path)
    for fmt, test in (
        ("s3prl", looks_like_s3prl),
        ("fairseq", looks_like_fairseq),
        ("espnet", looks_like_espnet_state),
        ("torchaudio", looks_like_torchaudio),
    ):
        if test(obj):
            return fmt, obj
    raise TeacherFormatError(_unrecognised(path, obj))


def _unrecognised(path: Path, obj: Any) -> str:
    if is_tensor_mapping(obj) and any(k.startswith(_FAIRSEQ_NAMES) for k in obj):
        return (
            f"{path} holds fairseq-named weights without their config; a fairseq checkpoint needs 'cfg' "
            "(or 'args') beside 'model'"
        )
    found = sorted(obj)[:12] if isinstance(obj, dict) else type(obj).__name__
    return (
        f"{path} is not a recognised teacher checkpoint (top-level keys {found}); expected a fairseq HuBERT "
        "checkpoint (model + cfg/args), an s3prl-converted one (task_cfg, model_cfg, model_weight, "
        "dictionaries_symbols), a torchaudio state dict or {config, state_dict}, an ESPnet HuBERT model file, "
        "or a HuggingFace / ESPnet directory"
    )


def _canonical_format(format: Optional[str]) -> Optional[str]:
    if format is None:
        return None
    fmt = _ALIASES.get(str(format).lower(), str(format).lower())
    if fmt not in FORMATS:
        raise TeacherFormatError(f"format must be one of {list(FORMATS)} (or 'huggingface'), found {format!r}")
    return fmt


def parse_dtype(value: Union[str, torch.dtype, None]) -> Optional[torch.dtype]:
    """``bf16``/``fp16``/``fp32`` strings or a ``torch.dtype`` -> the autocast dtype (``None`` = fp32)."""
    if value is None or isinstance(value, torch.dtype):
        return None if value in (None, torch.float32) else value
    key = str(value).lower().replace("torch.", "")
    if key not in _DTYPES:
        raise TeacherFormatError(f"autocast_dtype must be one of {sorted(_DTYPES)} or a torch.dtype, found {value!r}")
    return _DTYPES[key]
