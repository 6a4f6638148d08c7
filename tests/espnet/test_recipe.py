"""egs2/librispeech_100/asr1 stays consistent (the asr.sh run itself is manual: see its README)."""

import subprocess
import sys

import pytest
import yaml

from espnet_distill.data.kaldi_dir import read_data_dir
from tests.espnet.helpers import REPO

RECIPE = REPO / "egs2/librispeech_100/asr1"


@pytest.mark.parametrize("script", ["run.sh", "setup.sh", "path.sh", "cmd.sh", "local/data.sh"])
def test_shell_syntax(script):
    subprocess.run(["bash", "-n", str(RECIPE / script)], check=True)


def test_configs_are_the_package_configs():
    for name, target in (("train_asr_finetune_ctc.yaml", "finetune_ctc.yaml"),
                         ("train_asr_finetune_ctc_10h.yaml", "finetune_ctc_10h.yaml"),
                         ("train_asr_finetune_ctc_1h.yaml", "finetune_ctc_1h.yaml"),
                         ("train_asr_superb.yaml", "superb_asr.yaml")):
        link = RECIPE / "conf" / name
        assert link.is_symlink() and link.resolve() == (REPO / "conf/asr" / target).resolve()
        config = yaml.safe_load(link.read_text())
        # asr.sh's default global_mvn needs stage 10 to run the student and write feats_stats.npz
        assert config["frontend"] == "distill_student" and config["model_conf"]["extract_feats_in_collect_stats"] is True
        assert config["frontend_conf"]["student"] == "exp/student/student.pth"  # where run.sh expects it
        assert config["best_model_criterion"][0] == ["valid", "cer_ctc", "min"]  # run.sh decodes valid.cer_ctc.ave.pth
    run_sh = (RECIPE / "run.sh").read_text()
    for needed in ("--python espnet-distill-python", "conf/train_asr_finetune_ctc${protocol}.yaml",
                   "conf/decode_ctc.yaml", "--inference_asr_model valid.cer_ctc.ave.pth"):
        assert needed in run_sh
    assert "--feats_normalize" not in run_sh  # asr.sh's default (global_mvn) works


def test_setup_needs_an_espnet_checkout(tmp_path):
    proc = subprocess.run(["bash", str(RECIPE / "setup.sh"), str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 1 and "is " + str(tmp_path) + " an ESPnet checkout" in proc.stderr


def test_librispeech_prep_on_the_synthetic_tree(synth_corpus, tmp_path):
    out = tmp_path / "dev_clean"
    subprocess.run([sys.executable, "-m", "espnet_distill.bin.prepare_librispeech", "--out", str(out),
                    str(synth_corpus / "LibriSpeech" / "dev-clean")], check=True)
    data = read_data_dir(out)
    assert data.utt_ids == sorted(data.utt_ids)
    assert all(data.wav_path(u).is_file() for u in data.utt_ids)
    # make_corpus deals the dev split, in id order, alternately into dev-clean and dev-other
    dev = read_data_dir(synth_corpus / "dev").texts()
    assert sorted(data.texts().values()) == sorted(dev[u] for u in sorted(dev)[0::2])
    assert (out / "spk2utt").read_text().count("\n") == len({u.split("-")[0] for u in data.utt_ids})
    lengths = dict(line.split() for line in (out / "utt2num_samples").read_text().splitlines())
    assert all(int(lengths[u]) > 400 for u in data.utt_ids)


def test_librispeech_prep_names_the_problem(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "espnet_distill.bin.prepare_librispeech", "--out", str(tmp_path / "x"),
                           str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "no *.trans.txt below it" in proc.stderr
