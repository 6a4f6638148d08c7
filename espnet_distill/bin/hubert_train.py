"""ESPnet's own HuBERT pre-training (``espnet2.bin.hubert_train``), with this package's
``model: torchaudio_weighted`` registered first (see espnet_distill.pretrain.hubert_model).

Example:
    python -m espnet_distill.bin.hubert_train --config conf/pretrain/hubert_tiny.yaml \
        --train_data_path_and_name_and_type data/train/wav.scp,speech,sound \
        --train_data_path_and_name_and_type exp/units/train.km,text,text ...
"""

from espnet_distill.pretrain.hubert_model import register

register()  # at import: spawned DDP workers re-import this module and need it too

from espnet2.bin.hubert_train import main  # noqa: E402

if __name__ == "__main__":
    main()
