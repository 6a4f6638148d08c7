"""Checks on the audio ESPnet's ``sound`` loader reads for a model with a student inside.

ESPnet reads ``wav.scp`` entries of type ``sound`` with soundfile and hands the arrays on as
they are: a WAV cut short is read at the length that is left, NaN samples go into the model,
an 8 kHz file is decoded as if it were 16 kHz, a stereo file fails deep inside the model with
no utterance named. A student takes 16 kHz mono audio, so once a process builds one (the
``distill_student`` frontend, DistillTask), every utterance ESPnet loads there is checked and a
bad one stops the run with an error naming the utterance, its file and what to do.

:func:`install` wraps the ``sound`` loaders of ESPnet's datasets (``espnet2.train.dataset``, used
for training, and ``espnet2.train.iterable_dataset``, used by ``asr_inference``; the import hook
does it when they are imported); :func:`expect_student_audio` switches the checks on.
Processes that build no student (another ESPnet task) are not affected.
"""

from __future__ import annotations

import collections.abc
import logging
import os
from types import ModuleType
from typing import Optional

import numpy as np

from espnet_distill.common import SAMPLE_RATE
from espnet_distill.data.audio import AudioError, audio_info, check_samples, unreadable_hint

_LG = logging.getLogger(__name__)

#: The rate a student in this process takes; None until one is built.
_expected_rate: Optional[int] = None


def expect_student_audio(rate: int = SAMPLE_RATE) -> None:
    """From now on, audio loaded by ESPnet in this process must be mono, finite and ``rate`` Hz."""
    global _expected_rate
    _expected_rate = int(rate)
    try:
        from espnet2.train import dataset, iterable_dataset
    except ImportError:  # no ESPnet: nothing to check
        return
    install(dataset)
    install_iterable(iterable_dataset)


class CheckedSoundReader(collections.abc.Mapping):
    """ESPnet's ``AdapterForSoundScpReader`` with the student's checks on every item."""

    def __init__(self, adapter, path: str):
        self._adapter = adapter
        self._path = path

    def __getitem__(self, key: str):
        if _expected_rate is None:
            return self._adapter[key]
        file = self._file(key)
        where = f"utterance {key} (file {file})"
        if isinstance(file, str) and os.path.isfile(file):  # the header first: rate, a cut-short WAV
            try:
                checked_file(file)
            except AudioError as err:
                raise AudioError(f"utterance {key}: {err}") from err
        try:
            array = self._adapter[key]
        except (RuntimeError, OSError) as err:  # libsndfile's errors name the file, not the utterance
            raise AudioError(f"{where}: {err}{unreadable_hint(file, err)}") from err
        if array is not None:
            check_samples(np.asarray(array), where, channels=1)
        return array

    def _file(self, key: str):
        reader = getattr(self._adapter, "loader", None)
        data = getattr(reader, "data", None)
        return data.get(key, "?") if isinstance(data, dict) else "?"

    def __iter__(self):
        return iter(self._adapter)

    def __len__(self) -> int:
        return len(self._adapter)

    def keys(self):
        return self._adapter.keys()

    def __getattr__(self, name):  # rate, loader, ... of ESPnet's adapter
        return getattr(self._adapter, name)


def checked_file(path: str) -> None:
    """The header checks of one file for a student (rate, readable, not cut short), naming it."""
    info = audio_info(path)
    if info.sample_rate != _expected_rate:
        raise AudioError(f"{path}: {info.sample_rate} Hz, but the student takes {_expected_rate} Hz audio: resample "
                         f"the data first (asr.sh --fs 16k; sox in.wav -r {_expected_rate} out.wav)")


def install_iterable(iterable_dataset: ModuleType) -> None:
    """Wrap the ``sound`` loader of ``espnet2.train.iterable_dataset`` (asr_inference's) (idempotent).

    That loader sees a file path, not the utterance id: its errors name the file.
    """
    loaders = iterable_dataset.DATA_TYPES
    espnet_loader = loaders.get("sound")
    if espnet_loader is None or getattr(espnet_loader, "_espnet_distill_checked", False):
        return

    def checked_sound(path):
        if _expected_rate is None or path is None:
            return espnet_loader(path)
        checked_file(path)
        array = espnet_loader(path)
        check_samples(np.asarray(array), f"file {path}", channels=1)
        return array

    checked_sound._espnet_distill_checked = True
    loaders["sound"] = checked_sound


def install(dataset: ModuleType) -> None:
    """Wrap the ``sound`` loader of ``espnet2.train.dataset`` (idempotent). The import hook's call."""
    entry = dataset.DATA_TYPES.get("sound")
    if entry is None or getattr(entry["func"], "_espnet_distill_checked", False):
        return
    espnet_loader = entry["func"]

    def checked_sound_loader(path, *args, **kwargs):
        return CheckedSoundReader(espnet_loader(path, *args, **kwargs), str(path))

    checked_sound_loader._espnet_distill_checked = True
    checked_sound_loader.__doc__ = espnet_loader.__doc__
    entry["func"] = checked_sound_loader
    _LG.debug("ESPnet's sound loader checks the audio of student models")
