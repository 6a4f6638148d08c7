"""fairseq and s3prl-converted HuBERT checkpoints, written without fairseq (see :mod:`.teachers`).

Independent of the package's writer (:func:`espnet_distill.teacher.save_fairseq_checkpoint`) on
purpose: the names are spelled out module by module, and the dictionary is pickled by Python's
own pickler behind placeholder ``fairseq`` modules that live in ``sys.modules`` only while it
writes (test code; the package's writer plants nothing).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any, Callable, Dict, Iterator

import torch
from torch import Tensor, nn

from espnet_distill.teacher.config import BackboneConfig


# -- fairseq ---------------------------------------------------------------------------------
def fairseq_state_dict(model: nn.Module) -> Dict[str, Tensor]:
    """fairseq ``HubertModel`` parameter names for a torchaudio HuBERT (written module by module)."""
    w2v = getattr(model, "wav2vec2", model)
    out: Dict[str, Tensor] = {}
    for i, block in enumerate(w2v.feature_extractor.conv_layers):
        out[f"feature_extractor.conv_layers.{i}.0.weight"] = block.conv.weight
        if block.conv.bias is not None:
            out[f"feature_extractor.conv_layers.{i}.0.bias"] = block.conv.bias
        if isinstance(block.layer_norm, nn.GroupNorm):  # Sequential(conv, dropout, GroupNorm, GELU)
            out[f"feature_extractor.conv_layers.{i}.2.weight"] = block.layer_norm.weight
            out[f"feature_extractor.conv_layers.{i}.2.bias"] = block.layer_norm.bias
        elif block.layer_norm is not None:  # Sequential(conv, dropout, Sequential(T, LayerNorm, T), GELU)
            out[f"feature_extractor.conv_layers.{i}.2.1.weight"] = block.layer_norm.weight
            out[f"feature_extractor.conv_layers.{i}.2.1.bias"] = block.layer_norm.bias
    projection = w2v.encoder.feature_projection
    out["layer_norm.weight"], out["layer_norm.bias"] = projection.layer_norm.weight, projection.layer_norm.bias
    out["post_extract_proj.weight"], out["post_extract_proj.bias"] = (
        projection.projection.weight,
        projection.projection.bias,
    )
    transformer = w2v.encoder.transformer
    pos_conv = transformer.pos_conv_embed.conv
    out["encoder.pos_conv.0.weight_g"] = pos_conv.parametrizations.weight.original0
    out["encoder.pos_conv.0.weight_v"] = pos_conv.parametrizations.weight.original1
    out["encoder.pos_conv.0.bias"] = pos_conv.bias
    out["encoder.layer_norm.weight"], out["encoder.layer_norm.bias"] = (
        transformer.layer_norm.weight,
        transformer.layer_norm.bias,
    )
    for i, layer in enumerate(transformer.layers):
        modules = {
            "self_attn.q_proj": layer.attention.q_proj,
            "self_attn.k_proj": layer.attention.k_proj,
            "self_attn.v_proj": layer.attention.v_proj,
            "self_attn.out_proj": layer.attention.out_proj,
            "self_attn_layer_norm": layer.layer_norm,
            "fc1": layer.feed_forward.intermediate_dense,
            "fc2": layer.feed_forward.output_dense,
            "final_layer_norm": layer.final_layer_norm,
        }
        for name, module in modules.items():
            out[f"encoder.layers.{i}.{name}.weight"], out[f"encoder.layers.{i}.{name}.bias"] = (
                module.weight,
                module.bias,
            )
    head = getattr(model, "logit_generator", None)
    if head is not None:
        out["final_proj.weight"], out["final_proj.bias"] = head.final_proj.weight, head.final_proj.bias
        out["label_embs_concat"] = head.label_embeddings
        out["mask_emb"] = model.mask_generator.mask_embedding
    return {k: v.detach().clone() for k, v in out.items()}


def fairseq_model_cfg(
    config: BackboneConfig, *, final_dim: int = 0, logit_temp: float = 0.1, label_rate: float = 50.0
) -> Dict[str, Any]:
    """fairseq ``HubertConfig`` as a checkpoint stores it (``OmegaConf.to_container``)."""
    conv = " + ".join(f"[({c},{k},{s})]" for c, k, s in config.extractor_conv_layer_config)
    return {
        "_name": "hubert",
        "label_rate": label_rate,
        "extractor_mode": "default" if config.extractor_mode == "group_norm" else "layer_norm",
        "encoder_layers": config.encoder_num_layers,
        "encoder_embed_dim": config.encoder_embed_dim,
        "encoder_ffn_embed_dim": config.encoder_ff_interm_features,
        "encoder_attention_heads": config.encoder_num_heads,
        "activation_fn": "gelu",
        "layer_type": "transformer",
        "dropout": 0.1,
        "attention_dropout": 0.1,
        "activation_dropout": 0.0,
        "encoder_layerdrop": 0.05,
        "dropout_input": 0.1,
        "dropout_features": 0.1,
        "final_dim": final_dim,
        "untie_final_proj": False,
        "layer_norm_first": config.encoder_layer_norm_first,
        "conv_feature_layers": conv,
        "conv_bias": config.extractor_conv_bias,
        "logit_temp": logit_temp,
        "target_glu": False,
        "feature_grad_mult": 0.1,
        "mask_length": 10,
        "mask_prob": 0.8,
        "mask_selection": "static",
        "mask_other": 0.0,
        "no_mask_overlap": False,
        "mask_min_space": 1,
        "mask_channel_length": 10,
        "mask_channel_prob": 0.0,
        "mask_channel_selection": "static",
        "mask_channel_other": 0.0,
        "no_mask_channel_overlap": False,
        "mask_channel_min_space": 1,
        "conv_pos": config.encoder_pos_conv_kernel,
        "conv_pos_groups": config.encoder_pos_conv_groups,
        "latent_temp": [2.0, 0.5, 0.999995],
        "skip_masked": False,
        "skip_nomask": False,
        "checkpoint_activations": False,
        "required_seq_len_multiple": 2,
    }


def fairseq_task_cfg(normalize: bool, label_rate: float = 50.0) -> Dict[str, Any]:
    """fairseq ``HubertPretrainingConfig`` as a checkpoint stores it."""
    return {
        "_name": "hubert_pretraining",
        "data": "/data/librispeech",
        "fine_tuning": False,
        "labels": ["km"],
        "label_dir": "/data/labels",
        "label_rate": label_rate,
        "sample_rate": 16000,
        "normalize": normalize,
        "enable_padding": False,
        "max_keep_size": None,
        "max_sample_size": 250000,
        "min_sample_size": 32000,
        "single_target": False,
        "random_crop": True,
        "pad_audio": False,
    }


def fairseq_symbols(num_units: int) -> list:
    """A fairseq dictionary's symbols: 4 specials, then the k-means labels ``0..K-5``."""
    return ["<s>", "<pad>", "</s>", "<unk>"] + [str(i) for i in range(num_units - 4)]


class _Dictionary:
    """Pickled under fairseq's name; same attributes as ``fairseq.data.dictionary.Dictionary``."""

    def __init__(self, symbols):
        self.bos_word, self.unk_word, self.pad_word, self.eos_word = "<s>", "<unk>", "<pad>", "</s>"
        self.symbols = list(symbols)
        self.count = [1] * len(self.symbols)
        self.indices = {s: i for i, s in enumerate(self.symbols)}
        self.bos_index, self.pad_index, self.eos_index, self.unk_index = 0, 1, 2, 3
        self.nspecial = 4


@contextlib.contextmanager
def _fairseq_dictionary_class() -> Iterator[type]:
    """The class to pickle as ``fairseq.data.dictionary.Dictionary``: fairseq's own if installed,
    else :class:`_Dictionary` behind temporary placeholder modules (removed afterwards)."""
    if importlib.util.find_spec("fairseq") is not None:  # pragma: no cover - fairseq is not a dependency
        from fairseq.data.dictionary import Dictionary

        yield Dictionary
        return
    names = ["fairseq", "fairseq.data", "fairseq.data.dictionary"]
    added = [n for n in names if n not in sys.modules]
    for name in added:
        sys.modules[name] = types.ModuleType(name)
    module = sys.modules["fairseq.data.dictionary"]
    previous = (_Dictionary.__module__, _Dictionary.__qualname__)
    _Dictionary.__module__, _Dictionary.__qualname__ = "fairseq.data.dictionary", "Dictionary"
    module.Dictionary = _Dictionary
    try:
        yield _Dictionary
    finally:
        _Dictionary.__module__, _Dictionary.__qualname__ = previous
        for name in added:
            sys.modules.pop(name, None)


def _make_dictionary(cls: type, symbols) -> Any:
    if cls is _Dictionary:
        return _Dictionary(symbols)
    dictionary = cls()  # pragma: no cover - real fairseq
    for symbol in symbols[4:]:  # pragma: no cover
        dictionary.add_symbol(symbol)
    return dictionary  # pragma: no cover


def save_fairseq_checkpoint(
    model: nn.Module,
    config: BackboneConfig,
    path: Path,
    *,
    normalize: bool = False,
    style: str = "cfg",
    logit_temp: float = 0.1,
) -> Path:
    """Write a torchaudio HuBERT as a fairseq HuBERT pre-training checkpoint.

    Args:
        model: a torchaudio ``HuBERTPretrainModel`` (or a ``Wav2Vec2Model``: no unit head).
        config: its architecture.
        path: the ``.pt`` file.
        normalize: ``task.normalize`` (True for HuBERT Large).
        style: ``cfg`` (a config dict, as fairseq >= 0.12 writes), ``args`` (an argparse
            Namespace, older fairseq) or ``released`` (as the released ``hubert_base_ls960.pt``
            family: ``cfg`` an omegaconf ``DictConfig`` with ``${task.label_rate}``
            interpolations, numpy values in the optimizer history and training statistics).
        logit_temp: ``model.logit_temp``.
    """
    head = getattr(model, "logit_generator", None)
    final_dim = int(head.final_proj.out_features) if head is not None else 0
    num_units = int(head.label_embeddings.shape[0]) if head is not None else 504
    model_cfg = fairseq_model_cfg(config, final_dim=final_dim, logit_temp=logit_temp)
    task_cfg = fairseq_task_cfg(normalize)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _fairseq_dictionary_class() as dictionary_cls:
        ckpt: Dict[str, Any] = {
            "model": fairseq_state_dict(model),
            "task_state": {"dictionaries": [_make_dictionary(dictionary_cls, fairseq_symbols(num_units))]},
            "criterion": None,
            "optimizer_history": [
                {
                    "criterion_name": "HubertCriterion",
                    "optimizer_name": "FairseqAdam",
                    "lr_scheduler_state": {"best": 3.25},
                    "num_updates": 400000,
                }
            ],
            "extra_state": {
                "metrics": {},
                "previous_training_time": 1234.5,
                "train_iterator": {"epoch": 300, "iterations_in_epoch": 0},
            },
        }
        if style == "cfg":
            ckpt["args"] = None
            ckpt["cfg"] = {
                "_name": None,
                "common": {"seed": 1337, "fp16": True},
                "model": model_cfg,
                "task": task_cfg,
                "criterion": {"_name": "hubert", "pred_masked_weight": 1.0},
            }
        elif style == "released":
            import numpy as np
            from omegaconf import OmegaConf

            model_cfg = {**model_cfg, "label_rate": "${task.label_rate}"}
            ckpt["args"] = None
            ckpt["cfg"] = OmegaConf.create({
                "_name": None,
                "common": {"seed": 1337, "fp16": True},
                "model": model_cfg,
                "task": task_cfg,
                "criterion": {"_name": "hubert", "pred_masked_weight": 1.0, "loss_weights": [10.0]},
            })
            ckpt["optimizer_history"][0]["lr_scheduler_state"]["best"] = np.float64(3.25)
            ckpt["extra_state"]["metrics"] = {"train": [("loss", 0, "AverageMeter",
                                                         {"val": np.float64(3.1), "count": np.int64(4096),
                                                          "history": np.arange(4, dtype=np.float32)})]}
        elif style == "args":
            flat = {k: v for k, v in {**task_cfg, **model_cfg}.items() if k != "_name"}
            ckpt["args"] = argparse.Namespace(arch="hubert", task="hubert_pretraining", **flat)
        else:
            raise ValueError(f"style must be 'cfg', 'args' or 'released', found {style!r}")
        torch.save(ckpt, path)
    return path


def edit_fairseq_checkpoint(path: Path, edit: Callable[[Dict[str, Any]], None]) -> Path:
    """Read a fairseq checkpoint safely, apply ``edit`` to the dict in place, write it back.

    The dictionaries are pickled under fairseq's class name again, so tests can damage
    a checkpoint (drop keys, change the config) and still have a real fairseq layout.
    """
    from espnet_distill.teacher.checkpoint_io import FairseqDictionary, read_torch_file

    path = Path(path)
    ckpt = read_torch_file(path)
    edit(ckpt)
    with _fairseq_dictionary_class() as dictionary_cls:
        dicts = (ckpt.get("task_state") or {}).get("dictionaries") or []
        for i, d in enumerate(dicts):
            if isinstance(d, FairseqDictionary):
                dicts[i] = _make_dictionary(dictionary_cls, d.symbols)
        torch.save(ckpt, path)
    return path


def save_s3prl_checkpoint(model: nn.Module, config: BackboneConfig, path: Path, *, normalize: bool = False) -> Path:
    """Write a torchaudio HuBERT in s3prl's converted layout (``hubert_local`` reads it)."""
    head = model.logit_generator
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "task_cfg": fairseq_task_cfg(normalize),
            "model_cfg": fairseq_model_cfg(config, final_dim=int(head.final_proj.out_features)),
            "model_weight": fairseq_state_dict(model),
            "dictionaries_symbols": [fairseq_symbols(int(head.label_embeddings.shape[0]))],
        },
        path,
    )
    return path
