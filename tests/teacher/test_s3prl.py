"""s3prl-converted checkpoints, checked against s3prl itself (``S3PRLUpstream("hubert_local")``)."""

from __future__ import annotations

import pytest
import torch

from espnet_distill.teacher import TeacherFormatError, load_teacher
from tests.oracles.teachers import random_hubert_pretrain, save_s3prl_checkpoint, tiny_config
from tests.teacher.helpers import assert_states_close, noise_wavs, torchaudio_reference, unit_logits_float64

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # s3prl's own torch.jit / weight_norm use


@pytest.fixture(scope="module")
def s3prl_upstream():
    pytest.importorskip("s3prl")
    from espnet_distill.s3prl.compat import apply_import_shims

    apply_import_shims()  # no-op with espnet-s3prl; needed by the original s3prl on torchaudio >= 2.9
    from s3prl.nn import S3PRLUpstream

    return S3PRLUpstream


@pytest.mark.parametrize("large", [False, True])
def test_matches_s3prl(tmp_path, s3prl_upstream, large):
    """s3prl re-implements fairseq's HubertModel and reads fairseq names: an independent check of the key map.

    s3prl's hidden states are the inputs of every layer plus the encoder output (L + 1,
    like ours); ``S3PRLUpstream`` rounds the frame count up to ceil(samples / 320) by
    repeating the last frame, so only the CNN's real frames are compared, on one unpadded
    utterance (s3prl pads batches differently).
    """
    config = tiny_config(large=large)
    model = random_hubert_pretrain(config, num_units=24, codeword_dim=16, seed=31)
    path = save_s3prl_checkpoint(model, config, tmp_path / "converted.pt", normalize=large)
    upstream = s3prl_upstream("hubert_local", path_or_url=str(path)).eval()
    wav = 2.0 * noise_wavs([13000], seed=11)[0][None]
    with torch.no_grad():
        s3prl_states, s3prl_lens = upstream(wav, torch.tensor([wav.shape[1]]))
    teacher = load_teacher(path)
    assert teacher.source_format == "s3prl" and teacher.normalize_waveform == large and teacher.num_units == 24
    out = teacher(wav)
    n = int(out.lengths[0])
    assert int(s3prl_lens[0][0]) >= n
    assert_states_close(out.hidden_states, [h[:, :n] for h in s3prl_states])
    head = model.logit_generator
    expected = unit_logits_float64(
        torchaudio_reference(model.wav2vec2, wav, normalize=large, dtype=torch.float64)[-1],
        head.final_proj.weight,
        head.final_proj.bias,
        head.label_embeddings,
    )
    assert float((out.unit_logits.double() - expected).abs().max()) < 1e-4


@pytest.mark.parametrize("large", [False, True])
def test_the_package_writer_is_read_by_s3prl(tmp_path, s3prl_upstream, large):
    """:func:`save_s3prl_checkpoint` (the fairseq key map, inverted) gives a file s3prl loads strictly
    and runs to our teacher's hidden states."""
    from espnet_distill.teacher.s3prl_format import save_s3prl_checkpoint as write_s3prl

    config = tiny_config(large=large)
    model = random_hubert_pretrain(config, num_units=24, codeword_dim=16, seed=33)
    teacher = load_teacher(save_s3prl_checkpoint(model, config, tmp_path / "oracle.pt", normalize=large))
    path = write_s3prl(teacher, tmp_path / "written.pt")
    upstream = s3prl_upstream("hubert_local", path_or_url=str(path)).eval()
    wav = 2.0 * noise_wavs([11000], seed=12)[0][None]
    with torch.no_grad():
        s3prl_states, _ = upstream(wav, torch.tensor([wav.shape[1]]))
    out = teacher(wav)
    n = int(out.lengths[0])
    assert_states_close(out.hidden_states, [h[:, :n] for h in s3prl_states])
    again = load_teacher(path)
    assert again.source_format == "s3prl" and again.normalize_waveform == large
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), teacher.state_dict().values()))


def test_incomplete_file(tmp_path):
    config = tiny_config()
    path = save_s3prl_checkpoint(random_hubert_pretrain(config, seed=32), config, tmp_path / "c.pt")
    data = torch.load(path)
    del data["dictionaries_symbols"]
    torch.save(data, path)
    with pytest.raises(TeacherFormatError, match=r"missing keys \['dictionaries_symbols'\]"):
        load_teacher(path, format="s3prl")
