"""The environment end to end: corpus -> ESPnet's real asr_train -> asr_inference -> jiwer.

Runs ESPnet's own entry points as subprocesses, exactly as a recipe would, on the
synthetic corpus, with a small fbank + Transformer CTC model for one epoch.
"""

import subprocess
import sys
from pathlib import Path

import yaml

from espnet_distill.data.asr_prep import char_token_list, write_shape_files, write_token_list
from espnet_distill.data.kaldi_dir import read_data_dir
from tests.ctc_checks import assert_ctc_decoding

REPO = Path(__file__).resolve().parents[2]


def _run(args, log):
    proc = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, check=False)
    log.write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"{args[0]} failed:\n{proc.stderr[-3000:]}"


def test_train_decode_score(synth_corpus, tmp_path):
    tokens = write_token_list(char_token_list(read_data_dir(synth_corpus / "train").texts().values()),
                              tmp_path / "tokens.txt")
    assert tokens.read_text().splitlines()[:3] == ["<blank>", "<unk>", "<space>"]
    args = ["espnet2.bin.asr_train", "--config", str(REPO / "conf/asr/transformer_ctc_tiny.yaml"),
            "--output_dir", str(tmp_path / "exp"), "--ngpu", "0", "--token_type", "char",
            "--token_list", str(tokens), "--fold_length", "80000", "--fold_length", "150"]
    for split, role in (("train", "train"), ("dev", "valid")):
        shapes = write_shape_files(synth_corpus / split, tmp_path / split)
        args += [f"--{role}_data_path_and_name_and_type", f"{synth_corpus / split}/wav.scp,speech,sound",
                 f"--{role}_data_path_and_name_and_type", f"{synth_corpus / split}/text,text,text",
                 f"--{role}_shape_file", str(shapes["speech_shape"]),
                 f"--{role}_shape_file", str(shapes["text_shape.char"])]
    _run(args, tmp_path / "train.log")
    config = yaml.safe_load((tmp_path / "exp" / "config.yaml").read_text())
    assert config["token_type"] == "char" and config["max_epoch"] == 1
    assert (tmp_path / "exp" / "valid.loss.best.pth").is_file()

    _run(["espnet2.bin.asr_inference", "--ngpu", "0", "--batch_size", "1",
          "--data_path_and_name_and_type", f"{synth_corpus / 'test'}/wav.scp,speech,sound",
          "--asr_train_config", str(tmp_path / "exp/config.yaml"),
          "--asr_model_file", str(tmp_path / "exp/valid.loss.best.pth"),
          "--output_dir", str(tmp_path / "decode"), "--ctc_weight", "1.0", "--lm_weight", "0",
          "--beam_size", "1"], tmp_path / "decode.log")
    # every test utterance decoded, none longer than its frames allow (40 ms frames here: fbank at
    # 10 ms, conv2d subsampling by 4), not perfect after one epoch
    result = assert_ctc_decoding(synth_corpus / "test", tmp_path / "decode/1best_recog/text")
    assert result.num_utts == 16
