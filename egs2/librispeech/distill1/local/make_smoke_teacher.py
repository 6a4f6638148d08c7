"""Smoke mode of the recipe: a full-size HuBERT Base with random weights in fairseq's on-disk form.

    python local/make_smoke_teacher.py downloads_smoke/hubert_base_ls960.pt

torchaudio's HuBERT Base pre-training model (504 units x 256, initialised as HuBERT's pre-training
starts) is written by :func:`espnet_distill.teacher.save_fairseq_checkpoint` as the released
``hubert_base_ls960.pt`` is laid out (fairseq parameter names, ``cfg`` pickled as an omegaconf
``DictConfig`` with interpolations, ``task_state`` with a fairseq ``Dictionary`` of 504 symbols),
so the smoke run reads it through the same loader and allow-list as a real run. An existing file
is kept.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torchaudio

from espnet_distill.student.presets import HUBERT_BASE
from espnet_distill.teacher import BackboneConfig, save_fairseq_checkpoint
from espnet_distill.teacher.torchaudio_format import teacher_from_torchaudio_state


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    if out.is_file():
        print(f"{out}: kept (delete it to write a new one)", file=sys.stderr)
        return 0
    torch.manual_seed(0)
    model = torchaudio.models.hubert_pretrain_base(num_classes=HUBERT_BASE.num_units)  # final_dim 256
    teacher = teacher_from_torchaudio_state(model.state_dict(), what="random HuBERT Base", source="random",
                                            config=BackboneConfig().to_dict(), infer=False)
    save_fairseq_checkpoint(teacher, out, cfg_format="omegaconf")
    print(f"{out}: random HuBERT Base (fairseq layout, {teacher.count_parameters() / 1e6:.2f} M parameters)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
