"""espnet_distill: distil HuBERT-family teachers into small students for ESPnet2 and s3prl.

The top-level import is deliberately light (no torch): ``espnet-distill-python`` imports it
for every helper call of ESPnet's ``asr.sh``. Import the subpackages you need:
:mod:`espnet_distill.teacher`, :mod:`espnet_distill.student`, :mod:`espnet_distill.losses`,
:mod:`espnet_distill.tasks`, :mod:`espnet_distill.espnet`, :mod:`espnet_distill.s3prl`.
"""

from espnet_distill.version import __version__

__all__ = ["__version__"]
