"""Known teacher names for users with network access; never used by the tests.

Downloads happen only behind explicit names, into a download directory
(``download_dir``, default ``$ESPNET_DISTILL_CACHE`` or ``~/.cache/espnet_distill/teachers``):

- fairseq checkpoints by name (``hubert_base_ls960``, ``hubert_large_ll60k``,
  ``hubert_xtralarge_ll60k``; also ``fairseq:<name>``): :data:`FAIRSEQ_URLS`;
- HuggingFace hub ids as ``hf:<repo id>`` (any id) or a bare id from :data:`HF_IDS`,
  through ``huggingface_hub.snapshot_download``;
- torchaudio bundles as ``torchaudio:<BUNDLE>`` (``torchaudio:HUBERT_BASE``, ``HUBERT_LARGE``,
  ``HUBERT_XLARGE``, ``WAVLM_BASE_PLUS``, ...), regression-only (no unit head).

A file already in the download directory is used as is. With ``HF_HUB_OFFLINE`` or
``ESPNET_DISTILL_OFFLINE`` set, nothing is downloaded: a missing file is an immediate
error saying where to put it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from espnet_distill.teacher.config import BackboneConfig, TeacherFormatError

_LG = logging.getLogger(__name__)

FAIRSEQ_URLS: Dict[str, str] = {
    "hubert_base_ls960": "https://dl.fbaipublicfiles.com/hubert/hubert_base_ls960.pt",
    "hubert_large_ll60k": "https://dl.fbaipublicfiles.com/hubert/hubert_large_ll60k.pt",
    "hubert_xtralarge_ll60k": "https://dl.fbaipublicfiles.com/hubert/hubert_xtralarge_ll60k.pt",
}
HF_IDS = (
    "facebook/hubert-base-ls960",
    "facebook/hubert-large-ll60k",
    "facebook/hubert-xlarge-ll60k",
    "microsoft/wavlm-base",
    "microsoft/wavlm-base-plus",
    "microsoft/wavlm-large",
    "facebook/wav2vec2-base",
    "facebook/wav2vec2-large-lv60",
)
_TRUE = ("1", "true", "yes", "on")
_HF_PATTERNS = (
    ["config.json", "preprocessor_config.json", "*.safetensors", "model.safetensors.index.json"],
    ["config.json", "preprocessor_config.json", "pytorch_model.bin"],
)


def default_download_dir() -> Path:
    return Path(os.environ.get("ESPNET_DISTILL_CACHE", Path.home() / ".cache" / "espnet_distill" / "teachers"))


def is_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` or ``ESPNET_DISTILL_OFFLINE`` is set to a true value."""
    return any(os.environ.get(v, "").strip().lower() in _TRUE for v in ("HF_HUB_OFFLINE", "ESPNET_DISTILL_OFFLINE"))


def known_names() -> List[str]:
    return sorted(FAIRSEQ_URLS) + list(HF_IDS) + ["hf:<repo id>", "torchaudio:<BUNDLE>"]


def parse_name(name: str) -> Optional[Tuple[str, str]]:
    """``(kind, what)`` for a known name (``fairseq``/``hf``/``torchaudio``), else ``None``."""
    if name.startswith("fairseq:") and name[len("fairseq:") :] in FAIRSEQ_URLS:
        return "fairseq", name[len("fairseq:") :]
    if name in FAIRSEQ_URLS:
        return "fairseq", name
    if name.startswith("hf:") and len(name) > 3:
        return "hf", name[3:]
    if name in HF_IDS:
        return "hf", name
    if name.startswith("torchaudio:") and len(name) > len("torchaudio:"):
        return "torchaudio", name[len("torchaudio:") :]
    return None


def fetch_fairseq(name: str, download_dir: Optional[Path] = None) -> Path:
    """The local path of a known fairseq checkpoint, downloading it unless offline."""
    url = FAIRSEQ_URLS[name]
    target = Path(download_dir or default_download_dir()) / f"{name}.pt"
    if target.is_file():
        return target
    if is_offline():
        raise TeacherFormatError(
            f"teacher {name!r} is not in {target} and downloads are disabled (HF_HUB_OFFLINE / "
            f"ESPNET_DISTILL_OFFLINE); download {url} to that path"
        )
    import torch

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".pt.partial")
    _LG.info("downloading %s to %s", url, target)
    torch.hub.download_url_to_file(url, str(partial), progress=True)
    partial.replace(target)
    return target


def fetch_hf(repo_id: str, download_dir: Optional[Path] = None) -> Path:
    """A local snapshot of a HuggingFace model (config and weights only)."""
    from huggingface_hub import snapshot_download

    cache = Path(download_dir or default_download_dir()) / "hf"
    offline = is_offline()
    last_error: Optional[Exception] = None
    for patterns in _HF_PATTERNS:
        try:
            path = Path(
                snapshot_download(repo_id, cache_dir=str(cache), allow_patterns=patterns, local_files_only=offline)
            )
        except Exception as e:  # huggingface_hub raises many error types (offline, not found, HTTP)
            last_error = e
            continue
        if any(
            (path / f).is_file() for f in ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
        ):
            return path
    how = (
        "downloads are disabled (HF_HUB_OFFLINE / ESPNET_DISTILL_OFFLINE) and it is not cached"
        if offline
        else "download failed"
    )
    raise TeacherFormatError(f"HuggingFace model {repo_id!r}: {how} in {cache}: {last_error}") from last_error


def load_torchaudio_bundle(name: str, download_dir: Optional[Path] = None, normalize_waveform: Optional[bool] = None):
    """A :class:`~espnet_distill.teacher.base.Teacher` from a ``torchaudio.pipelines`` bundle (no unit head).

    Reads the bundle's architecture, weight file name and input normalisation from its
    (private, stable since torchaudio 0.10) attributes ``_params``, ``_model_type``,
    ``_path`` and ``_normalize_waveform``; the weights go to ``download_dir/torchaudio``.
    """
    import torchaudio

    from espnet_distill.teacher.torchaudio_format import teacher_from_torchaudio_state

    bundle = getattr(torchaudio.pipelines, name, None)
    if not isinstance(bundle, torchaudio.pipelines.Wav2Vec2Bundle):
        choices = sorted(
            n
            for n in dir(torchaudio.pipelines)
            if isinstance(getattr(torchaudio.pipelines, n), torchaudio.pipelines.Wav2Vec2Bundle)
        )
        raise TeacherFormatError(
            f"torchaudio bundle {name!r} is not a wav2vec 2.0 / HuBERT / WavLM bundle; choose from {choices}"
        )
    model_dir = Path(download_dir or default_download_dir()) / "torchaudio"
    if is_offline() and not (model_dir / Path(bundle._path).name).is_file():
        raise TeacherFormatError(
            f"torchaudio bundle {name} is not in {model_dir} and downloads are disabled "
            "(HF_HUB_OFFLINE / ESPNET_DISTILL_OFFLINE)"
        )
    config = BackboneConfig.from_dict(
        {**bundle._params, "model_type": "wavlm" if bundle._model_type == "WavLM" else "hubert"}
    )
    state = bundle._get_state_dict({"model_dir": str(model_dir), "weights_only": True})
    normalize = bundle._normalize_waveform if normalize_waveform is None else normalize_waveform
    return teacher_from_torchaudio_state(
        state,
        what=f"torchaudio bundle {name}",
        source=f"torchaudio:{name}",
        source_format="torchaudio",
        config=config.to_dict(),
        infer=False,
        normalize_waveform=normalize,
    )
