"""Students inside ESPnet ASR, end to end on the synthetic corpus (real subprocess runs).

1. ``frontend: distill_student`` fine-tuned with CTC (conf/asr/finetune_ctc.yaml) through
   ``python -m espnet_distill.bin.asr_train``; decoded with ``...asr_inference``; scored;
   packed by stock ``espnet2.bin.pack`` without the student checkpoint, which is then deleted:
   the unpacked model decodes the same hypotheses with ``Speech2Text`` (portable models).
2. ESPnet's own ``frontend: s3prl`` with ``upstream: distill_student_local``.
Both check that the decoding model's ``frontend.*`` tensors are the trained ones.
"""

import json
import shutil
import sys
from pathlib import Path

import torch
import yaml

from espnet_distill.data.kaldi_dir import read_kaldi_file
from tests.ctc_checks import assert_ctc_decoding
from tests.espnet.helpers import (MICRO_LAYERS, REPO, asr_data_args, assert_decoder_frontend_matches, best_model,
                                  decode_args, run)


def _train_decode_score(corpus: Path, work: Path, config: Path, extra=()):
    exp = work / "exp"
    run([sys.executable, "-m", "espnet_distill.bin.asr_train", "--config", config, "--output_dir", exp,
         *asr_data_args(corpus, work), *extra], work / "train.log", cwd=work)
    run([sys.executable, "-m", "espnet_distill.bin.asr_inference", *decode_args(corpus, exp, work / "decode")],
        work / "decode.log", cwd=work)
    assert_ctc_decoding(corpus / "test", work / "decode" / "1best_recog" / "text")
    return exp


def test_finetuned_student_frontend(synth_corpus, student_ckpt, tmp_path):
    shutil.copy(student_ckpt, tmp_path / "student.ckpt")  # the config refers to it relative to the cwd
    exp = _train_decode_score(synth_corpus, tmp_path, REPO / "conf/asr/finetune_ctc.yaml",
                              ["--frontend_conf", "student=student.ckpt", "--frontend_conf", "mask_channel_length=16",
                               "--max_epoch", "1", "--num_iters_per_epoch", "8", "--batch_bins", "800000"])
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert config["frontend"] == "distill_student" and config["frontend_conf"]["student"] == "student.ckpt"

    trained = assert_decoder_frontend_matches(exp, tmp_path)
    initial = torch.load(tmp_path / "student.ckpt", weights_only=True)["state_dict"]
    changed = [k for k, v in initial.items() if not torch.equal(trained[f"frontend.student.{k}"], v)]
    assert changed, "fine-tuning left every student weight unchanged"

    assert config["frontend_conf"]["student_config"]["encoder"]["num_layers"] == MICRO_LAYERS  # the architecture
    _check_packed_model_is_portable(exp, tmp_path, synth_corpus)


# asr.sh stage 14 packs config.yaml and model.pth; the student checkpoint is not among them.
# On a machine without it, the unpacked model must rebuild and decode as before (plain Python:
# the package's import hook registers the frontend in Speech2Text's process).
_DECODE_UNPACKED = """
import json, sys
import soundfile as sf
from espnet2.bin.asr_inference import Speech2Text
from espnet2.main_funcs.pack_funcs import unpack
files = unpack(sys.argv[1], sys.argv[2])
s2t = Speech2Text(asr_train_config=files["asr_train_config"], asr_model_file=files["asr_model_file"],
                  device="cpu", ctc_weight=1.0, lm_weight=0.0, beam_size=1, penalty=0.0, nbest=1)
hyps = {}
for line in open(sys.argv[3]):
    utt, path = line.split(maxsplit=1)
    wav, rate = sf.read(path.strip(), dtype="float32")
    hyps[utt] = s2t(wav)[0][0]
print(json.dumps(hyps))
"""


def _check_packed_model_is_portable(exp: Path, work: Path, corpus: Path):
    run([sys.executable, "-m", "espnet2.bin.pack", "asr", "--asr_train_config", "exp/config.yaml",
         "--asr_model_file", f"exp/{best_model(exp)}", "--outpath", "packed.zip"], work / "pack.log", cwd=work)
    (work / "student.ckpt").unlink()  # as on another machine
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    proc = run([sys.executable, "-c", _DECODE_UNPACKED, work / "packed.zip", elsewhere / "model",
                corpus / "test" / "wav.scp"], work / "decode_unpacked.log", cwd=elsewhere)
    hyps = json.loads(proc.stdout.strip().splitlines()[-1])
    decoded = dict(read_kaldi_file(work / "decode" / "1best_recog" / "text", allow_empty_value=True))
    assert len(hyps) == len(decoded) == 16 and hyps == decoded


def test_s3prl_frontend_with_student_upstream(synth_corpus, student_ckpt, tmp_path):
    shutil.copy(student_ckpt, tmp_path / "student.ckpt")
    config = yaml.safe_load((REPO / "conf/asr/superb_asr.yaml").read_text())
    config.update(
        frontend="s3prl",
        frontend_conf={"frontend_conf": {"upstream": "distill_student_local", "path_or_url": "student.ckpt"},
                       "multilayer_feature": True},
        freeze_param=["frontend.upstream"],
        encoder_conf={**config["encoder_conf"], "hidden_size": 32, "output_size": 32},
        optim_conf={"lr": 0.002},
        max_epoch=1,
    )
    path = tmp_path / "s3prl_frontend.yaml"
    path.write_text(yaml.safe_dump(config))
    exp = _train_decode_score(synth_corpus, tmp_path, path)
    trained = assert_decoder_frontend_matches(exp, tmp_path)
    weights = trained["frontend.featurizer.weights"]
    assert weights.shape == (MICRO_LAYERS + 1,) and torch.count_nonzero(weights) > 0  # the layer weights trained
