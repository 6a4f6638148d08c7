"""Test oracles: tiny random HuBERT-family teachers written in every real checkpoint format.

:mod:`tests.oracles.teachers` builds them and saves them the way fairseq, s3prl, transformers,
torchaudio and ESPnet do, so the loader tests never download weights. The writers spell out
each format's names on their own (they do not call the loaders' key maps), so a test that loads
what they wrote checks the loaders against an independent statement of the format. They are
not part of the installed package; :func:`espnet_distill.teacher.save_fairseq_checkpoint` is the
product's own writer, tested against these.
"""
