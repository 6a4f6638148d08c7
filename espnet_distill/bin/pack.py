"""ESPnet's ``pack`` with the students registered (for symmetry with training and decoding).

Packing only zips files; carry the student checkpoint along with ``--option``, by the
same relative path the config's ``frontend_conf.student`` uses, so that unpacking
rewrites it.

Usage:
    python -m espnet_distill.bin.pack asr --asr_train_config exp/asr/config.yaml \
        --asr_model_file exp/asr/valid.loss.best.pth --option exp/student.ckpt --outpath exp/asr/packed.zip
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
