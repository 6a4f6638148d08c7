"""ESPnet's ``pack`` with the students registered (for symmetry with training and decoding).

A model trained with ``frontend: distill_student`` needs nothing but its ``config.yaml``
(which records the student's architecture as ``frontend_conf.student_config``) and its
model file (which holds the student's weights), so stock ``espnet2.bin.pack`` (asr.sh stage
14) works as well. Models whose config predates ``student_config`` still need the student
checkpoint: carry it with ``--option`` by the relative path their ``frontend_conf.student``
names, so that unpacking rewrites it.

Usage:
    python -m espnet_distill.bin.pack asr --asr_train_config exp/asr/config.yaml \
        --asr_model_file exp/asr/valid.loss.best.pth --outpath exp/asr/packed.zip
"""

from typing import List, Optional

from espnet_distill.espnet import register

register()


def main(cmd: Optional[List[str]] = None) -> None:
    """Run ``espnet2.bin.pack.main`` on ``cmd`` (default: ``sys.argv[1:]``)."""
    from espnet2.bin.pack import main as espnet_main

    espnet_main(cmd)


if __name__ == "__main__":
    main()
