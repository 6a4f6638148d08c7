"""ESPnet's ``asr_inference`` with the students registered.

Usage:
    python -m espnet_distill.bin.asr_inference --asr_train_config exp/asr/config.yaml \
        --asr_model_file exp/asr/valid.loss.best.pth --output_dir exp/asr/decode \
        --data_path_and_name_and_type data/test/wav.scp,speech,sound [any espnet2.bin.asr_inference option]
"""

from typing import List, Optional

from espnet_distill.espnet import register

register(["asr"])


def main(cmd: Optional[List[str]] = None) -> None:
    """Run ``espnet2.bin.asr_inference.main`` on ``cmd`` (default: ``sys.argv[1:]``)."""
    from espnet2.bin.asr_inference import main as espnet_main

    espnet_main(cmd)


if __name__ == "__main__":
    main()
