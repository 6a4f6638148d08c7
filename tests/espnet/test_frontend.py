"""The ``distill_student`` frontend and its registration, in process."""

import pytest
import torch

from espnet_distill.espnet import DistillStudentFrontend, register
from espnet_distill.student import load_student

WAVS = torch.randn(2, 16000) * 0.1
LENGTHS = torch.tensor([16000, 9000])


def test_register_is_idempotent_and_covers_speech_tasks():
    import espnet2.tasks.asr as asr
    import espnet2.tasks.st as st

    first = register()
    assert "asr" in first and "st" in first
    assert register() == first
    assert asr.frontend_choices.get_class("distill_student") is DistillStudentFrontend
    assert st.frontend_choices.get_class("distill_student") is DistillStudentFrontend
    import s3prl.hub

    assert callable(s3prl.hub.distill_student_local)


def test_register_refuses_a_different_class_and_unknown_tasks():
    import espnet2.tasks.asr as asr

    register(["asr"])

    class Impostor(DistillStudentFrontend):
        pass

    asr.frontend_choices.classes["distill_student"] = Impostor
    try:
        with pytest.raises(ValueError, match="refusing to replace"):
            register(["asr"])
    finally:
        asr.frontend_choices.classes["distill_student"] = DistillStudentFrontend
    with pytest.raises(ValueError, match="unknown ESPnet task"):
        register(["tts"])


def test_unknown_frontend_name_is_a_clear_error():
    import espnet2.tasks.asr as asr

    register(["asr"])
    with pytest.raises(ValueError, match="--frontend must be one of .*distill_student"):
        asr.frontend_choices.get_class("distill_studnet")


@pytest.mark.parametrize("output,layer,expected", [("last", None, 2), ("layer", 0, 0), ("layer", 1, 1), ("layer", -1, 2)])
def test_outputs_select_the_right_hidden_state(student_ckpt, output, layer, expected):
    frontend = DistillStudentFrontend(str(student_ckpt), fs="16k", output=output, layer=layer).eval()
    feats, lengths = frontend(WAVS, LENGTHS)
    reference = load_student(student_ckpt)(WAVS, LENGTHS)
    assert feats.shape == (2, 49, frontend.output_size())
    assert lengths.tolist() == [49, (9000 - 400) // 320 + 1]
    assert torch.allclose(feats, reference.hidden_states[expected], atol=1e-5)
    assert frontend.hop_length == 320 and frontend.output_size() == reference.hidden_states[0].shape[-1]


def test_weighted_sum_starts_as_the_mean_and_trains(student_ckpt):
    frontend = DistillStudentFrontend(str(student_ckpt), output="weighted_sum", freeze=True)
    frontend.eval()
    feats, _ = frontend(WAVS, LENGTHS)
    hidden = load_student(student_ckpt)(WAVS, LENGTHS).hidden_states
    assert torch.allclose(feats, torch.stack(hidden).mean(0), atol=1e-5)
    frontend.train()
    frontend(WAVS, LENGTHS)[0].sum().backward()
    assert frontend.layer_weights.grad is not None
    assert all(p.grad is None for p in frontend.student.parameters())
    assert not frontend.student.training  # frozen students stay in eval mode


def test_fine_tuned_student_gets_gradients(student_ckpt):
    frontend = DistillStudentFrontend(str(student_ckpt))
    frontend(WAVS, LENGTHS)[0].sum().backward()
    assert frontend.student.training
    assert all(p.grad is not None for p in frontend.student.encoder.parameters())


def test_freeze_steps_then_train(student_ckpt):
    frontend = DistillStudentFrontend(str(student_ckpt), freeze_steps=2)
    for _ in range(2):
        assert not frontend(WAVS, LENGTHS)[0].requires_grad  # frozen: no graph through the student
    frontend(WAVS, LENGTHS)[0].sum().backward()
    assert all(p.grad is not None for p in frontend.student.encoder.parameters())
    assert int(frontend.state_dict()["num_updates"]) == 3


def test_reload_survives_espnet_init(student_ckpt):
    from espnet2.torch_utils.initialize import initialize

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.frontend = DistillStudentFrontend(str(student_ckpt), output="weighted_sum")

    model = Model()
    before = {k: v.clone() for k, v in model.frontend.student.state_dict().items()}
    with torch.no_grad():
        model.frontend.layer_weights.fill_(3.0)
    initialize(model, "xavier_uniform")
    after = model.frontend.student.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert torch.count_nonzero(model.frontend.layer_weights) == 0


@pytest.mark.parametrize("kwargs,error,match", [
    ({"fs": 8000}, ValueError, "16000 Hz"),
    ({"fs": "8k"}, ValueError, "16000 Hz"),
    ({"output": "mean"}, ValueError, "output must be one of last, layer, weighted_sum"),
    ({"output": "layer", "layer": 3}, ValueError, r"layer in \[0, 2\]"),
    ({"output": "last", "layer": 1}, ValueError, "needs output: layer"),
    ({"freeze": True, "freeze_steps": 3}, ValueError, "not both"),
    ({"freeze_steps": -1}, ValueError, "freeze_steps must be an integer >= 0"),
])
def test_bad_options_are_clear_errors(student_ckpt, kwargs, error, match):
    with pytest.raises(error, match=match):
        DistillStudentFrontend(str(student_ckpt), **kwargs)


def test_missing_and_wrong_checkpoints_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="needs frontend_conf.student"):
        DistillStudentFrontend()
    with pytest.raises(FileNotFoundError, match="does not exist .*save_student"):
        DistillStudentFrontend(str(tmp_path / "nope.ckpt"))
    wrong = tmp_path / "model.pth"
    torch.save({"encoder.weight": torch.zeros(2)}, wrong)  # e.g. an ESPnet model file
    with pytest.raises(ValueError, match="not an espnet_distill.student checkpoint"):
        DistillStudentFrontend(str(wrong))


def test_student_config_rebuilds_without_the_checkpoint(student_ckpt, tmp_path):
    """A trained model's config.yaml carries student_config: with the checkpoint gone, the same
    architecture is built, and the model file's weights make it compute the same features."""
    from espnet_distill.espnet.frontend import student_config_entry

    trained = DistillStudentFrontend(student=str(student_ckpt)).eval()
    conf = student_config_entry(trained.student.config)
    rebuilt = DistillStudentFrontend(student=str(tmp_path / "gone.ckpt"), student_config=conf).eval()
    assert rebuilt.student_path is None
    assert rebuilt.state_dict().keys() == trained.state_dict().keys()
    assert not torch.equal(rebuilt(WAVS, LENGTHS)[0], trained(WAVS, LENGTHS)[0])  # random until loaded
    rebuilt.load_state_dict(trained.state_dict(), strict=True)
    torch.testing.assert_close(rebuilt(WAVS, LENGTHS)[0], trained(WAVS, LENGTHS)[0], rtol=0, atol=0)
    with pytest.raises(ValueError, match="init: needs the student checkpoint"):
        rebuilt.reload_pretrained_parameters()
    # with the checkpoint present, its config must be the recorded one
    other = dict(conf, encoder=dict(conf["encoder"], num_layers=conf["encoder"]["num_layers"] + 1))
    with pytest.raises(ValueError, match="student_config is not the config of"):
        DistillStudentFrontend(student=str(student_ckpt), student_config=other)
    typo = r"student_config: encoder: unknown key\(s\) 'num_layrs' \(did you mean 'num_layers'"
    with pytest.raises(ValueError, match=typo):
        DistillStudentFrontend(student_config=dict(conf, encoder={**conf["encoder"], "num_layrs": 2}))


def test_build_model_records_the_student_architecture(student_ckpt, tmp_path):
    """What ESPnet dumps to config.yaml after build_model holds frontend_conf.student_config."""
    import argparse

    import espnet2.tasks.asr as asr

    from espnet_distill.espnet.frontend import student_config_entry

    register(["asr"])
    parser = asr.ASRTask.get_parser()
    args = parser.parse_args(["--token_list", str(_tokens(tmp_path)),
                              "--frontend", "distill_student", "--frontend_conf", f"student={student_ckpt}",
                              "--encoder", "identity", "--decoder", "none", "--ctc_conf", "dropout_rate=0.0",
                              "--model_conf", "ctc_weight=1.0"])
    assert isinstance(args, argparse.Namespace) and "student_config" not in args.frontend_conf
    model = asr.ASRTask.build_model(args)
    assert args.frontend_conf["student_config"] == student_config_entry(model.frontend.student.config)
    assert args.frontend_conf["student_config"]["encoder"]["num_layers"] == model.frontend.student.num_layers


def _tokens(tmp_path):
    path = tmp_path / "tokens.txt"
    path.write_text("<blank>\n<unk>\na\nb\n<sos/eos>\n")
    return path
