"""ESPnet's ``asr_train`` with the students registered.

Usage:
    python -m espnet_distill.bin.asr_train --config conf/asr/finetune_ctc.yaml \
        --frontend_conf student=exp/student.ckpt [any espnet2.bin.asr_train option]

Registration (the ``distill_student`` frontend, and the ``distill_student_*`` upstreams
for ``frontend: s3prl``) runs at import, so that the workers ESPnet spawns for
multi-GPU training, which re-import this module, have it too.
"""

from typing import List, Optional

from espnet_distill.espnet import register

register(["asr"])


def main(cmd: Optional[List[str]] = None) -> None:
    """Run ``espnet2.bin.asr_train.main`` on ``cmd`` (default: ``sys.argv[1:]``)."""
    from espnet2.bin.asr_train import main as espnet_main

    espnet_main(cmd)


if __name__ == "__main__":
    main()
