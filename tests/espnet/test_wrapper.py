"""``espnet-distill-python``: a python that registers for model-building modules only."""

import json
import sys

import pytest
import torch
import yaml

from espnet_distill.bin.python_wrapper import PythonCommand, builds_models, split_command_line
from tests.espnet.helpers import REPO, WRAPPER, asr_data_args, best_model, run


@pytest.fixture(autouse=True)
def wrapper_installed():
    if not WRAPPER.is_file():
        pytest.fail(f"{WRAPPER} is missing: install the package (pip install -e .) to get the console script")


@pytest.mark.parametrize("argv,expected", [
    (["-m", "espnet2.bin.asr_train", "--ngpu", "0"], PythonCommand([], "m", "espnet2.bin.asr_train", ["--ngpu", "0"])),
    (["-mjson.tool", "x"], PythonCommand([], "m", "json.tool", ["x"])),
    (["-u", "-W", "ignore", "-m", "a.b"], PythonCommand(["-u", "-W", "ignore"], "m", "a.b", [])),
    (["-uBm", "a"], PythonCommand(["-uB"], "m", "a", [])),
    (["-Xdev", "-c", "print(1)", "-m"], PythonCommand(["-X", "dev"], "c", "print(1)", ["-m"])),
    (["run.py", "-m", "x"], PythonCommand([], "script", "run.py", ["-m", "x"])),
    (["-", "a"], PythonCommand([], None, None, ["-", "a"])),
    (["--version"], PythonCommand(["--version"], None, None, [])),
    ([], PythonCommand([], None, None, [])),
])
def test_split_command_line_like_python(argv, expected):
    assert split_command_line(argv) == expected


def test_split_command_line_needs_option_arguments():
    with pytest.raises(ValueError, match="Argument expected for the -m option"):
        split_command_line(["-m"])


@pytest.mark.parametrize("module,expected", [
    ("espnet2.bin.asr_train", True), ("espnet2.bin.asr_inference", True), ("espnet2.bin.asr_inference_k2", True),
    ("espnet2.bin.asr_transducer_train", True), ("espnet2.bin.st_inference", True), ("espnet2.bin.pack", True),
    ("espnet2.bin.s2t_train_ctc", True), ("s3prl.run_downstream", True),
    ("espnet2.bin.tokenize_text", False), ("espnet2.bin.aggregate_stats_dirs", False), ("espnet2.bin.launch", False),
    ("espnet2.bin.lm_train", False), ("espnet2.bin.tts_train", False), ("espnet2.bin.split_scps", False),
])
def test_only_model_building_modules_register(module, expected):
    assert builds_models(module) is expected


def test_helper_modules_print_what_plain_python_prints(synth_corpus, tmp_path):
    text = (synth_corpus / "test" / "text").read_text()
    cmd = ["-m", "espnet2.bin.tokenize_text", "-f", "2-", "--input", "-", "--output", "-", "--token_type", "char",
           "--non_linguistic_symbols", "none", "--remove_non_linguistic_symbols", "true"]
    plain = run([sys.executable, *cmd], tmp_path / "plain.log", cwd=tmp_path, stdin=text)
    wrapped = run([WRAPPER, *cmd], tmp_path / "wrapped.log", cwd=tmp_path, stdin=text)
    assert wrapped.stdout == plain.stdout and plain.stdout.count("\n") == 16
    probe = run([WRAPPER, "-c", "import sys; print(sorted({'torch', 'espnet2'} & set(sys.modules)))"],
                tmp_path / "probe.log", cwd=tmp_path)
    assert probe.stdout == "[]\n"  # no registration, no heavy imports: plain speed


def test_spawned_workers_register(tmp_path):
    proc = run([WRAPPER, "-m", "tests.espnet.spawn_probe"], tmp_path / "spawn.log", cwd=REPO,
               env={"ESPNET_DISTILL_REGISTER": "1"})
    seen = json.loads(proc.stdout)
    assert seen == {"parent": {"frontend": True, "upstream": True}, "child": {"frontend": True, "upstream": True}}


def test_stock_asr_train_through_the_wrapper(synth_corpus, student_ckpt, tmp_path):
    """What asr.sh stage 11 runs: espnet2's own asr_train, with fs=16k as asr.sh adds it."""
    exp = tmp_path / "exp"
    run([WRAPPER, "-m", "espnet2.bin.asr_train", "--config", REPO / "conf/asr/superb_asr.yaml",
         "--frontend_conf", f"student={student_ckpt}", "--frontend_conf", "fs=16k",
         "--encoder_conf", "hidden_size=32", "--encoder_conf", "output_size=32", "--optim_conf", "lr=0.01",
         "--max_epoch", "1", "--num_iters_per_epoch", "4", "--output_dir", exp, *asr_data_args(synth_corpus, tmp_path)],
        tmp_path / "train.log", cwd=tmp_path,
        env={"ESPNET_DISTILL_REGISTER": "0", "ESPNET_DISTILL_NO_HOOK": "1"})  # the wrapper decides, not the hook
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert config["frontend"] == "distill_student"
    assert config["frontend_conf"]["fs"] == "16k" and config["frontend_conf"]["freeze"] is True
    state = torch.load(exp / best_model(exp), weights_only=True)
    initial = torch.load(student_ckpt, weights_only=True)["state_dict"]
    assert all(torch.equal(state[f"frontend.student.{k}"], v) for k, v in initial.items())  # frozen
    assert torch.count_nonzero(state["frontend.layer_weights"]) > 0  # the weighted sum trained
