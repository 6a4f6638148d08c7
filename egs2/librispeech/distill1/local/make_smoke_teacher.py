"""Smoke mode of the recipe: a full-size HuBERT Base with random weights in fairseq's on-disk form.

    python local/make_smoke_teacher.py downloads_smoke/hubert_base_ls960.pt

The file is laid out as the released ``hubert_base_ls960.pt`` is (fairseq parameter names,
``cfg`` pickled as an omegaconf ``DictConfig`` with interpolations, numpy values in the
training state, ``task_state`` with a fairseq ``Dictionary`` of 504 symbols), so the smoke
run reads it through the same loader and allow-list as a real run. An existing file is kept.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from espnet_distill.testing.teachers import base_config, random_hubert_pretrain, save_fairseq_checkpoint


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    if out.is_file():
        print(f"{out}: kept (delete it to write a new one)", file=sys.stderr)
        return 0
    config = base_config()
    model = random_hubert_pretrain(config, num_units=504, codeword_dim=256, seed=0)
    tmp = out.with_name(out.name + ".tmp")
    save_fairseq_checkpoint(model, config, tmp, style="released")
    os.replace(tmp, out)
    print(f"{out}: random HuBERT Base (fairseq layout, {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M "
          "parameters)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
