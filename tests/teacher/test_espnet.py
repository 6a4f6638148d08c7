"""HuBERT pre-trained with ESPnet: built by ESPnet's real HubertTask, saved as its trainer does."""

from __future__ import annotations

import inspect
import re
import shutil

import pytest
import torch
import yaml

from espnet_distill.teacher import TeacherFormatError, load_teacher
from espnet_distill.teacher.espnet_format import ESPNET_FAIRSEQ_DEFAULTS, ESPNET_TORCHAUDIO_DEFAULTS
from tests.oracles.teachers import (
    random_hubert_pretrain,
    save_espnet_experiment,
    save_espnet_fairseq_experiment,
    tiny_config,
)
from tests.teacher.helpers import (
    assert_states_close,
    check_padding,
    noise_wavs,
    torchaudio_reference,
    unit_logits_float64,
)


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    """An ESPnet torchaudio_hubert experiment directory and ESPnet's model."""
    out = tmp_path_factory.mktemp("espnet") / "exp"
    model = save_espnet_experiment(tiny_config(), out, num_units=26, codeword_dim=12, seed=21)
    return out, model


def test_matches_espnet_model(experiment):
    out_dir, model = experiment
    hubert = model.encoder.hubert_pretrain_model
    wav = noise_wavs([10000], seed=7)[0][None]
    reference = torchaudio_reference(hubert.wav2vec2, wav)
    expected_logits = unit_logits_float64(
        torchaudio_reference(hubert.wav2vec2, wav, dtype=torch.float64)[-1],
        hubert.logit_generator.final_proj.weight,
        hubert.logit_generator.final_proj.bias,
        hubert.logit_generator.label_embeddings,
    )
    for source in (out_dir, out_dir / "config.yaml", out_dir / "valid.loss.ave.pth"):
        teacher = load_teacher(source)
        assert teacher.source_format == "espnet" and teacher.num_units == 26 and not teacher.normalize_waveform
        out = teacher(wav)
        assert_states_close(out.hidden_states, reference)
        assert float((out.unit_logits.double() - expected_logits).abs().max()) < 1e-4


def test_files_are_what_espnet_reads(experiment):
    """ESPnet's own build_model_from_file accepts the files and gives the same network."""
    from espnet2.tasks.hubert import HubertTask

    out_dir, model = experiment
    rebuilt, _ = HubertTask.build_model_from_file(out_dir / "config.yaml", out_dir / "valid.loss.ave.pth")
    wav = noise_wavs([7000], seed=8)[0][None]
    rebuilt_ref = torchaudio_reference(rebuilt.encoder.hubert_pretrain_model.wav2vec2, wav)
    assert_states_close(load_teacher(out_dir)(wav).hidden_states, rebuilt_ref)


def test_padding(experiment):
    check_padding(load_teacher(experiment[0]), noise_wavs([6000, 9500, 3300], seed=9))


def test_trainer_checkpoint_and_epoch_files(experiment, tmp_path):
    out_dir, model = experiment
    exp = tmp_path / "exp"
    exp.mkdir()
    shutil.copy(out_dir / "config.yaml", exp / "config.yaml")
    state = model.state_dict()
    torch.save(
        {"model": state, "reporter": {"epoch": 3}, "optimizers": [], "schedulers": [None], "scaler": None},
        exp / "checkpoint.pth",
    )
    assert load_teacher(exp).source == str(exp / "checkpoint.pth")
    torch.save(state, exp / "2epoch.pth")
    torch.save(state, exp / "10epoch.pth")
    assert load_teacher(exp).source == str(exp / "10epoch.pth")


def test_defaults_match_espnet():
    """The defaults written down here are those of ESPnet's encoder classes."""
    from espnet2.asr.encoder.hubert_encoder import FairseqHubertPretrainEncoder, TorchAudioHuBERTPretrainEncoder

    params = inspect.signature(TorchAudioHuBERTPretrainEncoder.__init__).parameters
    assert {k: params[k].default for k in ESPNET_TORCHAUDIO_DEFAULTS} == ESPNET_TORCHAUDIO_DEFAULTS
    params = inspect.signature(FairseqHubertPretrainEncoder.__init__).parameters
    assert {k: params[k].default for k in ESPNET_FAIRSEQ_DEFAULTS} == ESPNET_FAIRSEQ_DEFAULTS


def test_fairseq_encoder_experiment(tmp_path):
    config = tiny_config(large=True)
    model = random_hubert_pretrain(config, num_units=20, codeword_dim=12, seed=22)
    out_dir = save_espnet_fairseq_experiment(model, config, tmp_path / "exp")
    teacher = load_teacher(out_dir)
    assert teacher.source_format == "espnet" and teacher.num_units == 20
    assert not teacher.normalize_waveform  # ESPnet feeds raw waveforms
    wav = noise_wavs([9000], seed=10)[0][None]
    assert_states_close(teacher(wav).hidden_states, torchaudio_reference(model.wav2vec2, wav))


def _rewrite_config(path, **changes):
    args = yaml.safe_load(path.read_text())
    args.update(changes)
    path.write_text(yaml.safe_dump(args))


def test_not_a_hubert_experiment(experiment, tmp_path):
    exp = tmp_path / "exp"
    shutil.copytree(experiment[0], exp)
    _rewrite_config(exp / "config.yaml", encoder="conformer", model="espnet")
    with pytest.raises(
        TeacherFormatError, match="expected an ESPnet HuBERT pre-training experiment.*found encoder 'conformer'"
    ):
        load_teacher(exp)


def test_feature_frontend_is_refused(experiment, tmp_path):
    exp = tmp_path / "exp"
    shutil.copytree(experiment[0], exp)
    _rewrite_config(exp / "config.yaml", frontend="default", normalize="utterance_mvn")
    with pytest.raises(TeacherFormatError, match="'frontend': 'default'.*raw waveform"):
        load_teacher(exp)


def test_model_file_without_config(experiment, tmp_path):
    shutil.copy(experiment[0] / "valid.loss.ave.pth", tmp_path / "model.pth")
    with pytest.raises(TeacherFormatError, match="needs its config.yaml"):
        load_teacher(tmp_path / "model.pth")
    assert load_teacher(tmp_path / "model.pth", config=experiment[0] / "config.yaml").num_units == 26


def test_keys_outside_the_encoder_are_named(experiment, tmp_path):
    exp = tmp_path / "exp"
    shutil.copytree(experiment[0], exp)
    state = torch.load(exp / "valid.loss.ave.pth")
    state["normalize.mean"] = torch.zeros(1)
    torch.save(state, exp / "valid.loss.ave.pth")
    with pytest.raises(
        TeacherFormatError, match=r"unexpected keys outside the torchaudio_hubert encoder.*normalize\.mean"
    ):
        load_teacher(exp)


def test_missing_encoder_key_is_named(experiment, tmp_path):
    exp = tmp_path / "exp"
    shutil.copytree(experiment[0], exp)
    key = "encoder.hubert_pretrain_model.wav2vec2.encoder.transformer.layers.0.feed_forward.output_dense.weight"
    state = torch.load(exp / "valid.loss.ave.pth")
    del state[key]
    torch.save(state, exp / "valid.loss.ave.pth")
    with pytest.raises(TeacherFormatError, match=f"missing keys: {re.escape(key)}"):
        load_teacher(exp)
