"""HuggingFace directories and ESPnet HuBERT experiments (see :mod:`.teachers`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import torch
from torch import nn

from espnet_distill.teacher.config import BackboneConfig

from tests.oracles.fairseq_files import fairseq_model_cfg, fairseq_state_dict
from tests.oracles.models import randomize_

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
