"""Fixtures of the ESPnet integration tests."""

import pytest

from tests.espnet.helpers import make_student


@pytest.fixture(scope="session")
def student_ckpt(tmp_path_factory):
    """A tiny fbank student checkpoint (random weights), shared by the session."""
    return make_student(tmp_path_factory.mktemp("student") / "student.ckpt")
