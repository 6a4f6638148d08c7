"""Distil a teacher into a student with ESPnet's Trainer.

Example:
    python -m espnet_distill.bin.distill_train --config conf/distill/dt_fbank_disc.yaml \
        --teacher exp/teacher/hubert_base_ls960.pt --cmvn exp/cmvn.npz \
        --train_data_path_and_name_and_type dump/train/wav.scp,speech,sound \
        --train_shape_file dump/train/utt2num_samples \
        --valid_data_path_and_name_and_type dump/dev/wav.scp,speech,sound \
        --valid_shape_file dump/dev/utt2num_samples --output_dir exp/distill --ngpu 1

Multi-GPU: ``--ngpu 4``; multi-node: ``python -m espnet2.bin.launch --num_nodes 2
--ngpu 4 --cmd "slurm.pl ..." -- python -m espnet_distill.bin.distill_train ...``.
"""

from __future__ import annotations

from typing import Optional, Sequence

from espnet_distill.tasks.distill import DistillTask


def get_parser():
    return DistillTask.get_parser()


def main(cmd: Optional[Sequence[str]] = None) -> None:
    DistillTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
