"""Named student presets; ``conf/student/<name>.yaml`` is each one serialised.

Full size (HuBERT Base teacher: 768-dim, 12 layers, 504 units, 256-dim codewords),
parameters without heads:

=============  ===================================================================  ===========
``sw_cnn``     DistilHuBERT: CNN 512 + 2 x (768, FFN 3072, 12 heads); heads for      23,491,200
               teacher layers 4/8/12 on the last layer; CNN, projection, pos conv
               and both layers initialised from the teacher
``dt_cnn``     CNN 512 + 12 x (480, FFN 480, 12 heads); layer k -> teacher layer k   22,937,856
               (k = 1..12); CNN initialised from the teacher
``sw_fbank``   ``sw_cnn`` with the fbank front-end; pos conv and layers from the      20,103,296
               teacher
``dt_fbank``   ``dt_cnn`` with the fbank front-end (the abstract's -17 % model)       19,107,008
=============  ===================================================================  ===========

All four have a type2 unit head (the variant of the models in the authors' speed test); the fbank ones
also the front-end head of input distillation.

Small ones for CPU work, sized for a tiny HuBERT teacher (256-dim, 4 layers, 100
units, 128-dim codewords; ``build_student(..., teacher=...)`` adapts the sizes to
the actual teacher): ``tiny_cnn`` and ``tiny_fbank`` (4 x (192, FFN 768, 4 heads),
layer k -> teacher layer k, ~2.2 M / 2.1 M) and ``tiny_sw_cnn`` (2 x (256, FFN 1024,
4 heads), prediction heads for teacher layers 2/4, everything initialised from a
teacher of the same shape).

The demo's students (``egs2/mini_synth/distill1``), heads excluded: ``mini_fbank`` (4 x (128,
FFN 512), 978,240), and its two ablations, ``mini_sw_fbank`` (S&W: 2 x (160, FFN 800), 978,304)
and ``mini_cnn`` (the tiny teacher's CNN instead of fbank, 1,122,752).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Callable, Dict, List, Union

from espnet_distill.student.config import (
    CnnFrontendConfig,
    EncoderConfig,
    FbankFrontendConfig,
    FrontendConfig,
    HeadsConfig,
    StudentConfig,
    TargetsConfig,
    TeacherInitConfig,
    TeacherSpec,
    UnitHeadConfig,
)

#: HuBERT Base (fairseq ``hubert_base_ls960.pt``).
HUBERT_BASE = TeacherSpec(dim=768, num_layers=12, num_units=504, codeword_dim=256)
#: The tiny teacher of the CPU demo (``torchaudio.models.hubert_pretrain_model``, 4 x 256, K = 100, final_dim 128).
TINY_TEACHER = TeacherSpec(dim=256, num_layers=4, num_units=100, codeword_dim=128)
TINY_CONV_LAYERS = [(128, 10, 5)] + [(128, 3, 2)] * 4 + [(128, 2, 2)] * 2

_SW = EncoderConfig(num_layers=2, embed_dim=768, ffn_dim=3072, num_heads=12)
_DT = EncoderConfig(num_layers=12, embed_dim=480, ffn_dim=480, num_heads=12)
_TINY = EncoderConfig(num_layers=4, embed_dim=192, ffn_dim=768, num_heads=4, pos_conv_kernel=64, pos_conv_groups=16)
_MINI = EncoderConfig(num_layers=4, embed_dim=128, ffn_dim=512, num_heads=4, pos_conv_kernel=64, pos_conv_groups=16)
#: The demo's S&W counterpart of ``_MINI``: half the layers, wider; width and FFN chosen (ours) so
#: that the whole student has ``mini_fbank``'s parameter count (978,304 against 978,240).
_MINI_SW = EncoderConfig(num_layers=2, embed_dim=160, ffn_dim=800, num_heads=4, pos_conv_kernel=64, pos_conv_groups=16)
_TINY_SW = EncoderConfig(num_layers=2, embed_dim=256, ffn_dim=1024, num_heads=4, pos_conv_kernel=64, pos_conv_groups=16)


def _cnn(**kwargs) -> FrontendConfig:
    return FrontendConfig(type="cnn", cnn=CnnFrontendConfig(**kwargs))


def _fbank() -> FrontendConfig:
    return FrontendConfig(type="fbank", fbank=FbankFrontendConfig())


def _layer_to_layer(num_layers: int) -> TargetsConfig:
    layers = list(range(1, num_layers + 1))
    return TargetsConfig(type="layer_to_layer", teacher_layers=layers, student_layers=list(layers))


def _heads(targets: TargetsConfig, frontend: bool) -> HeadsConfig:
    return HeadsConfig(targets=targets, units=UnitHeadConfig("type2"), frontend=frontend)


def sw_cnn() -> StudentConfig:
    """DistilHuBERT (S&W): 23.49 M parameters without heads."""
    return StudentConfig(
        frontend=_cnn(grad_mult=0.1),
        encoder=copy.deepcopy(_SW),
        heads=_heads(TargetsConfig("prediction_heads", [4, 8, 12]), frontend=False),
        teacher=copy.deepcopy(HUBERT_BASE),
        init_from_teacher=TeacherInitConfig(cnn=True, projection=True, pos_conv=True, layers=True),
        name="sw_cnn",
    )


def dt_cnn() -> StudentConfig:
    """Deep & thin (FitHuBERT-like with HuBERT's CNN): 22.94 M parameters without heads."""
    return StudentConfig(
        frontend=_cnn(grad_mult=0.1),
        encoder=copy.deepcopy(_DT),
        heads=_heads(_layer_to_layer(12), frontend=False),
        teacher=copy.deepcopy(HUBERT_BASE),
        init_from_teacher=TeacherInitConfig(cnn=True),
        name="dt_cnn",
    )


def sw_fbank() -> StudentConfig:
    """S&W with the fbank front-end: 20.10 M parameters without heads."""
    return StudentConfig(
        frontend=_fbank(),
        encoder=copy.deepcopy(_SW),
        heads=_heads(TargetsConfig("prediction_heads", [4, 8, 12]), frontend=True),
        teacher=copy.deepcopy(HUBERT_BASE),
        init_from_teacher=TeacherInitConfig(pos_conv=True, layers=True),
        name="sw_fbank",
    )


def dt_fbank() -> StudentConfig:
    """D&T with the fbank front-end: 19.11 M parameters without heads (-16.7 % vs ``dt_cnn``)."""
    return StudentConfig(
        frontend=_fbank(),
        encoder=copy.deepcopy(_DT),
        heads=_heads(_layer_to_layer(12), frontend=True),
        teacher=copy.deepcopy(HUBERT_BASE),
        name="dt_fbank",
    )


def tiny_cnn() -> StudentConfig:
    """CPU-sized D&T-like student with a 128-channel CNN (copied from a tiny teacher with that CNN)."""
    return StudentConfig(
        frontend=_cnn(conv_layers=list(TINY_CONV_LAYERS)),
        encoder=copy.deepcopy(_TINY),
        heads=_heads(_layer_to_layer(4), frontend=False),
        teacher=copy.deepcopy(TINY_TEACHER),
        init_from_teacher=TeacherInitConfig(cnn=True),
        name="tiny_cnn",
    )


def tiny_fbank() -> StudentConfig:
    """CPU-sized D&T-like fbank student (2 M parameters: tests and CPU experiments)."""
    return StudentConfig(
        frontend=_fbank(),
        encoder=copy.deepcopy(_TINY),
        heads=_heads(_layer_to_layer(4), frontend=True),
        teacher=copy.deepcopy(TINY_TEACHER),
        name="tiny_fbank",
    )


def mini_fbank() -> StudentConfig:
    """The embedded demo's student: 4 x 128 fbank layers, under a third of the demo teacher's size."""
    return StudentConfig(
        frontend=_fbank(),
        encoder=copy.deepcopy(_MINI),
        heads=_heads(_layer_to_layer(4), frontend=True),
        teacher=copy.deepcopy(TINY_TEACHER),
        name="mini_fbank",
    )


def mini_sw_fbank() -> StudentConfig:
    """The demo's S&W ablation of ``mini_fbank``: 2 x (160, FFN 800) layers, the same parameter count
    (978,304 against 978,240, heads excluded), DistilHuBERT's prediction heads (teacher layers 2 and 4,
    counted from 1, predicted from the last layer)."""
    return StudentConfig(
        frontend=_fbank(),
        encoder=copy.deepcopy(_MINI_SW),
        heads=_heads(TargetsConfig("prediction_heads", [2, 4]), frontend=True),
        teacher=copy.deepcopy(TINY_TEACHER),
        name="mini_sw_fbank",
    )


def mini_cnn() -> StudentConfig:
    """The demo's front-end ablation of ``mini_fbank``: the tiny teacher's CNN (copied from it, its
    gradient scaled by 0.1 as in ``dt_cnn``) in place of the fbank front-end, the same 4 x 128 layers."""
    return StudentConfig(
        frontend=_cnn(conv_layers=list(TINY_CONV_LAYERS), grad_mult=0.1),
        encoder=copy.deepcopy(_MINI),
        heads=_heads(_layer_to_layer(4), frontend=False),
        teacher=copy.deepcopy(TINY_TEACHER),
        init_from_teacher=TeacherInitConfig(cnn=True),
        name="mini_cnn",
    )


def tiny_sw_cnn() -> StudentConfig:
    """CPU-sized S&W student: 2 layers as wide as the tiny teacher, all copied from it."""
    return StudentConfig(
        frontend=_cnn(conv_layers=list(TINY_CONV_LAYERS)),
        encoder=copy.deepcopy(_TINY_SW),
        heads=_heads(TargetsConfig("prediction_heads", [2, 4]), frontend=False),
        teacher=copy.deepcopy(TINY_TEACHER),
        init_from_teacher=TeacherInitConfig(cnn=True, projection=True, pos_conv=True, layers=True),
        name="tiny_sw_cnn",
    )


PRESETS: Dict[str, Callable[[], StudentConfig]] = {
    "sw_cnn": sw_cnn,
    "dt_cnn": dt_cnn,
    "sw_fbank": sw_fbank,
    "dt_fbank": dt_fbank,
    "tiny_cnn": tiny_cnn,
    "tiny_fbank": tiny_fbank,
    "mini_fbank": mini_fbank,
    "mini_sw_fbank": mini_sw_fbank,
    "mini_cnn": mini_cnn,
    "tiny_sw_cnn": tiny_sw_cnn,
}

#: Where the serialised presets live (repository checkout).
PRESET_DIR = Path(__file__).resolve().parents[2] / "conf" / "student"


def preset_names() -> List[str]:
    return list(PRESETS)


def get_preset(name: str) -> StudentConfig:
    """A fresh :class:`StudentConfig` for preset ``name``."""
    if name not in PRESETS:
        raise ValueError(f"unknown student preset {name!r}; expected one of {', '.join(PRESETS)}")
    return PRESETS[name]()


def resolve_config(spec: Union[str, Path, StudentConfig, dict]) -> StudentConfig:
    """A copy of the config named by ``spec``: preset name, YAML path, config or dict."""
    if isinstance(spec, StudentConfig):
        return copy.deepcopy(spec)
    if isinstance(spec, dict):
        return StudentConfig.from_dict(spec)
    if isinstance(spec, str) and spec in PRESETS:
        return get_preset(spec)
    path = Path(spec)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        return StudentConfig.from_yaml(path)
    raise ValueError(f"{spec!r} is neither a student preset ({', '.join(PRESETS)}) nor a YAML config file")


def write_preset_yamls(directory: Union[str, Path] = PRESET_DIR) -> List[Path]:
    """(Re)write ``<directory>/<name>.yaml`` for every preset; returns the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, factory in PRESETS.items():
        summary = (factory.__doc__ or "").strip().splitlines()[0]
        header = (
            f"Student preset '{name}': {summary}\n"
            f"Serialised from espnet_distill.student.presets.{name}() by write_preset_yamls();"
            " a test checks they agree.\n"
            f"Use: build_student('conf/student/{name}.yaml', teacher=teacher), or the preset name '{name}'."
        )
        paths.append(directory / f"{name}.yaml")
        factory().to_yaml(paths[-1], header=header)
    return paths
