"""The synthetic corpus: deterministic, well-formed, and in both layouts."""

import json
import subprocess
import sys

import pytest

from espnet_distill.data.corpus import CorpusSpec, make_corpus, sample_sentences, vocabulary
from espnet_distill.data.audio import load_audio
from espnet_distill.data.kaldi_dir import validate_data_dir
from tests.conftest import require_tts


def test_grammar_is_deterministic_and_sizeable():
    assert sample_sentences(50, seed=3) == sample_sentences(50, seed=3)
    assert sample_sentences(50, seed=3) != sample_sentences(50, seed=4)
    words = vocabulary()
    assert 250 <= len(words) <= 1000
    for sentence in sample_sentences(200, seed=0):
        assert sentence == sentence.upper() and "  " not in sentence
        assert set(sentence) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ' ")
        assert set(sentence.split()) <= set(words)


def test_spec_validation():
    with pytest.raises(ValueError, match="exactly one of num_utts or hours"):
        CorpusSpec()
    with pytest.raises(ValueError, match="layout must be"):
        CorpusSpec(num_utts=10, layout="timit")
    with pytest.raises(ValueError, match="unknown voices"):
        CorpusSpec(num_utts=10, voices=["fl_nobody"])


def test_corpus_dirs_are_valid_and_disjoint(synth_corpus):
    summary = json.loads((synth_corpus / "corpus.json").read_text())
    assert summary["splits"]["train"]["num_utts"] == 128
    assert summary["splits"]["dev"]["num_utts"] == summary["splits"]["test"]["num_utts"] == 16
    texts = {}
    for split in ("train", "dev", "test", "train_labelled"):
        data = validate_data_dir(synth_corpus / split, require_text=True)
        texts[split] = set(data.texts().values())
        assert (synth_corpus / split / "spk2utt").is_file()
    assert not texts["train"] & texts["test"] and not texts["train"] & texts["dev"]
    assert texts["train_labelled"] <= texts["train"]
    labelled_s = summary["splits"]["train_labelled"]["hours"] * 3600
    assert 60 <= labelled_s < 60 + 8  # asked for 1 minute; stops at the first utterance past it
    wav = load_audio(next(iter(validate_data_dir(synth_corpus / "test").wav_scp))[1])
    assert wav.abs().max() > 0.01  # real speech, not silence
    assert summary["splits"]["train"]["speakers"] == 12


def test_librispeech_layout(synth_corpus):
    root = synth_corpus / "LibriSpeech"
    # LibriSpeech's seven parts: train (128) dealt into three, dev (16) and test (16) into two each
    for split, n in (("train-clean-100", 43), ("train-clean-360", 43), ("train-other-500", 42),
                     ("dev-clean", 8), ("dev-other", 8), ("test-clean", 8), ("test-other", 8)):
        flacs = sorted((root / split).glob("*/*/*.flac"))
        assert len(flacs) == n
        trans = {}
        for t in (root / split).glob("*/*/*.trans.txt"):
            for line in t.read_text().splitlines():
                uid, text = line.split(" ", 1)
                trans[uid] = text
        assert set(trans) == {f.stem for f in flacs}
        spk, chapter, _ = flacs[0].stem.split("-")
        assert flacs[0].parent == root / split / spk / chapter
    speakers = (root / "SPEAKERS.TXT").read_text().splitlines()
    assert "SEX" in speakers[0] and len(speakers) == 13
    assert speakers[1].split("|")[0].strip() == "100" and speakers[1].split("|")[1].strip() == "F"  # fl_slt


def test_same_seed_same_audio_and_resume(tmp_path):
    require_tts()
    spec = CorpusSpec(num_utts=12, seed=7, voices=["fl_slt", "es_usf3"], labelled_minutes=0.1)
    a = make_corpus(tmp_path / "a", spec, progress=False)
    b = make_corpus(tmp_path / "b", spec, progress=False)
    assert a["splits"] == b["splits"]
    for wav in sorted((tmp_path / "a" / "wav").rglob("*.wav")):
        twin = tmp_path / "b" / wav.relative_to(tmp_path / "a")
        assert wav.read_bytes() == twin.read_bytes()
    # a finished corpus is detected and kept; another spec in the same place is refused
    assert make_corpus(tmp_path / "a", spec, progress=False) == a
    with pytest.raises(FileExistsError, match="holds another corpus"):
        make_corpus(tmp_path / "a", CorpusSpec(num_utts=13, seed=7), progress=False)


def test_hours_option(tmp_path):
    require_tts()
    summary = make_corpus(tmp_path / "h", CorpusSpec(hours=0.02, voices=["fl_rms"]), progress=False)
    total = sum(summary["splits"][s]["hours"] for s in ("train", "dev", "test"))
    assert 0.02 <= total < 0.03


def test_cli(tmp_path):
    require_tts()
    proc = subprocess.run(
        [sys.executable, "-m", "espnet_distill.bin.make_corpus", "--out", str(tmp_path / "c"), "--num-utts", "6",
         "--voices", "fl_awb", "--no-progress"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["train"]["num_utts"] == 4
    bad = subprocess.run([sys.executable, "-m", "espnet_distill.bin.make_corpus", "--out", str(tmp_path / "d"),
                          "--num-utts", "1"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "num_utts must be in [3," in bad.stderr
