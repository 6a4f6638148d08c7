"""Audio I/O, Kaldi-style data directories and the synthetic corpus."""

from espnet_distill.data.audio import SAMPLE_RATE, AudioError, AudioInfo, audio_info, load_audio, save_audio
from espnet_distill.data.kaldi_dir import DataDir, DataDirError, read_data_dir, read_kaldi_file, validate_data_dir

__all__ = [
    "SAMPLE_RATE", "AudioError", "AudioInfo", "DataDir", "DataDirError", "audio_info", "load_audio",
    "read_data_dir", "read_kaldi_file", "save_audio", "validate_data_dir",
]
