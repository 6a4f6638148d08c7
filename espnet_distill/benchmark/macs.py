"""Multiply-accumulates per second of audio, counted by ``torch.utils.flop_counter``.

``FlopCounterMode`` counts the FLOPs of matrix products and convolutions (mm, addmm,
bmm, convolution, scaled-dot-product attention), forward only here, at 2 FLOPs per
MAC. Element-wise work (norms, GELU, masks) and the FFT of the fbank are not counted,
so the fbank front-end's count is its mel projection, Conv1d subsampler and Linear.

Attention: torch has no formula for the CPU kernel of ``scaled_dot_product_attention``
(``_scaled_dot_product_flash_attention_for_cpu``), so it counted 0 for the attention of
every model here on CPU; :func:`mac_counter` adds torch's own SDPA formula for it
(``QK^T`` and ``AV``: ``2 * T^2 * D`` MACs per layer and utterance, D summed over heads).
This is also the SUPERB profiler's convention of counting attention (it traces matmuls).
"""

from __future__ import annotations

import contextlib
from typing import Dict, Iterator, Optional

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

from espnet_distill.benchmark.upstreams import Upstream
from espnet_distill.common import SAMPLE_RATE


def _sdpa_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def mac_counter() -> FlopCounterMode:
    """torch's ``FlopCounterMode`` (no display) that also counts attention on CPU."""
    mapping = {}
    op = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    if op is not None:  # the overload keeps it from being decomposed, the packet is what is counted
        mapping = {op: _sdpa_flops, op.default: _sdpa_flops}
    return FlopCounterMode(display=False, custom_mapping=mapping)


@contextlib.contextmanager
def _frozen(module: torch.nn.Module) -> Iterator[None]:
    """Parameters without ``requires_grad`` for a while.

    ``FlopCounterMode``'s module tracker hooks the gradients of inputs that require grad;
    under inference mode the weight-norm parametrization's inputs (parameters) have no
    grad function and the hook fails, so the count runs on frozen parameters.
    """
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def count_macs(
    upstream: Upstream,
    seconds: float,
    device: torch.device,
    autocast_dtype: Optional[torch.dtype] = None,
    seed: int = 0,
) -> Dict[str, float]:
    """MACs of one forward of ``upstream`` on a ``seconds``-long utterance, per second of audio.

    Returns:
        ``frontend_macs_per_second``, ``encoder_macs_per_second`` and ``macs_per_second``.
    """
    gen = torch.Generator().manual_seed(seed)
    num_samples = int(round(seconds * SAMPLE_RATE))
    wavs = (0.1 * torch.randn(1, num_samples, generator=gen)).to(device)
    lengths = torch.tensor([num_samples], device=device)
    autocast = (
        torch.autocast(device.type, dtype=autocast_dtype) if autocast_dtype is not None else contextlib.nullcontext()
    )
    with _frozen(upstream.module), torch.inference_mode(), autocast:
        with mac_counter() as counter:
            state = upstream.frontend(wavs, lengths)
        frontend = counter.get_total_flops() / 2
        with mac_counter() as counter:
            upstream.encoder(state)
        encoder = counter.get_total_flops() / 2
    return {
        "frontend_macs_per_second": frontend / seconds,
        "encoder_macs_per_second": encoder / seconds,
        "macs_per_second": (frontend + encoder) / seconds,
    }
