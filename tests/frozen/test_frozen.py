"""The SUPERB-style frozen protocol: specs, settings, CTC codec, verdicts, and real runs on
synthesised speech with s3prl's own upstreams (fbank, a student checkpoint)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from espnet_distill.frozen import FrozenConfig, UpstreamSpec, run_frozen
from espnet_distill.frozen import upstreams as frozen_upstreams
from espnet_distill.frozen.downstream import CharCodec
from espnet_distill.frozen.protocol import gain_kept
from espnet_distill.report.frozen import compare

TOKENS = ["<blank>", "<unk>", "<space>", "A", "B", "C", "<sos/eos>"]


def test_spec_parse_and_seed():
    assert UpstreamSpec.parse("fbank") == UpstreamSpec("fbank", None)
    spec = UpstreamSpec.parse("random=exp/r{seed}.pth")
    assert spec.per_seed() and spec.resolve(2).source == "exp/r2.pth"
    assert spec.resolve(1).key() != spec.resolve(2).key()
    with pytest.raises(ValueError, match="NAME=SOURCE"):
        UpstreamSpec.parse("=x.pth")
    with pytest.raises(ValueError, match="NAME=SOURCE"):
        UpstreamSpec.parse("a b=x.pth")


def test_config_validates():
    assert FrozenConfig.from_dict({"updates": 10}).updates == 10
    with pytest.raises(ValueError, match=r"unknown key\(s\) 'update' \(did you mean 'updates'\?\)"):
        FrozenConfig.from_dict({"update": 10})
    with pytest.raises(ValueError, match="lr: expected a number > 0"):
        FrozenConfig(lr=0)
    with pytest.raises(ValueError, match="dropout"):
        FrozenConfig(dropout=1.0)


def test_codec_round_trip_and_greedy_ctc():
    codec = CharCodec(TOKENS)
    assert codec.encode("AB CA") == [3, 4, 2, 5, 3]
    assert codec.encode("AZ") == [3, 1]  # unknown characters map to <unk>
    # repeats collapse unless a blank separates them; blanks and <unk> vanish
    assert codec.decode([0, 3, 3, 0, 3, 4, 2, 2, 5, 0, 1]) == "AAB C"
    with pytest.raises(ValueError, match="<blank>"):
        CharCodec(["a", "<blank>"])


def test_gain_kept_and_verdicts():
    res = {"teacher": {"cer": 0.30, "cer_std": 0.01, "seeds": [1, 2, 3]},
           "student": {"cer": 0.325, "cer_std": 0.01, "seeds": [1, 2, 3]},
           "random": {"cer": 0.335, "cer_std": 0.02, "seeds": [1, 2, 3]},
           "fbank": {"cer": 0.50, "cer_std": 0.02, "seeds": [1, 2, 3]}}
    assert gain_kept(res) == pytest.approx(0.875)
    assert gain_kept({**res, "teacher": {**res["teacher"], "cer": 0.6}}) is None  # no gain to keep
    assert compare(res, "teacher", "fbank")["clear"]
    assert compare(res, "student", "random")["text"].startswith("no difference")
    assert "not conclusive" in compare(res, "teacher", "student")["text"]
    assert compare(res, "teacher", "nothing") is None


@pytest.fixture(scope="module")
def frozen_run(synth_corpus, tmp_path_factory):
    """fbank and two random students (one per seed), 2 seeds, 60 updates: the real protocol, short."""
    from espnet_distill.student import build_student, get_preset, save_student

    work = tmp_path_factory.mktemp("frozen")
    for seed in (1, 2):
        torch.manual_seed(seed)
        save_student(work / f"rand{seed}.pth", build_student(get_preset("tiny_cnn")), provenance={"seed": seed})
    tokens = sorted({ch for line in (synth_corpus / "train" / "text").read_text().splitlines()
                     for ch in line.split(" ", 1)[1] if ch != " "})
    token_list = ["<blank>", "<unk>", "<space>", *tokens, "<sos/eos>"]
    config = FrozenConfig(updates=60, valid_every=20, proj_size=32, hidden_size=32)
    result = run_frozen([UpstreamSpec("fbank"), UpstreamSpec("random", str(work / "rand{seed}.pth"))],
                        synth_corpus / "train_labelled", synth_corpus / "dev", [synth_corpus / "test"],
                        token_list, work / "out", seeds=[1, 2], config=config)
    return work, result, token_list, config


def test_run_writes_means_spreads_and_seeds(frozen_run, synth_corpus):
    work, result, _, _ = frozen_run
    assert json.loads((work / "out" / "frozen.json").read_text()) == json.loads(json.dumps(result))
    assert result["test_sets"] == ["test"]
    n_test = len((synth_corpus / "test" / "wav.scp").read_text().splitlines())
    for name in ("fbank", "random"):
        r = result["upstreams"][name]
        assert r["seeds"] == [1, 2]
        cers = [run["tests"]["test"]["cer"] for run in r["runs"]]
        assert r["cer"] == pytest.approx(sum(cers) / 2) and r["cer_std"] == pytest.approx(abs(cers[0] - cers[1]) / 2 ** 0.5)
        assert all(run["tests"]["test"]["num_utts"] == n_test for run in r["runs"])
        # 60 updates of CTC on a minute of speech learn something, but far from everything
        assert all(0.2 < c < 1.0 for c in cers), cers
        assert all(1 <= run["best_update"] <= 60 for run in r["runs"])
        for run in r["runs"]:
            assert sum(run["layer_weights"]) == pytest.approx(1.0)
    # each seed of the random student is its own checkpoint; fbank is one s3prl upstream
    assert [run["source"] for run in result["upstreams"]["random"]["runs"]] == \
        [str(work / "rand1.pth"), str(work / "rand2.pth")]
    assert len(result["upstreams"]["random"]["runs"][0]["layer_weights"]) == 5  # tiny_cnn: the CNN output and 4 layers
    assert result["upstreams"]["fbank"]["runs"][0]["layer_weights"] == [1.0]
    assert result["gain_kept"] is None  # no teacher/student in this run


def test_features_are_cached_and_checked(frozen_run, synth_corpus, monkeypatch):
    work, first, token_list, config = frozen_run
    cached = sorted(p.name for p in (work / "out" / "cache").iterdir())
    assert len(cached) == 3 * 3  # fbank + 2 random students, x train/dev/test

    def no_upstream(spec):
        raise AssertionError(f"{spec} was rebuilt although its features are cached")

    monkeypatch.setattr(frozen_upstreams, "build_upstream", no_upstream)
    (work / "again").mkdir()
    (work / "again" / "cache").symlink_to(work / "out" / "cache")
    again = run_frozen([UpstreamSpec("fbank")], synth_corpus / "train_labelled", synth_corpus / "dev",
                       [synth_corpus / "test"], token_list, work / "again", seeds=[1], config=config)
    assert sorted(p.name for p in (work / "out" / "cache").iterdir()) == cached  # nothing new extracted
    # the same seed on the same features trains the same downstream
    assert again["upstreams"]["fbank"]["runs"][0]["tests"] == first["upstreams"]["fbank"]["runs"][0]["tests"]


def test_batched_extraction_matches_one_by_one(synth_corpus, tmp_path):
    from espnet_distill.student import build_student, get_preset, save_student

    torch.manual_seed(0)
    ckpt = save_student(tmp_path / "s.pth", build_student(get_preset("tiny_fbank")), provenance={})
    upstream = frozen_upstreams.build_upstream(UpstreamSpec("student", str(ckpt)))
    one = frozen_upstreams.extract(upstream, synth_corpus / "test", batch_size=1)
    many = frozen_upstreams.extract(upstream, synth_corpus / "test", batch_size=5)
    assert one.states.keys() == many.states.keys()
    # s3prl counts ceil(samples / 320) frames, 1-2 more than the model's own (samples - 400) // 320 + 1;
    # in a padded batch those last frames see the padding, every other frame must not
    for utt in one.states:
        assert one.states[utt].shape == many.states[utt].shape
        torch.testing.assert_close(one.states[utt][:, :-2].float(), many.states[utt][:, :-2].float(), atol=2e-2, rtol=1e-2)
    assert one.downsample_rate == 320
    assert FrozenConfig().extract_batch_size == 1  # the default: no frame depends on other utterances


def test_cli_refuses_bad_settings(tmp_path, synth_corpus):
    base = [sys.executable, "-m", "espnet_distill.bin.frozen_eval", "--train_dir", str(synth_corpus / "train_labelled"),
            "--valid_dir", str(synth_corpus / "dev"), "--test_dir", str(synth_corpus / "test"), "--out", str(tmp_path)]
    (tmp_path / "tokens.txt").write_text("\n".join(TOKENS))
    proc = subprocess.run(base + ["--upstream", "fbank", "--token_list", str(tmp_path / "tokens.txt"),
                                  "--conf", "hiden_size=3"], capture_output=True, text=True)
    assert proc.returncode == 2 and "'hiden_size' (did you mean 'hidden_size'?)" in proc.stderr
    proc = subprocess.run(base + ["--upstream", "teacher=/nonexistent/exp", "--token_list", str(tmp_path / "tokens.txt"),
                                  "--seeds", "1"], capture_output=True, text=True)
    assert proc.returncode == 2 and "teacher: /nonexistent/exp does not exist" in proc.stderr
