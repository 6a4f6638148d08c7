"""One check at the real HuBERT Base size: 12 x 768, 512-channel CNN, 504 units x 256."""

from __future__ import annotations

import torch

from espnet_distill.teacher import load_teacher
from tests.oracles.teachers import base_config, random_hubert_pretrain, save_fairseq_checkpoint
from tests.teacher.helpers import assert_states_close, noise_wavs, torchaudio_reference, unit_logits_float64


def test_hubert_base_fairseq(tmp_path):
    config = base_config()
    model = random_hubert_pretrain(config, num_units=504, codeword_dim=256, seed=51)
    path = save_fairseq_checkpoint(model, config, tmp_path / "hubert_base_ls960.pt")
    teacher = load_teacher(path)
    assert (teacher.num_layers, teacher.hidden_size, teacher.num_units) == (12, 768, 504)
    assert tuple(teacher.codewords.shape) == (504, 256) and teacher.logit_temp == 0.1
    assert teacher.downsample_rate == 320 and teacher.receptive_field == 400
    # 94.37 M backbone parameters (HuBERT Base) + final_proj 768 -> 256 (the codewords are a buffer)
    assert teacher.count_parameters() == 94_370_944 + 768 * 256 + 256
    wav = noise_wavs([16000], seed=13)[0][None]
    out = teacher(wav)
    assert len(out.hidden_states) == 13 and out.hidden_states[12].shape == (1, 49, 768)
    assert_states_close(out.hidden_states, torchaudio_reference(model.wav2vec2, wav))
    head = model.logit_generator
    expected = unit_logits_float64(
        torchaudio_reference(model.wav2vec2, wav, dtype=torch.float64)[-1],
        head.final_proj.weight,
        head.final_proj.bias,
        head.label_embeddings,
    )
    assert out.unit_logits.shape == (1, 49, 504)
    assert float((out.unit_logits.double() - expected).abs().max()) < 1e-4
