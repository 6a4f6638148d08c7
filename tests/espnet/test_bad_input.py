"""Bad audio never passes silently: on ESPnet's loader (training and decoding with a student),
in distillation, in the s3prl upstream and its loader, and files of the wrong kind are named."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from espnet_distill.data.audio import AudioError
from tests.espnet.helpers import REPO, asr_data_args, best_model, make_student, run

RATE = 16000


def _bad_audio(kind: str, path: Path) -> Path:
    """Write one kind of damaged audio at ``path`` (a .wav unless said otherwise)."""
    x = (0.1 * np.random.default_rng(0).standard_normal(RATE)).astype(np.float32)
    if kind == "nan":
        x[100:110] = np.nan
        sf.write(path, x, RATE, subtype="FLOAT")
    elif kind == "8k":
        sf.write(path, x[::2], 8000, subtype="PCM_16")
    elif kind == "stereo":
        sf.write(path, np.stack([x, x], 1), RATE, subtype="PCM_16")
    elif kind == "truncated":
        sf.write(path, x, RATE, subtype="PCM_16")
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        raise ValueError(kind)
    return path


MESSAGES = {"nan": "10 samples are NaN or infinite", "8k": "8000 Hz, but the student takes 16000 Hz",
            "stereo": "expected mono audio, found 2 channels", "truncated": "truncated WAV file"}


def _data_dir(corpus: Path, out: Path, bad: str, num: int = 6) -> Path:
    """A copy of the first ``num`` utterances of the corpus's train set, the second one damaged."""
    out.mkdir(parents=True)
    ids = (corpus / "train" / "wav.scp").read_text().splitlines()[:num]
    rows = []
    for i, line in enumerate(ids):
        uid, path = line.split(maxsplit=1)
        if i == 1:
            path = str(_bad_audio(bad, out / f"{uid}.wav"))
        rows.append(f"{uid} {path}\n")
    (out / "wav.scp").write_text("".join(rows))
    keep = {r.split()[0] for r in rows}
    for name in ("text", "utt2spk", "utt2num_samples"):
        lines = (corpus / "train" / name).read_text().splitlines()
        (out / name).write_text("".join(f"{l}\n" for l in lines if l.split()[0] in keep))
    return out


@pytest.mark.parametrize("kind", list(MESSAGES))
def test_espnet_loader_names_the_utterance(kind, synth_corpus, tmp_path):
    """ESPnet's own dataset (what asr_train and asr_inference read with), once a student is built."""
    from espnet2.train.dataset import ESPnetDataset

    from espnet_distill.espnet import DistillStudentFrontend

    data = _data_dir(synth_corpus, tmp_path / "data", kind)
    DistillStudentFrontend(student=str(make_student(tmp_path / "student.pth")))  # a student in this process
    dataset = ESPnetDataset([(str(data / "wav.scp"), "speech", "sound")])
    good, bad = [line.split()[0] for line in (data / "wav.scp").read_text().splitlines()[:2]]
    assert dataset[good][1]["speech"].ndim == 1
    with pytest.raises(AudioError) as err:
        dataset[bad]
    assert f"utterance {bad}" in str(err.value) and MESSAGES[kind] in str(err.value), str(err.value)


def test_asr_inference_refuses_8k_audio(synth_corpus, tmp_path):
    """A model trained on 16 kHz audio, asked to decode an 8 kHz file with plain asr_inference."""
    make_student(tmp_path / "student.pth")
    exp = tmp_path / "exp"
    run([sys.executable, "-m", "espnet2.bin.asr_train", "--config", REPO / "conf/asr/superb_asr.yaml",
         "--frontend_conf", "student=student.pth", "--encoder_conf", "hidden_size=16", "--encoder_conf",
         "output_size=16", "--max_epoch", "1", "--num_iters_per_epoch", "1", "--output_dir", exp,
         *asr_data_args(synth_corpus, tmp_path)], tmp_path / "train.log", cwd=tmp_path)
    data = _data_dir(synth_corpus, tmp_path / "test8k", "8k", num=3)
    proc = run([sys.executable, "-m", "espnet2.bin.asr_inference", "--ngpu", "0",
                "--data_path_and_name_and_type", f"{data}/wav.scp,speech,sound",
                "--asr_train_config", exp / "config.yaml", "--asr_model_file", exp / best_model(exp),
                "--output_dir", tmp_path / "decode"], tmp_path / "decode.log", cwd=tmp_path, check=False)
    bad = (data / "wav.scp").read_text().splitlines()[1].split()[1]  # asr_inference's loader sees the file
    assert proc.returncode != 0 and f"{bad}: 8000 Hz, but the student takes 16000 Hz" in proc.stderr


def _distill(corpus, data: Path, teacher: Path, out: Path, *extra):
    from tests.tasks.conftest import distill_args, run_distill

    args = distill_args(corpus, teacher, out / "exp", "--config", str(REPO / "conf/distill/tiny_fbank_disc.yaml"),
                        "--student", "tiny_cnn", "--distill_conf", "disc_weight=0.0",
                        "--distill_conf", "frontend_steps=0", "--max_epoch", "1",
                        "--num_iters_per_epoch", "2", "--batch_size", "3", "--max_samples", "16000", *extra)
    i = args.index("--train_data_path_and_name_and_type")
    args[i + 1] = f"{data}/wav.scp,speech,sound"
    args[args.index("--train_shape_file") + 1] = str(data / "utt2num_samples")
    out.mkdir(parents=True, exist_ok=True)
    return run_distill(args, out / "log", check=False)


def test_distillation_with_nan_audio(synth_corpus, tiny_teacher_ckpt, tmp_path):
    data = _data_dir(synth_corpus, tmp_path / "data", "nan")
    bad = (data / "wav.scp").read_text().splitlines()[1].split()[0]
    # the header check cannot see NaN: ESPnet's loader stops at it, naming it
    proc = _distill(synth_corpus, data, tiny_teacher_ckpt, tmp_path / "a")
    assert proc.returncode != 0 and f"utterance {bad}" in proc.stderr and "NaN or infinite" in proc.stderr
    # --check_data full finds it before training; with --bad_utterance skip it is dropped and counted
    proc = _distill(synth_corpus, data, tiny_teacher_ckpt, tmp_path / "b", "--check_data", "full")
    assert proc.returncode != 0 and bad in proc.stderr and "--bad_utterance skip" in proc.stderr
    assert "epoch results" not in proc.stderr  # stopped before training
    proc = _distill(synth_corpus, data, tiny_teacher_ckpt, tmp_path / "c", "--check_data", "full",
                    "--bad_utterance", "skip")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 of 6 utterances unusable" in proc.stderr and "skipped 1 utterances" in proc.stderr


def test_distillation_with_a_truncated_wav(synth_corpus, tiny_teacher_ckpt, tmp_path):
    data = _data_dir(synth_corpus, tmp_path / "data", "truncated")
    bad = (data / "wav.scp").read_text().splitlines()[1].split()[0]
    proc = _distill(synth_corpus, data, tiny_teacher_ckpt, tmp_path / "a")
    assert proc.returncode != 0 and bad in proc.stderr and "truncated WAV file" in proc.stderr


def test_a_run_whose_every_step_was_skipped_fails(synth_corpus, tmp_path):
    """A teacher with NaN weights makes every loss NaN: ESPnet skips every update; the run must not succeed."""
    from espnet_distill.teacher import save_torchaudio_checkpoint
    from tests.oracles.teachers import random_hubert_pretrain, tiny_config

    config = tiny_config(encoder_num_layers=4)
    model = random_hubert_pretrain(config, num_units=24, codeword_dim=16, seed=0)
    with torch.no_grad():
        model.wav2vec2.encoder.transformer.layers[0].feed_forward.output_dense.weight.fill_(float("nan"))
    teacher = save_torchaudio_checkpoint(model, tmp_path / "nan_teacher.pt", config)
    data = synth_corpus / "train"
    proc = _distill(synth_corpus, data, teacher, tmp_path / "run")
    assert proc.returncode == 1
    assert "NaN or infinite in all 2 training steps" in proc.stderr and "non-finite loss" in proc.stderr


def test_s3prl_upstream_and_loader(tmp_path):
    from espnet_distill.s3prl.compat import soundfile_load
    from espnet_distill.s3prl.expert import UpstreamExpert

    expert = UpstreamExpert(str(make_student(tmp_path / "student.pth")))
    wavs = [0.1 * torch.randn(8000), 0.1 * torch.randn(6000)]
    wavs[1][5] = float("inf")
    with pytest.raises(ValueError, match=r"input 1 of the batch \(6000 samples\) holds 1 NaN or infinite"):
        expert(wavs)
    with pytest.raises(ValueError, match="expected a mono waveform"):
        expert([torch.zeros(2, 8000)])
    for kind in ("nan", "truncated"):
        path = _bad_audio(kind, tmp_path / f"{kind}.wav")
        with pytest.raises(AudioError, match=str(path)):
            soundfile_load(str(path))


def test_compressed_sphere_says_how_to_convert(tmp_path):
    from espnet_distill.data.audio import load_audio

    header = (b"NIST_1A\n   1024\nsample_count -i 16000\nsample_n_bytes -i 2\nchannel_count -i 1\n"
              b"sample_rate -i 16000\nsample_coding -s26 pcm,embedded-shorten-v2.00\nend_head\n")
    path = tmp_path / "an4.sph"
    path.write_bytes(header.ljust(1024) + bytes(range(256)) * 20)
    with pytest.raises(AudioError, match=r"an4.sph.*shorten.*sph2pipe -f wav"):
        load_audio(path)


def test_files_of_the_wrong_kind_are_named(tmp_path, tiny_teacher_ckpt):
    from espnet_distill.student import build_student, load_cmvn, load_student, save_student
    from espnet_distill.teacher import TeacherFormatError, load_teacher

    student = save_student(tmp_path / "student.pth", build_student("tiny_fbank"))
    with pytest.raises(TeacherFormatError, match=r"is not a teacher checkpoint: it is an espnet_distill student"):
        load_teacher(student)
    with pytest.raises(Exception, match=r"is not a student checkpoint: it is a torchaudio HuBERT.*distil a student"):
        load_student(tiny_teacher_ckpt)
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "config.yaml").write_text("distill_conf: {disc_weight: 0.4}\n")
    with pytest.raises(Exception, match=r"a distillation experiment directory.*export_student"):
        load_student(tmp_path / "exp")
    torch.save({"student.encoder.w": torch.zeros(2), "num_forwards": torch.tensor(3)}, tmp_path / "valid.loss.best.pth")
    with pytest.raises(Exception, match=r"a model file of a distillation run.*export_student"):
        load_student(tmp_path / "valid.loss.best.pth")
    (tmp_path / "cmvn.txt").write_text("mean 0 0 0\n")
    with pytest.raises(ValueError, match=r"cmvn.txt is not a CMVN statistics file: it is a text file.*compute_cmvn"):
        load_cmvn(tmp_path / "cmvn.txt")
    np.savez(tmp_path / "feats_stats.npz", count=np.array(3), sum=np.zeros(80), sum_square=np.zeros(80))
    with pytest.raises(ValueError, match=r"ESPnet's global_mvn statistics.*compute_cmvn"):
        load_cmvn(tmp_path / "feats_stats.npz")
