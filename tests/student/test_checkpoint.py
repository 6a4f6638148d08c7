"""Student checkpoints: self-describing, heads dropped, strict and loud loading."""

from __future__ import annotations

import pytest
import torch

from espnet_distill.student import FORMAT, CheckpointError, build_student, load_student, read_checkpoint, save_student
from espnet_distill.student.checkpoint import export_student
from tests.student.helpers import noise_wavs, pad_batch


@pytest.mark.parametrize("name", ["tiny_fbank", "tiny_sw_cnn"])
def test_round_trip_drops_heads_and_keeps_outputs(name, tmp_path, tiny_teacher):
    student = build_student(name, teacher=tiny_teacher)
    if name == "tiny_fbank":
        student.frontend.set_cmvn(torch.full((80,), 7.0), torch.full((80,), 2.5))
    path = save_student(tmp_path / "student.pt", student, provenance={"teacher": "random", "steps": 3})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student.pt"]  # no temporary file left

    ckpt = torch.load(path, weights_only=True)
    assert ckpt["format"] == FORMAT and ckpt["format_version"] == 1
    assert ckpt["config"]["heads"] == {"targets": None, "units": None, "frontend": False}
    assert not any(k.startswith(("pred_heads", "unit_head", "frontend_head")) for k in ckpt["state_dict"])
    assert ckpt["provenance"]["teacher"] == "random" and "espnet_distill_version" in ckpt["provenance"]
    if name == "tiny_fbank":
        assert torch.equal(ckpt["cmvn"]["std"], torch.full((80,), 2.5))
    else:
        assert ckpt["cmvn"] is None

    loaded = load_student(path)
    assert not loaded.training and loaded.pred_heads is None and loaded.unit_head is None
    assert loaded.count_parameters(include_heads=True) == student.count_parameters(include_heads=False)
    wavs, lens = pad_batch(noise_wavs([7000, 5000]))
    student.eval()
    with torch.no_grad():
        for a, b in zip(student(wavs, lens).hidden_states, loaded(wavs, lens).hidden_states):
            torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_keep_heads_and_without_heads(tmp_path):
    student = build_student("tiny_cnn")
    loaded = load_student(save_student(tmp_path / "s.pt", student, keep_heads=True))
    assert loaded.count_parameters(True) == student.count_parameters(True)
    bare = student.without_heads()
    assert bare.pred_heads is None and bare.count_parameters(True) == student.count_parameters(False)
    assert export_student(student)["config"]["heads"]["targets"] is None


class Opaque:
    """Any pickled object: weights_only loading refuses it."""


def test_loading_errors_are_named(tmp_path):
    student = build_student("tiny_cnn")
    good = export_student(student)

    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_student(tmp_path / "missing.pt")

    torch.save({"model": student.state_dict()}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not an espnet_distill.student checkpoint .*'model'"):
        load_student(tmp_path / "other.pt")

    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(CheckpointError, match="weights_only=True"):
        load_student(tmp_path / "text.pt")

    torch.save({**good, "provenance": Opaque()}, tmp_path / "pickled.pt")
    with pytest.raises(CheckpointError, match="weights_only=True"):
        read_checkpoint(tmp_path / "pickled.pt")

    torch.save({**good, "format_version": 2}, tmp_path / "newer.pt")
    with pytest.raises(CheckpointError, match="format_version 2 is not supported"):
        load_student(tmp_path / "newer.pt")

    state = dict(good["state_dict"])
    state.pop("encoder.layer_norm.bias")
    state["encoder.extra.weight"] = torch.zeros(1)
    torch.save({**good, "state_dict": state}, tmp_path / "keys.pt")
    with pytest.raises(
        CheckpointError, match=r"missing keys: encoder\.layer_norm\.bias; unexpected keys: encoder\.extra\.weight"
    ):
        load_student(tmp_path / "keys.pt")

    torch.save({**good, "config": {**good["config"], "encoder": {"num_layerz": 1}}}, tmp_path / "cfg.pt")
    with pytest.raises(CheckpointError, match="invalid student config: .*num_layerz"):
        load_student(tmp_path / "cfg.pt")


def test_provenance_must_be_json_like(tmp_path):
    with pytest.raises(ValueError, match="JSON-like"):
        save_student(tmp_path / "s.pt", build_student("tiny_cnn"), provenance={"when": object()})
    assert not (tmp_path / "s.pt").exists()
