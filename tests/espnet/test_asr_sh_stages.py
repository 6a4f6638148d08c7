"""ESPnet's stock asr.sh with its default options, stages 10-12, for every shipped ASR config.

No ESPnet checkout can be had here (pip installs no asr.sh), so this runs the commands
``egs2/TEMPLATE/asr1/asr.sh`` runs, with its defaults (``--feats_normalize global_mvn``,
``--fs 16k``, ``--nj`` split key files) and a plain ``python3``: the package registers its
classes by itself (the import hook), no wrapper. Update counts and batch sizes are cut.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from espnet_distill.data.asr_prep import char_token_list, write_token_list
from espnet_distill.data.kaldi_dir import read_data_dir
from tests.ctc_checks import assert_ctc_decoding
from tests.espnet.helpers import REPO, best_model, make_student, run

LIB = REPO / "egs2" / "TEMPLATE" / "lib"
CONFIGS = ["finetune_ctc.yaml", "finetune_ctc_10h.yaml", "finetune_ctc_1h.yaml", "superb_asr.yaml"]
# the update counts cut, and the micro student's 64 channels for the channel masks
CUT = {"finetune": ["--num_iters_per_epoch", "3", "--max_epoch", "1", "--batch_bins", "600000",
                    "--frontend_conf", "mask_channel_length=16"],
       "superb": ["--num_iters_per_epoch", "3", "--max_epoch", "1", "--batch_size", "4",
                  "--encoder_conf", "hidden_size=32", "--encoder_conf", "output_size=32"]}


def _split(scp: Path, prefix: Path, nj: int = 2):
    """``<prefix>.1.scp`` ... ``<prefix>.<nj>.scp``: the key file dealt into jobs (utils/split_scp.pl)."""
    lines = scp.read_text().splitlines()
    for n in range(nj):
        Path(f"{prefix}.{n + 1}.scp").write_text("".join(f"{line}\n" for line in lines[n::nj]))


@pytest.mark.parametrize("config", CONFIGS)
def test_stages_10_to_12_with_stock_defaults(config, synth_corpus, tmp_path):
    env = {**os.environ, "PATH": f"{LIB}:{Path(sys.executable).parent}:{os.environ['PATH']}",
           "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    env.pop("ESPNET_DISTILL_NO_HOOK", None)
    make_student(tmp_path / "exp" / "student" / "student.pth")  # where the configs read it (cwd = recipe dir)
    tokens = write_token_list(char_token_list(read_data_dir(synth_corpus / "train").texts().values()),
                              tmp_path / "tokens.txt")
    common = ["--use_preprocessor", "true", "--bpemodel", "none", "--token_type", "char", "--token_list", tokens,
              "--non_linguistic_symbols", "none", "--cleaner", "none", "--g2p", "none",
              "--config", REPO / "conf" / "asr" / config, "--frontend_conf", "fs=16k",
              *CUT["superb" if config.startswith("superb") else "finetune"]]
    data = {role: synth_corpus / split for role, split in (("train", "train"), ("valid", "dev"))}

    # stage 10: collect stats in 2 jobs (train_cmd JOB=1:2), then aggregate
    logdir = tmp_path / "stats" / "logdir"
    logdir.mkdir(parents=True)
    for role, d in data.items():
        _split(d / "wav.scp", logdir / role)
    stats_cmd = ["run_local.sh", "JOB=1:2", logdir / "stats.JOB.log", "python3", "-m", "espnet2.bin.asr_train",
                 "--collect_stats", "true", *common,
                 "--train_data_path_and_name_and_type", f"{data['train']}/wav.scp,speech,sound",
                 "--train_data_path_and_name_and_type", f"{data['train']}/text,text,text",
                 "--valid_data_path_and_name_and_type", f"{data['valid']}/wav.scp,speech,sound",
                 "--valid_data_path_and_name_and_type", f"{data['valid']}/text,text,text",
                 "--train_shape_file", logdir / "train.JOB.scp", "--valid_shape_file", logdir / "valid.JOB.scp",
                 "--output_dir", logdir / "stats.JOB"]
    run(stats_cmd, tmp_path / "stage10.log", cwd=tmp_path, env=env)
    run(["python3", "-m", "espnet2.bin.aggregate_stats_dirs", "--input_dir", logdir / "stats.1",
         "--input_dir", logdir / "stats.2", "--output_dir", tmp_path / "stats"], tmp_path / "aggregate.log",
        cwd=tmp_path, env=env)
    stats = tmp_path / "stats" / "train" / "feats_stats.npz"
    with np.load(stats) as s:  # the student ran over the training set: its output size, every frame counted
        assert s["sum"].shape == (64,) and int(s["count"]) > 1000
    vocab = len(tokens.read_text().splitlines())
    for role in ("train", "valid"):
        shape = tmp_path / "stats" / role / "text_shape"
        (tmp_path / "stats" / role / "text_shape.char").write_text(
            "".join(f"{line},{vocab}\n" for line in shape.read_text().splitlines()))

    # stage 11: training with asr.sh's defaults: global_mvn from stage 10, folded lengths
    exp = tmp_path / "exp" / "asr"
    run(["python3", "-m", "espnet2.bin.launch", "--cmd", "run_local.sh", "--log", exp / "train.log", "--ngpu", "0",
         "--num_nodes", "1", "--multiprocessing_distributed", "true", "--", "python3", "-m", "espnet2.bin.asr_train",
         *common, "--normalize=global_mvn", "--normalize_conf", f"stats_file={stats}",
         "--valid_data_path_and_name_and_type", f"{data['valid']}/wav.scp,speech,sound",
         "--valid_data_path_and_name_and_type", f"{data['valid']}/text,text,text",
         "--valid_shape_file", tmp_path / "stats/valid/speech_shape",
         "--valid_shape_file", tmp_path / "stats/valid/text_shape.char",
         "--train_data_path_and_name_and_type", f"{data['train']}/wav.scp,speech,sound",
         "--train_data_path_and_name_and_type", f"{data['train']}/text,text,text",
         "--train_shape_file", tmp_path / "stats/train/speech_shape",
         "--train_shape_file", tmp_path / "stats/train/text_shape.char",
         "--resume", "true", "--fold_length", "80000", "--fold_length", "150", "--output_dir", exp],
        tmp_path / "stage11.log", cwd=tmp_path, env=env)
    config_out = (exp / "config.yaml").read_text()
    assert "normalize: global_mvn" in config_out and "frontend: distill_student" in config_out

    if config != "finetune_ctc.yaml":
        return  # decoding is the same for every config: once is enough
    # stage 12: decoding in 2 jobs (decode_cmd JOB=1:2), merged as asr.sh merges them
    dec = tmp_path / "decode"
    dec.mkdir()
    test = synth_corpus / "test"
    _split(test / "wav.scp", dec / "keys")
    run(["run_local.sh", "JOB=1:2", dec / "asr_inference.JOB.log", "python3", "-m", "espnet2.bin.asr_inference",
         "--batch_size", "1", "--ngpu", "0", "--data_path_and_name_and_type", f"{test}/wav.scp,speech,sound",
         "--key_file", dec / "keys.JOB.scp", "--asr_train_config", exp / "config.yaml",
         "--asr_model_file", exp / best_model(exp), "--output_dir", dec / "output.JOB",
         "--config", REPO / "egs2/librispeech_100/asr1/conf/decode_ctc.yaml"], tmp_path / "stage12.log",
        cwd=tmp_path, env=env)
    merged = "".join((dec / f"output.{j + 1}" / "1best_recog" / "text").read_text() for j in range(2))
    (dec / "text").write_text(merged)
    assert_ctc_decoding(test, dec / "text")
