"""Scoring: jiwer CER/WER, with mismatched files refused rather than silently scored."""

import pytest

from espnet_distill.data.scoring import score_files, score_texts


def test_error_rates():
    r = score_texts({"a": "HELLO WORLD", "b": "ONE TWO"}, {"a": "hello word", "b": ""})
    assert r.wer == pytest.approx(3 / 4)  # one substitution + two deletions over four words
    assert r.cer == pytest.approx((1 + 7) / (11 + 7))
    assert (r.num_utts, r.ref_words, r.ref_chars) == (2, 4, 18)


def test_mismatched_ids_are_an_error():
    with pytest.raises(ValueError, match=r"1 missing \(e\.g\. \['b'\]\), 1 unknown \(e\.g\. \['c'\]\)"):
        score_texts({"a": "X", "b": "Y"}, {"a": "X", "c": "Y"})


def test_files_with_empty_hypotheses(tmp_path):
    (tmp_path / "ref").write_text("u1 GO HOME\nu2 STOP\n")
    (tmp_path / "hyp").write_text("u1 GO HOME\nu2\n")
    r = score_files(tmp_path / "ref", tmp_path / "hyp")
    assert r.wer == pytest.approx(1 / 3)


def test_cli_scores_several_decodings_in_one_call(tmp_path, capsys):
    import json

    from espnet_distill.bin.score import main

    (tmp_path / "ref").write_text("u1 GO HOME\nu2 STOP\n")
    (tmp_path / "hyp1").write_text("u1 GO HOME\nu2 STOP\n")
    (tmp_path / "hyp2").write_text("u1 GO\nu2 STOP\n")
    argv = ["--ref", str(tmp_path / "ref"), "--hyp", str(tmp_path / "hyp1"), "--json", str(tmp_path / "1.json"),
            "--ref", str(tmp_path / "ref"), "--hyp", str(tmp_path / "hyp2"), "--json", str(tmp_path / "2.json")]
    assert main(argv) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [x["wer"] for x in lines] == [0.0, pytest.approx(1 / 3)]  # in the order given
    assert json.loads((tmp_path / "2.json").read_text())["wer"] == pytest.approx(1 / 3)
    assert main(argv + ["--hyp", str(tmp_path / "hyp1")]) == 2  # 3 --hyp for 2 --ref
