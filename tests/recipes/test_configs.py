"""Every shipped YAML config is parsed by its task and its model built (ESPnet's CI --dry_run idea).

The configs are found by walking conf/ and egs2/*/*/conf (links count once, by their target);
a YAML that no rule below claims fails the test, so a new config cannot ship untested.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

REPO = Path(__file__).resolve().parents[2]


def _shipped_configs():
    paths = sorted(REPO.glob("conf/**/*.yaml")) + sorted(REPO.glob("egs2/*/*/conf/*.yaml"))
    seen, out = set(), []
    for p in paths:
        target = p.resolve()
        if target not in seen:
            seen.add(target)
            out.append(p)
    return out


def _kind(path: Path) -> str:
    conf = yaml.safe_load(path.read_text()) or {}
    if path.parent.name == "student":
        return "student"
    if "distill_conf" in conf:
        return "distill"
    if conf.get("encoder") == "torchaudio_hubert":
        return "hubert"
    if conf.get("frontend") in ("distill_student", "s3prl") or "ctc_weight" in conf.get("model_conf", {}):
        return "asr"
    if "beam_size" in conf:
        return "decode"
    return "unknown"


CONFIGS = _shipped_configs()


def test_every_shipped_config_is_claimed():
    assert len(CONFIGS) >= 20
    unknown = [str(p.relative_to(REPO)) for p in CONFIGS if _kind(p) == "unknown"]
    assert not unknown, f"configs no test builds: {unknown}"


@pytest.fixture(scope="module")
def base_teacher(tmp_path_factory):
    """A full-size HuBERT Base (random weights, 504 units): the teacher every paper config names."""
    from espnet_distill.teacher import save_torchaudio_checkpoint
    from tests.oracles.teachers import base_config, random_hubert_pretrain

    config = base_config()
    model = random_hubert_pretrain(config, num_units=504, codeword_dim=256, seed=0)
    return save_torchaudio_checkpoint(model, tmp_path_factory.mktemp("teacher") / "hubert_base.pt", config)


@pytest.fixture(scope="module")
def asr_inputs(tmp_path_factory, corpus_cmvn):
    from espnet_distill.student import build_student, save_student

    d = tmp_path_factory.mktemp("asr")
    student = d / "student.pth"
    save_student(student, build_student("tiny_fbank", cmvn=corpus_cmvn))
    tokens = d / "tokens.txt"
    tokens.write_text("\n".join(["<blank>", "<unk>", "<space>", *"ABCDEFGHIJKLMNOPQRSTUVWXYZ'", "<sos/eos>"]) + "\n")
    return student, tokens


def _ids(path):
    return str(path.relative_to(REPO))


@pytest.mark.parametrize("path", [p for p in CONFIGS if _kind(p) == "student"], ids=_ids)
def test_student_config_builds(path):
    from espnet_distill.student import build_student, get_preset

    student = build_student(path)
    preset = get_preset(path.stem)  # the YAMLs are the presets, serialised
    assert student.count_parameters() == build_student(preset).count_parameters()


@pytest.mark.parametrize("path", [p for p in CONFIGS if _kind(p) == "distill"], ids=_ids)
def test_distill_config_builds(path, base_teacher, corpus_cmvn, tmp_path):
    from espnet_distill.tasks.distill import DistillTask, distill_plan

    args = DistillTask.get_parser().parse_args(["--config", str(path), "--teacher", str(base_teacher),
                                                "--output_dir", str(tmp_path)])
    plan = distill_plan(args)
    if plan["needs_cmvn"]:
        args.cmvn = str(corpus_cmvn)
    model = DistillTask.build_model(args)
    n = model.student.count_parameters()
    assert n > 0 and plan["student"] in str(path.read_text())
    assert not plan["warnings"], plan["warnings"]  # shipped schedules distil the encoder too
    speech = 0.1 * torch.randn(2, 16000)
    loss, stats, _ = model(speech, torch.tensor([16000, 12000]))
    assert torch.isfinite(loss) and "loss" in stats


@pytest.mark.parametrize("path", [p for p in CONFIGS if _kind(p) == "asr"], ids=_ids)
def test_asr_config_builds(path, asr_inputs, tmp_path):
    from espnet2.tasks.asr import ASRTask

    from espnet_distill.espnet import register

    register()
    student, tokens = asr_inputs
    argv = ["--config", str(path), "--token_list", str(tokens), "--output_dir", str(tmp_path)]
    conf = yaml.safe_load(path.read_text())
    if conf.get("frontend") == "distill_student":
        argv += ["--frontend_conf", f"student={student}"]
    args = ASRTask.get_parser().parse_args(argv)
    model = ASRTask.build_model(args)
    assert model.ctc is not None and model.vocab_size == len(tokens.read_text().split())
    loss, stats, _ = model(0.1 * torch.randn(2, 16000), torch.tensor([16000, 12000]),
                           torch.tensor([[5, 6, 7], [8, 9, -1]]), torch.tensor([3, 2]))
    assert torch.isfinite(loss)


@pytest.mark.parametrize("path", [p for p in CONFIGS if _kind(p) == "hubert"], ids=_ids)
def test_hubert_config_builds(path, tmp_path):
    from espnet2.tasks.hubert import HubertTask

    from espnet_distill.pretrain.hubert_model import register

    register()
    tokens = tmp_path / "units.txt"
    tokens.write_text("\n".join([str(i) for i in range(100)] + ["<unk>"]) + "\n")
    args = HubertTask.get_parser().parse_args(["--config", str(path), "--num_classes", "100", "--token_list",
                                               str(tokens), "--output_dir", str(tmp_path)])
    model = HubertTask.build_model(args)
    assert 3.5e6 < sum(p.numel() for p in model.parameters()) < 4.0e6  # the demo teacher's size


@pytest.mark.parametrize("path", [p for p in CONFIGS if _kind(p) == "decode"], ids=_ids)
def test_decode_config_parses(path):
    from espnet2.bin.asr_inference import get_parser

    args = get_parser().parse_args(["--config", str(path), "--asr_train_config", "x", "--asr_model_file", "y",
                                    "--output_dir", "z", "--data_path_and_name_and_type", "a,speech,sound"])
    conf = yaml.safe_load(path.read_text())
    assert all(getattr(args, k) == v for k, v in conf.items())
