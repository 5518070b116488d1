"""The server's background warm-up (dashboard.services._warm_up) starts the engine and loads
GloVe; it never imports torch: training runs in worker processes."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

CODE = """
import sys
import core.jobs.engine as engine
import core.vectors.pretrained as pretrained
started = []
engine.ensure_engine = lambda store, parent: started.append(parent)
pretrained.glove = lambda: started.append("glove")
from pathlib import Path
from dashboard.services import _warm_up
status = {}
_warm_up(status, Path(sys.argv[1]))
print(status.get("state"), len(started), "torch" in sys.modules)
"""


def test_the_warm_up_starts_the_engine_and_loads_glove_without_torch(tmp_path):
    res = subprocess.run([sys.executable, "-c", CODE, str(tmp_path)], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == ["done", "2", "False"]
