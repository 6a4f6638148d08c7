"""The loss tests use the student tests' fixtures (tiny teacher, flite speech, one thread)."""

from tests.student.conftest import one_torch_thread, speech, speech_paths, tiny_teacher  # noqa: F401
