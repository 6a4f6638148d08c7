"""Architectures and random HuBERT models for the test checkpoints (see :mod:`.teachers`)."""

from __future__ import annotations

from typing import Any, Dict

import torch
import torchaudio
from torch import nn

from espnet_distill.teacher.config import BackboneConfig

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
