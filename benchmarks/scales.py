"""The architectures a benchmark compares, at full size (``base``) or tiny (``tiny``, for CI).

``base`` is the full-size setting: a HuBERT Base teacher (12 x 768, 512-channel CNN, 504 units,
256-dim codewords; random weights, built with torchaudio), the four student presets and
s3prl's DistilHuBERT (2 x 768, prediction heads for teacher layers 4/8/12) as the peer.

``tiny`` keeps every model *kind* and every code path but shrinks all sizes (128-channel
CNN, 4 x 256 teacher, the ``tiny_*`` student presets), so ``--quick`` finishes in seconds.
Its numbers only show that everything runs; they say nothing about speed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List

from espnet_distill.student import StudentConfig, get_preset
from espnet_distill.student.config import FbankFrontendConfig, FrontendConfig, TeacherInitConfig
from espnet_distill.student.presets import HUBERT_BASE, TINY_CONV_LAYERS, TINY_TEACHER
from espnet_distill.teacher import BackboneConfig

#: Our students, in table order.
STUDENTS = ("sw_cnn", "dt_cnn", "sw_fbank", "dt_fbank")
#: Every model of the inference table, in order: the teacher, our students, the s3prl peer.
MODELS = ("teacher",) + STUDENTS + ("distilhubert",)
SCALES = ("base", "tiny")


@dataclass
class Scale:
    """Sizes of every model of one benchmark run.

    Attributes:
        name: ``base`` or ``tiny``.
        teacher: the teacher backbone architecture.
        num_units: K, the teacher's unit count (504 for HuBERT Base).
        codeword_dim: the teacher's codeword size (256 for HuBERT Base).
        students: student name -> factory of its :class:`StudentConfig`.
        distilhubert: the s3prl ``DistillerConfig`` mapping of the peer (pre-training
            settings of ``s3prl/pretrain/distiller/config_model.yaml``, 3 heads).
    """

    name: str
    teacher: BackboneConfig
    num_units: int
    codeword_dim: int
    students: Dict[str, Callable[[], StudentConfig]] = field(repr=False)
    distilhubert: Dict[str, Any] = field(repr=False)

    def student_config(self, name: str) -> StudentConfig:
        """A fresh config of student ``name`` (one of :data:`STUDENTS`)."""
        if name not in self.students:
            raise ValueError(f"unknown student {name!r}; expected one of {', '.join(self.students)}")
        return self.students[name]()

    def describe(self) -> Dict[str, str]:
        """One line per model, for the report."""
        lines = {"teacher": "HuBERT Base architecture, random weights (torchaudio): " + self.teacher.describe()}
        for name in STUDENTS:
            c = self.student_config(name)
            e = c.encoder
            lines[name] = (
                f"{c.frontend.type} front-end + {e.num_layers} x ({e.embed_dim}, FFN {e.ffn_dim}, {e.num_heads} heads)"
            )
        d = self.distilhubert
        lines["distilhubert"] = (
            f"s3prl DistillerModel: CNN + {d['encoder_layers']} x ({d['encoder_embed_dim']}, FFN "
            f"{d['encoder_ffn_embed_dim']}, {d['encoder_attention_heads']} heads), heads for teacher layers "
            f"{list(d['pred_layer_id'])}"
        )
        return lines


def distilhubert_config(
    *,
    conv_layers: str = "[(512,10,5)] + [(512,3,2)] * 4 + [(512,2,2)] * 2",
    layers: int = 2,
    dim: int = 768,
    ffn: int = 3072,
    heads: int = 12,
    conv_pos: int = 128,
    pred_layer_id: List[int] = (4, 8, 12),
) -> Dict[str, Any]:
    """DistilHuBERT's ``distiller`` config (s3prl ``pretrain/distiller/config_model.yaml``, 3 heads).

    The shipped YAML has ``n_tasks: 2, pred_layer_id: [4, 12]``; the released
    ``distilhubert_ls960_4-8-12`` checkpoint and DistilHuBERT's paper use three heads (4, 8, 12).
    """
    return {
        "extractor_mode": "default",
        "extractor_conv_feature_layers": conv_layers,
        "feature_grad_mult": 0.1,
        "conv_pos": conv_pos,
        "conv_pos_groups": 16,
        "encoder_layers": layers,
        "encoder_embed_dim": dim,
        "encoder_ffn_embed_dim": ffn,
        "encoder_attention_heads": heads,
        "final_dim": dim,  # the teacher's width; equal to D in both scales
        "out_layer_type": "expand-last",
        "task_emb_type": "expand-last",
        "n_tasks": len(pred_layer_id),
        "pred_layer_id": list(pred_layer_id),
        "loss_type": "l1",
        "feat_pen_loss": 0.0,
        "cosine_loss": 1.0,
        "init_teacher_conv_layers": True,
        "init_teacher_encoder_layers": True,
    }


def _tiny_sw_fbank() -> StudentConfig:
    """``tiny_sw_cnn`` with the fbank front-end (as ``sw_fbank`` is ``sw_cnn`` with it)."""
    config = get_preset("tiny_sw_cnn")
    config.frontend = FrontendConfig(type="fbank", fbank=FbankFrontendConfig())
    config.heads = copy.deepcopy(config.heads)
    config.heads.frontend = True
    config.init_from_teacher = TeacherInitConfig(pos_conv=True, layers=True)
    config.name = "tiny_sw_fbank"
    return config


def _preset(name: str) -> Callable[[], StudentConfig]:
    return lambda: get_preset(name)


def get_scale(name: str) -> Scale:
    """The :class:`Scale` called ``name`` (``base`` or ``tiny``)."""
    if name == "base":
        return Scale(
            name="base",
            teacher=BackboneConfig(),
            num_units=HUBERT_BASE.num_units,
            codeword_dim=HUBERT_BASE.codeword_dim,
            students={s: _preset(s) for s in STUDENTS},
            distilhubert=distilhubert_config(),
        )
    if name == "tiny":
        conv = " + ".join(f"[({c},{k},{s})]" for c, k, s in TINY_CONV_LAYERS)
        return Scale(
            name="tiny",
            teacher=BackboneConfig(
                extractor_conv_layer_config=list(TINY_CONV_LAYERS),
                encoder_embed_dim=TINY_TEACHER.dim,
                encoder_pos_conv_kernel=64,
                encoder_pos_conv_groups=16,
                encoder_num_layers=TINY_TEACHER.num_layers,
                encoder_num_heads=4,
                encoder_ff_interm_features=4 * TINY_TEACHER.dim,
            ),
            num_units=TINY_TEACHER.num_units,
            codeword_dim=TINY_TEACHER.codeword_dim,
            students={
                "sw_cnn": _preset("tiny_sw_cnn"),
                "dt_cnn": _preset("tiny_cnn"),
                "sw_fbank": _tiny_sw_fbank,
                "dt_fbank": _preset("tiny_fbank"),
            },
            distilhubert=distilhubert_config(
                conv_layers=conv, layers=2, dim=256, ffn=1024, heads=4, conv_pos=64, pred_layer_id=[2, 4]
            ),
        )
    raise ValueError(f"unknown benchmark scale {name!r}; expected one of {', '.join(SCALES)}")
