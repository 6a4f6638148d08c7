"""s3prl's SUPERB ASR with a student: the legacy runner (default suite) and s3prl-main (slow)."""

import csv
import re
import sys
from pathlib import Path

import pytest

from espnet_distill.data.kaldi_dir import read_kaldi_file
from espnet_distill.data.scoring import score_texts
from espnet_distill.s3prl.superb import conf_dir, load_config, split_names, write_length_tables
from tests.espnet.helpers import run

#: Small enough for 2 CPU cores; the task definition (frozen upstream, weighted sum,
#: BiLSTM, CTC) stays the project's superb_asr.yaml.
TINY = ",,".join([
    "config.runner.total_steps=60", "config.runner.log_step=30", "config.runner.eval_step=60",
    "config.runner.save_step=60", "config.optimizer.lr=2.0e-3", "config.downstream_expert.datarc.batch_size=8",
    "config.downstream_expert.datarc.num_workers=0", "config.downstream_expert.modelrc.project_dim=32",
    "config.downstream_expert.modelrc.RNNs.dim=[32,32]",
])


def test_project_config_and_dictionary():
    config = load_config(conf_dir() / "superb_asr.yaml")
    datarc = config["downstream_expert"]["datarc"]
    assert split_names(datarc) == ["train-clean-100", "dev-clean", "test-clean"]
    symbols = [line.split()[0] for line in Path(datarc["dict_path"]).read_text().splitlines()]
    assert symbols[0] == "|" and set("ABCDEFGHIJKLMNOPQRSTUVWXYZ'") <= set(symbols)
    assert config["optimizer"]["lr"] == 1.0e-4 and config["downstream_expert"]["modelrc"]["RNNs"]["dim"] == [1024, 1024]


def test_length_tables(synth_corpus, tmp_path):
    out = write_length_tables(synth_corpus / "LibriSpeech", ["dev-clean"], tmp_path)
    with open(out / "dev-clean.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8 and rows[0]["file_path"].startswith("dev-clean/") and rows[0]["file_path"].endswith(".flac")
    lengths = [int(r["length"]) for r in rows]
    assert lengths == sorted(lengths, reverse=True) and lengths[-1] > 0
    with pytest.raises(FileNotFoundError, match="no LibriSpeech audio"):
        write_length_tables(synth_corpus / "LibriSpeech", ["dev-noisy"], tmp_path)


def test_run_downstream_errors(student_ckpt, tmp_path):
    from espnet_distill.bin.run_downstream import prepare_argv

    with pytest.raises(ValueError, match="unknown s3prl upstream 'distill_studnet_local'"):
        prepare_argv(["-m", "train", "-u", "distill_studnet_local", "-k", str(student_ckpt), "-d", "asr"])
    with pytest.raises(ValueError, match="give --libri_root"):
        prepare_argv(["-m", "train", "-u", "distill_student_local", "-k", str(student_ckpt), "-d", "asr",
                      "-p", str(tmp_path / "exp")])


def test_run_downstream_asr_train_and_evaluate(synth_corpus, student_ckpt, tmp_path):
    exp = tmp_path / "superb"
    run([sys.executable, "-m", "espnet_distill.bin.run_downstream", "-m", "train", "-d", "asr",
         "-u", "distill_student_local", "-k", student_ckpt, "-p", exp,
         "--libri_root", synth_corpus / "LibriSpeech", "-o", TINY], tmp_path / "train.log", cwd=tmp_path)
    assert (exp / "states-60.ckpt").is_file() and (exp / "len_for_bucket" / "train-clean-100.csv").is_file()
    proc = run([sys.executable, "-m", "espnet_distill.bin.run_downstream", "-m", "evaluate", "-t", "test-clean",
                "-e", exp / "states-60.ckpt"], tmp_path / "evaluate.log", cwd=tmp_path)
    reported = float(re.search(r"test-clean wer: ([0-9.]+)", proc.stdout).group(1))
    refs = dict(read_kaldi_file(exp / "test-clean-noLM-ref.ark", allow_empty_value=True))
    hyps = dict(read_kaldi_file(exp / "test-clean-noLM-hyp.ark", allow_empty_value=True))
    result = score_texts(refs, hyps)
    # every test-clean utterance is scored (make_corpus deals the test split into test-clean/-other)
    assert result.num_utts == len(list((synth_corpus / "LibriSpeech" / "test-clean").rglob("*.flac"))) >= 8
    assert result.wer * 100 == pytest.approx(reported, abs=1e-6)  # jiwer agrees with s3prl's editdistance WER


@pytest.mark.slow
def test_s3prl_main_superb_asr(synth_corpus, student_ckpt, tmp_path):
    root = synth_corpus / "LibriSpeech"  # make_corpus writes SPEAKERS.TXT too, which s3prl reads
    proc = run([sys.executable, "-m", "espnet_distill.bin.s3prl_main", "SuperbASR", "--target_dir", tmp_path / "exp",
                "--prepare_data.dataset_root", root, "--build_upstream.name", "distill_student_local",
                "--build_upstream.path_or_url", student_ckpt, "--device", "cpu",
                "--train.total_steps", "20", "--train.eval_step", "20", "--train.save_step", "20",
                "--train.log_step", "10", "--build_downstream.model_conf.proj_size", "32",
                "--build_downstream.model_conf.hidden_size", "[32,32]", "--build_batch_sampler.train.batch_size", "8",
                "--prepare_data.n_jobs", "1"], tmp_path / "s3prl_main.log", cwd=tmp_path)
    assert re.search(r"test results: .*'wer': [0-9.]+", proc.stderr)
