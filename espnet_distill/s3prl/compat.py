"""Compatibility shims that let s3prl's legacy code run on today's torch/torchaudio/hub.

Every shim only *adds* what is missing, so each is a no-op where the environment
already provides it, and :func:`apply_compat` is idempotent. Two levels:

- :func:`apply_import_shims` (cheap, applied by :func:`espnet_distill.s3prl.register`):
  what ``import s3prl.hub`` needs on torchaudio >= 2.9 with the original
  ``s3prl==0.4.18`` (``torchaudio.set_audio_backend``, ``torchaudio.sox_effects``).
  ``espnet-s3prl`` imports without them.
- :func:`apply_compat` (only in the entry modules ``espnet_distill.bin.run_downstream``
  and ``espnet_distill.bin.s3prl_main``): the above, plus what the SUPERB runners need:
  ``huggingface_hub.HfFolder`` / ``Repository`` (removed in huggingface_hub 1.0; only
  used for ``--hub huggingface`` / pushing), ``torchaudio.load`` through soundfile when
  TorchCodec is not installed (torchaudio 2.11 reads files only through TorchCodec +
  FFmpeg), ``argparse.Namespace`` allow-listed for ``torch.load`` (s3prl's runner
  checkpoints pickle their ``Args``; torch >= 2.6 loads with ``weights_only=True``), and
  ``torch.utils.tensorboard`` served by tensorboardX (same ``SummaryWriter`` API) when
  the ``tensorboard`` package is missing (``s3prl.problem`` imports it).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
import types
from typing import List

_LG = logging.getLogger(__name__)


def _unavailable(what: str, why: str):
    def stub(*args, **kwargs):
        raise RuntimeError(f"{what} is not available here: {why}")

    stub.__name__ = what.rsplit(".", 1)[-1]
    return stub


def apply_import_shims() -> List[str]:
    """Add the torchaudio attributes s3prl's modules touch at import time.

    Returns:
        The names of the shims applied by this call (empty when nothing was missing).
    """
    import torchaudio

    applied = []
    if not hasattr(torchaudio, "set_audio_backend"):
        torchaudio.set_audio_backend = lambda *args, **kwargs: None  # backends are gone; choosing one is moot
        applied.append("torchaudio.set_audio_backend")
    if "torchaudio.sox_effects" not in sys.modules and importlib.util.find_spec("torchaudio.sox_effects") is None:
        module = types.ModuleType("torchaudio.sox_effects")
        why = "torchaudio >= 2.9 removed sox_effects"
        module.apply_effects_tensor = _unavailable("torchaudio.sox_effects.apply_effects_tensor", why)
        module.apply_effects_file = _unavailable("torchaudio.sox_effects.apply_effects_file", why)
        sys.modules["torchaudio.sox_effects"] = module
        torchaudio.sox_effects = module
        applied.append("torchaudio.sox_effects")
    if applied:
        _LG.debug("s3prl import shims: %s", ", ".join(applied))
    return applied


def apply_compat() -> List[str]:
    """Apply every shim s3prl's ``run_downstream`` / ``s3prl-main`` need here.

    Returns:
        The names of the shims applied by this call.
    """
    applied = apply_import_shims()
    applied += _huggingface_hub_shims()
    applied += _torchaudio_load_shim()
    applied += _torch_load_allowlist()
    applied += _tensorboard_shim()
    if applied:
        _LG.info("s3prl compatibility shims applied: %s", ", ".join(applied))
    return applied


def _huggingface_hub_shims() -> List[str]:
    import huggingface_hub

    applied = []
    why = f"huggingface_hub {huggingface_hub.__version__} removed it (s3prl uses it only for --hub huggingface / push)"
    for name in ("HfFolder", "Repository"):
        if hasattr(huggingface_hub, name):
            continue
        # s3prl imports these names at module level; any use of them raises.
        members = {attr: staticmethod(_unavailable(f"huggingface_hub.{name}.{attr}", why))
                   for attr in ("get_token", "save_token")}
        members["__init__"] = _unavailable(f"huggingface_hub.{name}", why)
        setattr(huggingface_hub, name, type(name, (), members))
        applied.append(f"huggingface_hub.{name}")
    return applied


def _torchaudio_load_shim() -> List[str]:
    import torchaudio

    if importlib.util.find_spec("torchcodec") is not None or getattr(torchaudio.load, "_espnet_distill_shim", False):
        return []
    torchaudio.load = soundfile_load
    return ["torchaudio.load (soundfile)"]


def soundfile_load(uri, frame_offset: int = 0, num_frames: int = -1, normalize: bool = True,
                   channels_first: bool = True, format=None, buffer_size: int = 4096, backend=None):
    """``torchaudio.load`` look-alike on soundfile: WAV, FLAC, OGG, NIST SPHERE, ...

    Returns:
        ``(waveform, sample_rate)``; waveform ``(channels, frames)`` float32 in [-1, 1]
        (``(frames, channels)`` with ``channels_first=False``).

    Raises:
        espnet_distill.data.audio.AudioError: naming the file, for a truncated WAV or NaN /
            infinite samples (s3prl's datasets would train on them silently).
    """
    import soundfile
    import torch

    from espnet_distill.data.audio import audio_info, check_samples

    if not normalize:
        raise ValueError("soundfile_load: normalize=False (integer samples) is not supported; "
                         "install torchcodec and ffmpeg for it")
    stop = None if num_frames is None or num_frames < 0 else frame_offset + num_frames
    if isinstance(uri, (str, bytes)) or hasattr(uri, "__fspath__"):
        audio_info(uri)  # missing, unreadable, truncated: an error that names the file
    data, rate = soundfile.read(uri, start=frame_offset, stop=stop, dtype="float32", always_2d=True)
    check_samples(data, str(uri))
    wav = torch.from_numpy(data)  # (frames, channels)
    return (wav.t().contiguous() if channels_first else wav), rate


soundfile_load._espnet_distill_shim = True


def _torch_load_allowlist() -> List[str]:
    import torch

    if argparse.Namespace in torch.serialization.get_safe_globals():
        return []
    torch.serialization.add_safe_globals([argparse.Namespace])
    return ["torch.load allows argparse.Namespace"]


def _tensorboard_shim() -> List[str]:
    if importlib.util.find_spec("tensorboard") is not None or "torch.utils.tensorboard" in sys.modules:
        return []
    if importlib.util.find_spec("tensorboardX") is None:
        return []  # nothing to offer; the import error will name the missing package
    from tensorboardX import SummaryWriter

    package = types.ModuleType("torch.utils.tensorboard")
    writer = types.ModuleType("torch.utils.tensorboard.writer")
    package.SummaryWriter = writer.SummaryWriter = SummaryWriter
    package.writer = writer
    sys.modules["torch.utils.tensorboard"] = package
    sys.modules["torch.utils.tensorboard.writer"] = writer
    return ["torch.utils.tensorboard (tensorboardX)"]
