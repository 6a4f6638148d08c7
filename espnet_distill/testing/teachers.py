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
:func:`make_teacher_checkpoint` does it all in one call for demos.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional

import torch
import torchaudio
from torch import Tensor, nn

from espnet_distill.teacher.config import BackboneConfig
from espnet_distill.teacher.torchaudio_format import save_torchaudio_checkpoint

TINY_CONV = [(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2  # HuBERT framing: stride 320, field 400
FORMATS = ("fairseq", "fairseq_args", "s3prl", "hf", "torchaudio", "torchaudio_raw", "espnet", "espnet_fairseq")


# -- configs and random models ---------------------------------------------------------------
def tiny_config(large: bool = False, **overrides: Any) -> BackboneConfig:
    """A ~0.5 M-parameter HuBERT: 3 layers x 128 (2 heads of 64, FFN 256), 32-channel CNN.

    Args:
        large: HuBERT Large style (layer_norm CNN with conv bias, pre-LN transformer)
            instead of Base style (group_norm CNN, post-LN).
        overrides: :class:`BackboneConfig` fields.
    """
    fields: Dict[str, Any] = dict(
        extractor_mode="layer_norm" if large else "group_norm",
        extractor_conv_layer_config=TINY_CONV,
        extractor_conv_bias=large,
        encoder_embed_dim=128,
        encoder_pos_conv_kernel=16,
        encoder_pos_conv_groups=4,
        encoder_num_layers=3,
        encoder_num_heads=2,
        encoder_ff_interm_features=256,
        encoder_layer_norm_first=large,
    )
    fields.update(overrides)
    return BackboneConfig(**fields)


def base_config() -> BackboneConfig:
    """HuBERT Base: 12 x 768, 12 heads, FFN 3072, 512-channel CNN (94.37 M parameters)."""
    return BackboneConfig()


def randomize_(module: nn.Module, seed: int = 0, scale: float = 0.05) -> nn.Module:
    """Perturb every parameter and buffer so that no two norms or biases are alike.

    Norm weights become ``1 + 2 * scale * N(0, 1)``; other tensors get ``scale * N(0, 1)``
    added (times their own spread for large matrices). A swapped key then changes outputs.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in list(module.named_parameters()) + list(module.named_buffers()):
            if not tensor.is_floating_point():
                continue
            noise = torch.randn(tensor.shape, generator=gen)
            if "norm" in name and tensor.ndim == 1 and name.endswith("weight"):
                tensor.copy_(1.0 + 2 * scale * noise)
            else:
                spread = float(tensor.std()) if tensor.numel() > 1 and float(tensor.std()) > 0 else 1.0
                tensor.add_(scale * spread * noise if tensor.ndim > 1 else scale * noise)
    return module


def random_hubert_pretrain(
    config: BackboneConfig, *, num_units: int = 24, codeword_dim: int = 16, seed: int = 0
) -> nn.Module:
    """A random torchaudio ``HuBERTPretrainModel`` (backbone + unit head), in eval mode.

    Args:
        config: the backbone (``model_type`` hubert).
        num_units: K, rows of the label embeddings (504 in HuBERT Base: 500 + 4 specials).
        codeword_dim: C, the projection size (256 in HuBERT Base).
        seed: for the weights.
    """
    torch.manual_seed(seed)
    kwargs = config.torchaudio_kwargs()
    kwargs.pop("aux_num_out")
    model = torchaudio.models.hubert_pretrain_model(
        **kwargs,
        mask_prob=0.8,
        mask_selection="static",
        mask_other=0.0,
        mask_length=10,
        no_mask_overlap=False,
        mask_min_space=1,
        mask_channel_prob=0.0,
        mask_channel_selection="static",
        mask_channel_other=0.0,
        mask_channel_length=10,
        no_mask_channel_overlap=False,
        mask_channel_min_space=1,
        skip_masked=False,
        skip_nomask=False,
        num_classes=num_units,
        final_dim=codeword_dim,
        feature_grad_mult=None,
    )
    return randomize_(model, seed).eval()


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
        style: ``cfg`` (a config dict, fairseq >= 0.10) or ``args`` (an argparse Namespace).
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
        elif style == "args":
            flat = {k: v for k, v in {**task_cfg, **model_cfg}.items() if k != "_name"}
            ckpt["args"] = argparse.Namespace(arch="hubert", task="hubert_pretraining", **flat)
        else:
            raise ValueError(f"style must be 'cfg' or 'args', found {style!r}")
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


# -- torchaudio ------------------------------------------------------------------------------
def save_torchaudio_state_dict(model: nn.Module, path: Path) -> Path:
    """Write ``model.state_dict()`` alone (the raw layout: the loader infers the config)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path


# -- HuggingFace -----------------------------------------------------------------------------
def hf_config(config: BackboneConfig):
    """The transformers config (``HubertConfig`` / ``WavLMConfig`` / ``Wav2Vec2Config``) of ``config``, no dropout."""
    import transformers

    classes = {
        "hubert": transformers.HubertConfig,
        "wavlm": transformers.WavLMConfig,
        "wav2vec2": transformers.Wav2Vec2Config,
    }
    kwargs: Dict[str, Any] = dict(
        hidden_size=config.encoder_embed_dim,
        num_hidden_layers=config.encoder_num_layers,
        num_attention_heads=config.encoder_num_heads,
        intermediate_size=config.encoder_ff_interm_features,
        conv_dim=[c for c, _, _ in config.extractor_conv_layer_config],
        conv_kernel=[k for _, k, _ in config.extractor_conv_layer_config],
        conv_stride=[s for _, _, s in config.extractor_conv_layer_config],
        conv_bias=config.extractor_conv_bias,
        feat_extract_norm=config.extractor_mode.replace("_norm", ""),
        do_stable_layer_norm=config.encoder_layer_norm_first,
        num_conv_pos_embeddings=config.encoder_pos_conv_kernel,
        num_conv_pos_embedding_groups=config.encoder_pos_conv_groups,
        hidden_dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        feat_proj_dropout=0.0,
        layerdrop=0.0,
        apply_spec_augment=False,
        vocab_size=12,
    )
    if config.model_type == "wavlm":
        kwargs.update(num_buckets=config.encoder_num_buckets, max_bucket_distance=config.encoder_max_distance)
    return classes[config.model_type](**kwargs)


def save_hf_directory(
    config: BackboneConfig, out_dir: Path, *, seed: int = 0, weights: str = "safetensors", ctc: bool = False
) -> nn.Module:
    """Write a random transformers model with ``save_pretrained`` and return it (eval mode).

    Args:
        config: architecture; ``model_type`` picks ``HubertModel`` / ``WavLMModel`` / ``Wav2Vec2Model``.
        out_dir: the directory.
        seed: for the weights.
        weights: ``safetensors`` (``save_pretrained``) or ``bin`` (``pytorch_model.bin`` + config.json).
        ctc: save the ``*ForCTC`` model (base model under ``hubert.`` & co., plus ``lm_head``).
    """
    import transformers

    names = {"hubert": "Hubert", "wavlm": "WavLM", "wav2vec2": "Wav2Vec2"}
    cls = getattr(transformers, names[config.model_type] + ("ForCTC" if ctc else "Model"))
    torch.manual_seed(seed)
    model = randomize_(cls(hf_config(config)), seed).eval()
    out_dir = Path(out_dir)
    if weights == "safetensors":
        model.save_pretrained(out_dir)
    elif weights == "bin":
        out_dir.mkdir(parents=True, exist_ok=True)
        model.config.save_pretrained(out_dir)
        torch.save(model.state_dict(), out_dir / "pytorch_model.bin")
    else:
        raise ValueError(f"weights must be 'safetensors' or 'bin', found {weights!r}")
    return model


# -- ESPnet ----------------------------------------------------------------------------------
def espnet_encoder_conf(config: BackboneConfig, codeword_dim: int) -> Dict[str, Any]:
    """``encoder_conf`` of an ESPnet ``torchaudio_hubert`` experiment for ``config``."""
    fields = config.torchaudio_kwargs()
    keep = (
        "extractor_mode",
        "extractor_conv_bias",
        "encoder_embed_dim",
        "encoder_pos_conv_kernel",
        "encoder_pos_conv_groups",
        "encoder_num_layers",
        "encoder_num_heads",
        "encoder_ff_interm_features",
        "encoder_layer_norm_first",
    )
    conf = {k: fields[k] for k in keep}
    conf["extractor_conv_layer_config"] = [list(t) for t in config.extractor_conv_layer_config]
    conf.update(
        final_dim=codeword_dim,
        encoder_layer_drop=0.0,
        encoder_dropout=0.0,
        encoder_attention_dropout=0.0,
        encoder_projection_dropout=0.0,
    )
    return conf


def save_espnet_experiment(
    config: BackboneConfig, out_dir: Path, *, num_units: int = 24, codeword_dim: int = 16, seed: int = 0
) -> nn.Module:
    """Build a HuBERT with ESPnet's ``HubertTask.build_model`` and save it as ESPnet's trainer does.

    Writes ``out_dir/config.yaml`` (every argument, ``yaml_no_alias_safe_dump(vars(args))``)
    and ``out_dir/valid.loss.ave.pth`` (``model.state_dict()``). Returns ESPnet's
    ``TorchAudioHubertPretrainModel`` in eval mode.
    """
    import yaml
    from espnet2.tasks.hubert import HubertTask
    from espnet2.utils.yaml_no_alias_safe_dump import yaml_no_alias_safe_dump

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    token_list = out_dir / "tokens.txt"
    token_list.write_text("".join(f"{i}\n" for i in range(num_units)))
    args = HubertTask.get_parser().parse_args(
        [
            "--output_dir",
            str(out_dir),
            "--token_list",
            str(token_list),
            "--input_size",
            "1",
            "--normalize",
            "none",
            "--num_classes",
            str(num_units),
            "--model",
            "torchaudio",
            "--encoder",
            "torchaudio_hubert",
            "--encoder_conf",
            yaml.safe_dump(espnet_encoder_conf(config, codeword_dim)),
        ]
    )
    torch.manual_seed(seed)
    model = HubertTask.build_model(args)
    randomize_(model, seed).eval()
    with (out_dir / "config.yaml").open("w", encoding="utf-8") as f:
        yaml_no_alias_safe_dump(vars(args), f, indent=4, sort_keys=False)
    torch.save(model.state_dict(), out_dir / "valid.loss.ave.pth")
    return model


def save_espnet_fairseq_experiment(model: nn.Module, config: BackboneConfig, out_dir: Path) -> Path:
    """Files of an ESPnet ``encoder: hubert_pretrain`` (fairseq-based) experiment for a torchaudio HuBERT.

    ESPnet's ``FairseqHubertPretrainEncoder`` needs fairseq to be built, so this writes what
    it would save: ``config.yaml`` (ESPnet's encoder argument names) and
    ``valid.loss.ave.pth`` with the fairseq ``HubertModel`` under ``encoder.encoder.``.
    """
    import yaml

    head = model.logit_generator
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fairseq_cfg = fairseq_model_cfg(config, final_dim=int(head.final_proj.out_features))
    encoder_conf = {
        "output_size": config.encoder_embed_dim,
        "linear_units": config.encoder_ff_interm_features,
        "attention_heads": config.encoder_num_heads,
        "num_blocks": config.encoder_num_layers,
        "label_rate": 50,
        "hubert_dict": str(out_dir / "dict.txt"),
        "final_dim": fairseq_cfg["final_dim"],
        **{
            k: fairseq_cfg[k]
            for k in (
                "extractor_mode",
                "conv_feature_layers",
                "conv_bias",
                "conv_pos",
                "conv_pos_groups",
                "layer_norm_first",
            )
        },
    }
    args = {
        "output_dir": str(out_dir),
        "input_size": 1,
        "frontend": None,
        "frontend_conf": {},
        "specaug": None,
        "normalize": None,
        "normalize_conf": {},
        "preencoder": None,
        "encoder": "hubert_pretrain",
        "encoder_conf": encoder_conf,
        "model": "fairseq",
        "model_conf": {},
        "num_classes": int(head.label_embeddings.shape[0]),
    }
    (out_dir / "config.yaml").write_text(yaml.safe_dump(args, sort_keys=False))
    state = {"encoder.encoder." + k: v for k, v in fairseq_state_dict(model).items()}
    torch.save(state, out_dir / "valid.loss.ave.pth")
    return out_dir


# -- one call for demos ----------------------------------------------------------------------
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
