"""The offline synthetic English speech corpus (flite + espeak-ng)."""

from espnet_distill.data.corpus.grammar import sample_sentences, vocabulary
from espnet_distill.data.corpus.make import CorpusSpec, make_corpus, planned_texts
from espnet_distill.data.corpus.voices import ALL_VOICES, SynthesisError, Voice

__all__ = ["ALL_VOICES", "CorpusSpec", "SynthesisError", "Voice", "make_corpus", "planned_texts", "sample_sentences", "vocabulary"]
