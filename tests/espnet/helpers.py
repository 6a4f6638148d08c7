"""Helpers of the ESPnet and s3prl integration tests: tiny students, ESPnet inputs, subprocesses."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import torch

from espnet_distill.data.asr_prep import char_token_list, write_shape_files, write_token_list
from espnet_distill.data.kaldi_dir import read_data_dir

REPO = Path(__file__).resolve().parents[2]
WRAPPER = Path(sys.executable).parent / "espnet-distill-python"


#: Layers of the test student (hidden states 0..MICRO_LAYERS).
MICRO_LAYERS = 2


def make_student(path: Path, seed: int = 0) -> Path:
    """A randomly initialised micro student checkpoint (what distillation would export).

    The ``tiny_fbank`` preset shrunk to 2 x (64, FFN 128, 2 heads): 0.14 M parameters,
    about 8x faster to train than the preset on 2 CPU cores.
    """
    from espnet_distill.student import build_student, get_preset, save_student

    config = get_preset("tiny_fbank").without_heads().to_dict()
    config["encoder"].update(num_layers=MICRO_LAYERS, embed_dim=64, ffn_dim=128, num_heads=2,
                             pos_conv_kernel=16, pos_conv_groups=4)
    config["name"] = "micro_fbank"
    torch.manual_seed(seed)
    return save_student(path, build_student(config), provenance={"made_by": "tests"})


def asr_data_args(corpus: Path, work: Path) -> List[str]:
    """``asr_train`` options for the corpus's train/dev sets: char tokens, shapes, fold lengths."""
    tokens = write_token_list(char_token_list(read_data_dir(corpus / "train").texts().values()), work / "tokens.txt")
    args = ["--ngpu", "0", "--token_type", "char", "--token_list", str(tokens),
            "--fold_length", "80000", "--fold_length", "150"]
    for split, role in (("train", "train"), ("dev", "valid")):
        shapes = write_shape_files(corpus / split, work / split)
        args += [f"--{role}_data_path_and_name_and_type", f"{corpus / split}/wav.scp,speech,sound",
                 f"--{role}_data_path_and_name_and_type", f"{corpus / split}/text,text,text",
                 f"--{role}_shape_file", str(shapes["speech_shape"]),
                 f"--{role}_shape_file", str(shapes["text_shape.char"])]
    return args


def best_model(exp: Path) -> str:
    """The file ESPnet keeps for the config's first ``best_model_criterion`` (e.g. valid.cer_ctc.best.pth)."""
    import yaml

    phase, key, _ = yaml.safe_load((exp / "config.yaml").read_text())["best_model_criterion"][0]
    return f"{phase}.{key}.best.pth"


def decode_args(corpus: Path, exp: Path, out: Path) -> List[str]:
    return ["--ngpu", "0", "--batch_size", "1",
            "--data_path_and_name_and_type", f"{corpus / 'test'}/wav.scp,speech,sound",
            "--asr_train_config", str(exp / "config.yaml"), "--asr_model_file", str(exp / best_model(exp)),
            "--output_dir", str(out), "--ctc_weight", "1.0", "--lm_weight", "0", "--beam_size", "1"]


def run(cmd: Sequence[str], log: Path, cwd: Path, env: Dict[str, str] = None, check: bool = True,
        stdin: str = None) -> subprocess.CompletedProcess:
    """Run ``cmd`` in ``cwd``; keep its output in ``log``; fail with its tail unless it succeeded."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **(env or {})}
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=full_env, capture_output=True, text=True,
                          input=stdin, check=False)
    log.write_text(f"$ {' '.join(map(str, cmd))}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    if check:
        assert proc.returncode == 0, f"{cmd[:3]} failed ({proc.returncode}), see {log}:\n{proc.stderr[-3000:]}"
    return proc


def frontend_state(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if k.startswith("frontend.")}


def assert_decoder_frontend_matches(exp: Path, cwd: Path, model_name: str = None) -> Dict[str, torch.Tensor]:
    """Build the model as ``asr_inference`` does (in ``cwd``) and check every ``frontend.*`` tensor came from the file.

    ESPnet loads with ``strict=False``, so a key the frontend renamed or lost would keep
    its freshly built (checkpoint or random) value without a word.

    Returns:
        The trained ``frontend.*`` tensors.
    """
    from espnet2.tasks.asr import ASRTask

    from espnet_distill.espnet import register

    register(["asr"])
    model_name = model_name or best_model(exp)
    trained = frontend_state(torch.load(exp / model_name, map_location="cpu", weights_only=True))
    with contextlib.chdir(cwd):  # relative paths in the config are relative to the recipe dir
        model, _ = ASRTask.build_model_from_file(exp / "config.yaml", exp / model_name, "cpu")
    built = frontend_state(model.state_dict())
    assert trained, "the trained model has no frontend.* tensors"
    assert sorted(built) == sorted(trained), (
        f"frontend keys differ: only in the model {sorted(set(built) - set(trained))[:5]}, "
        f"only in the file {sorted(set(trained) - set(built))[:5]}")
    different = [k for k in trained if not torch.equal(built[k], trained[k])]
    assert not different, f"frontend tensors not loaded from {model_name}: {different[:5]}"
    return trained
