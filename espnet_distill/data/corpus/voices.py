"""Offline text-to-speech voices: Debian's ``flite`` and ``espeak-ng`` (+ ``sox``).

flite's voices sound far more natural (a conventional recogniser gets 10-27 % WER on
them, against 70-100 % on espeak-ng), espeak-ng adds many distinct speakers cheaply.
Each :class:`Voice` is one speaker of the corpus; per utterance the speaking rate and
pitch vary a little around the voice's own, drawn from the corpus seed.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple


class SynthesisError(RuntimeError):
    """A TTS command failed or is not installed."""


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker.

    Attributes:
        speaker: speaker id used in the data dirs (also the utterance id prefix).
        engine: ``"flite"`` or ``"espeak-ng"``.
        name: the engine's voice name (``slt``, ``en-us+f3``, ...).
        rate: flite duration stretch (>1 is slower) or espeak-ng words per minute.
        pitch: flite mean F0 in Hz (0 keeps the voice's own) or espeak-ng pitch 0-99.
        sex: ``"F"`` or ``"M"``, as LibriSpeech's SPEAKERS.TXT records it.
    """

    speaker: str
    engine: str
    name: str
    rate: float
    pitch: float
    sex: str = "M"


FLITE_VOICES: Tuple[Voice, ...] = (
    Voice("fl_slt", "flite", "slt", 1.0, 0, "F"),
    Voice("fl_rms", "flite", "rms", 1.0, 0),
    Voice("fl_awb", "flite", "awb", 1.0, 0),
    Voice("fl_kal", "flite", "kal16", 1.05, 0),
)
ESPEAK_VOICES: Tuple[Voice, ...] = (
    Voice("es_usf3", "espeak-ng", "en-us+f3", 160, 55, "F"),
    Voice("es_usm3", "espeak-ng", "en-us+m3", 150, 40),
    Voice("es_usf2", "espeak-ng", "en-us+f2", 170, 60, "F"),
    Voice("es_usm1", "espeak-ng", "en-us+m1", 145, 35),
    Voice("es_enf4", "espeak-ng", "en+f4", 165, 65, "F"),
    Voice("es_gbm2", "espeak-ng", "en-gb+m2", 155, 45),
    Voice("es_rpf1", "espeak-ng", "en-gb-x-rp+f1", 150, 50, "F"),
    Voice("es_usm7", "espeak-ng", "en-us+m7", 140, 30),
)
ALL_VOICES: Tuple[Voice, ...] = FLITE_VOICES + ESPEAK_VOICES


def voices_by_speaker() -> Dict[str, Voice]:
    return {v.speaker: v for v in ALL_VOICES}


def check_tools(voices: List[Voice]) -> None:
    """Raise :class:`SynthesisError` naming the missing programs and the apt command."""
    need = {"flite"} if any(v.engine == "flite" for v in voices) else set()
    if any(v.engine == "espeak-ng" for v in voices):
        need |= {"espeak-ng", "sox"}
    missing = sorted(t for t in need if shutil.which(t) is None)
    if missing:
        raise SynthesisError(
            f"speech synthesis needs {', '.join(missing)}: sudo apt-get install -y {' '.join(missing)}"
        )


def synthesize(voice: Voice, text: str, out: Path, rate_jitter: float, pitch_jitter: float) -> None:
    """Speak ``text`` with ``voice`` into ``out``: 16 kHz, mono, 16-bit PCM WAV.

    Args:
        rate_jitter: relative change of the speaking rate, e.g. 0.05 = 5 % slower.
        pitch_jitter: relative change of the pitch.
    """
    spoken = text.lower()  # flite spells out some upper-case words as acronyms
    out.parent.mkdir(parents=True, exist_ok=True)
    if voice.engine == "flite":
        cmd = ["flite", "-voice", voice.name, "--setf", f"duration_stretch={voice.rate * (1 + rate_jitter):.3f}"]
        if voice.pitch:
            cmd += ["--setf", f"int_f0_target_mean={voice.pitch * (1 + pitch_jitter):.1f}"]
        _run(cmd + ["-t", spoken, "-o", str(out)], text)
    elif voice.engine == "espeak-ng":
        speed = int(round(voice.rate / (1 + rate_jitter)))
        pitch = int(min(99, max(0, round(voice.pitch * (1 + pitch_jitter)))))
        espeak = subprocess.run(
            ["espeak-ng", "-v", voice.name, "-s", str(speed), "-p", str(pitch), "--stdout", spoken],
            capture_output=True, check=False,
        )
        if espeak.returncode != 0 or not espeak.stdout:
            raise SynthesisError(f"espeak-ng failed for {text!r}: {espeak.stderr.decode(errors='replace')}")
        # 22.05 kHz -> 16 kHz mono 16-bit; -D: no dither (random), so a seed fixes the bytes;
        # vol 0.9 keeps the resampler from clipping
        _run(["sox", "-q", "-D", "-t", "wav", "-", "-r", "16000", "-c", "1", "-b", "16", str(out), "vol", "0.9"],
             text, stdin=espeak.stdout)
    else:
        raise SynthesisError(f"unknown TTS engine {voice.engine!r} (expected 'flite' or 'espeak-ng')")


def _run(cmd: List[str], text: str, stdin: bytes | None = None) -> None:
    proc = subprocess.run(cmd, input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        raise SynthesisError(f"{cmd[0]} failed for {text!r}: {proc.stderr.decode(errors='replace').strip()}")
