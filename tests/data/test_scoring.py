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
