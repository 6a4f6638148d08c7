"""HuBERT-style fine-tuning through ESPnet's asr_train with the shipped Libri-light 10 h config.

The config's update counts are cut (12 updates: the student frozen for the first 6, a tri-stage
schedule over 40 steps); everything else is the shipped config: a frozen feature extractor, time
and channel masking with a learned embedding, layerdrop, fine-tuning dropouts, a Linear CTC layer.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import pytest
import torch
import yaml

from tests.espnet.helpers import REPO, asr_data_args, make_student, run

CONFIG = REPO / "conf" / "asr" / "finetune_ctc_10h.yaml"
FROZEN, UPDATES, MAX_STEPS = 6, 12, 40


@pytest.fixture(scope="module")
def finetuned(synth_corpus, tmp_path_factory):
    work = tmp_path_factory.mktemp("finetune_10h")
    student = make_student(work / "student.pth")
    exp = work / "exp"
    cmd = [sys.executable, "-m", "espnet_distill.bin.asr_train", "--config", CONFIG, "--output_dir", exp,
           "--frontend_conf", f"student={student}", "--frontend_conf", f"freeze_steps={FROZEN}",
           "--frontend_conf", "mask_channel_length=16",  # the micro student has 64 channels, not 480
           "--max_epoch", "2", "--num_iters_per_epoch", str(UPDATES // 2), "--batch_bins", "400000",
           "--scheduler_conf", f"max_steps={MAX_STEPS}", "--keep_nbest_models", "2", "--log_interval", "1",
           "--num_workers", "0", "--seed", "0", *asr_data_args(synth_corpus, work)]
    run(cmd, work / "train.log", cwd=work)
    return student, exp, work / "train.log"


def _state(path: Path):
    return torch.load(path, map_location="cpu", weights_only=True)


def _student_part(state, prefix):
    return {k[len("frontend.student."):]: v for k, v in state.items() if k.startswith(f"frontend.student.{prefix}")}


def test_front_end_frozen_and_encoder_frozen_for_the_first_updates(finetuned):
    student_ckpt, exp, _ = finetuned
    initial = {f"frontend.student.{k}": v for k, v in _state(student_ckpt)["state_dict"].items()}
    after_frozen, final = _state(exp / "1epoch.pth"), _state(exp / "2epoch.pth")
    # the feature extractor (fbank subsampler) never changes; nor does the rest while frozen
    for key in _student_part(initial, "frontend.subsampler"):
        assert torch.equal(final[f"frontend.student.{key}"], initial[f"frontend.student.{key}"]), key
    for key, value in initial.items():
        assert torch.equal(after_frozen[key], value), f"{key} changed during the first {FROZEN} updates"
    changed = [k for k, v in initial.items() if k.startswith("frontend.student.encoder.")
               and not torch.equal(final[k], v)]
    assert len(changed) > 10  # the encoder trains after the frozen updates
    assert not torch.equal(final["frontend.student.frontend.proj.weight"], initial["frontend.student.frontend.proj.weight"])
    assert not torch.equal(final["ctc.ctc_lo.weight"], after_frozen["ctc.ctc_lo.weight"])
    # the CTC layer sits directly on the student: one Linear, D -> vocabulary
    assert {k for k in final if not k.startswith("frontend.")} == {"ctc.ctc_lo.weight", "ctc.ctc_lo.bias"}


def test_learning_rate_follows_the_tri_stage_schedule(finetuned):
    _, _, log = finetuned
    text = log.read_text()
    lrs = [float(m) for m in re.findall(r"\d+epoch:train:\d+-\d+batch: .*?optim0_lr0=([0-9.e+-]+)", text)]
    assert len(lrs) == UPDATES
    conf = yaml.safe_load(CONFIG.read_text())
    peak, sc = conf["optim_conf"]["lr"], conf["scheduler_conf"]
    warmup = int(MAX_STEPS * sc["warmup_ratio"])
    decay = MAX_STEPS - warmup - int(MAX_STEPS * sc["hold_ratio"])

    def tri_stage(step):  # fairseq's tri_stage, written out: linear warm-up, hold, exponential decay
        if step < warmup:
            return peak * (sc["init_lr_scale"] + (1 - sc["init_lr_scale"]) * step / warmup)
        return peak * math.exp(math.log(sc["final_lr_scale"]) * (step - warmup) / decay)

    # ESPnet reports the rate set after update k, the one update k + 1 runs at (step k + 1)
    assert lrs == pytest.approx([tri_stage(k + 1) for k in range(1, UPDATES + 1)], rel=1e-3)
    top = lrs.index(max(lrs))  # rises through the warm-up (4 steps of 40), then decays at once (no hold)
    assert top == warmup - 2 and lrs[0] < lrs[top] == pytest.approx(peak)
    assert all(a > b for a, b in zip(lrs[top:], lrs[top + 1:]))


def test_masking_in_training_only(finetuned):
    """The model as decoding builds it: no masking in eval mode; in training the encoder sees
    spans of the learned mask embedding and zeroed channel spans."""
    from espnet2.tasks.asr import ASRTask

    from espnet_distill.espnet import register

    register()
    _, exp, _ = finetuned
    model, _ = ASRTask.build_model_from_file(exp / "config.yaml", exp / "2epoch.pth", "cpu")
    frontend = model.frontend
    seen = []
    frontend.student.encoder.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach().clone()))
    wav = 0.1 * torch.randn(2, 48000, generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([48000, 40000])
    model.eval()
    with torch.no_grad():
        a, _ = frontend(wav, lengths)
        b, _ = frontend(wav, lengths)
        reference = frontend.student.eval()(wav, lengths).hidden_states[-1]
    assert torch.equal(a, b) and torch.equal(a, reference)
    embedding = frontend.masker.mask_embedding.detach()
    assert not any((x == embedding).all(-1).any() for x in seen)
    seen.clear()
    model.train()
    torch.manual_seed(0)
    with torch.no_grad():
        frontend(wav, lengths)
    x = seen[0][0, :frontend.student.num_frames(40000)]  # first utterance, valid frames
    zeroed = (x == 0).all(0)  # channel spans zeroed in every frame
    assert 0 < int(zeroed.sum()) < x.shape[1]
    masked = (x[:, ~zeroed] == embedding[~zeroed]).all(-1)  # frames replaced by the learned embedding
    assert masked.float().mean() > 0.3  # mask_time_prob 0.75, spans of 10 frames
