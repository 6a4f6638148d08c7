"""Helpers for tests and demos shipped with the package (like lhotse's dummies).

:mod:`espnet_distill.testing.teachers` builds tiny random HuBERT-family teachers and
saves them in every real checkpoint format (fairseq, s3prl-converted, HuggingFace,
torchaudio, ESPnet), so tests and the offline demo never download weights.
"""
