"""The Examples in the public docstrings run."""

from __future__ import annotations

import doctest

import pytest

import espnet_distill.student
import espnet_distill.student.model


@pytest.mark.parametrize("module", [espnet_distill.student, espnet_distill.student.model])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
