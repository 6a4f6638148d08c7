"""Students inside ESPnet ASR, end to end on the synthetic corpus (real subprocess runs).

1. ``frontend: distill_student`` fine-tuned with CTC (conf/asr/finetune_ctc.yaml) through
   ``python -m espnet_distill.bin.asr_train``; decoded with ``...asr_inference``; scored;
   packed with the student checkpoint and rebuilt from the unpacked archive.
2. ESPnet's own ``frontend: s3prl`` with ``upstream: distill_student_local``.
Both check that the decoding model's ``frontend.*`` tensors are the trained ones.
"""

import contextlib
import shutil
import sys
from pathlib import Path

import torch
import yaml

from espnet_distill.data.scoring import score_files
from tests.espnet.helpers import (MICRO_LAYERS, REPO, asr_data_args, assert_decoder_frontend_matches, best_model,
                                  decode_args, run)


def _train_decode_score(corpus: Path, work: Path, config: Path, extra=()):
    exp = work / "exp"
    run([sys.executable, "-m", "espnet_distill.bin.asr_train", "--config", config, "--output_dir", exp,
         *asr_data_args(corpus, work), *extra], work / "train.log", cwd=work)
    run([sys.executable, "-m", "espnet_distill.bin.asr_inference", *decode_args(corpus, exp, work / "decode")],
        work / "decode.log", cwd=work)
    result = score_files(corpus / "test" / "text", work / "decode" / "1best_recog" / "text")
    # a model trained for a few updates on 128 utterances is far from perfect, and CTC cannot emit
    # much more than a character per frame: the CER of the decoded test set lies in (0, 1.5]
    assert result.num_utts == 16 and 0.0 < result.cer <= 1.5 and 0.0 < result.wer <= 1.5, result
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

    _check_pack_carries_the_student(exp, tmp_path, trained)


def _check_pack_carries_the_student(exp: Path, work: Path, trained):
    from espnet2.main_funcs.pack_funcs import unpack
    from espnet2.tasks.asr import ASRTask

    from espnet_distill.bin.pack import main as pack_main

    with contextlib.chdir(work):  # paths in the archive are relative to the recipe dir
        pack_main(["asr", "--asr_train_config", "exp/config.yaml", "--asr_model_file", f"exp/{best_model(exp)}",
                   "--option", "student.ckpt", "--outpath", "packed.zip"])
    files = unpack(work / "packed.zip", work / "unpacked")
    model, _ = ASRTask.build_model_from_file(files["asr_train_config"], files["asr_model_file"], "cpu")
    assert Path(model.frontend.student_path).resolve() == (work / "unpacked" / "student.ckpt").resolve()
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in trained.items())


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
