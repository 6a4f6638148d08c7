"""Recipe fixtures shared by several test files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tts

REPO = Path(__file__).resolve().parents[2]
PRETRAIN = REPO / "egs2" / "mini_synth" / "pretrain1"
ENV = dict(os.environ, PATH=f"{Path(os.sys.executable).parent}:{os.environ['PATH']}")


@pytest.fixture(scope="session")
def quick_release(tmp_path_factory):
    """``pretrain1/run.sh --quick true``: both HuBERT iterations, a few updates each, and the release."""
    require_tts()
    root = tmp_path_factory.mktemp("pretrain1")
    proc = subprocess.run(["./run.sh", "--quick", "true", "--datadir", str(root / "data"), "--expdir", str(root / "exp")],
                          cwd=PRETRAIN, env=ENV, capture_output=True, text=True, timeout=1500, check=False)
    (root / "run.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"pretrain1 run.sh failed (log {root / 'run.log'}):\n{proc.stderr[-4000:]}"
    return root / "exp" / "release", proc
