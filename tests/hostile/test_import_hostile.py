"""Every hostile import (``tests/hostile/import_corpus.py``) through ``python -m core import``
in its own process: exit 2, one line on stderr with the expected message, nothing in the
store, the secret never copied, and the process's peak resident memory under 1 GB (read from
``wait4``; an address-space cap keeps an unfixed reader from taking the machine down)."""
from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time

import pytest

from core.store.runstore import RunStore
from tests.conftest import REPO
from tests.hostile.import_corpus import CASES, SECRET_LINE

ADDRESS_LIMIT = 3 * 2**30
RESIDENT_LIMIT_MB = 1024


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_LIMIT, ADDRESS_LIMIT))


def run_import(args: list[str], store: str, seconds: float,
               folder) -> tuple[int, str, int, float]:
    """(exit code, stderr, peak RSS in MB, wall seconds) of one ``python -m core import``;
    the peak is this child's own (``os.wait4``)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    with open(folder / "stderr.txt", "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "core", "import", "--store", store,
                                 *args], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                stderr=err, preexec_fn=_limit)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - start > seconds:
            proc.kill()
            os.wait4(proc.pid, 0)
            pytest.fail(f"the import was still running after {seconds} s (it hangs)")
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = (folder / "stderr.txt").read_text("utf-8", "replace")
    return proc.returncode, text, usage.ru_maxrss // 1024, time.perf_counter() - start


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_hostile_import_is_refused_in_one_line(case, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    args = case.build(folder)
    store = str(tmp_path / "store")
    code, err, peak, _ = run_import(args, store, case.seconds, tmp_path)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, (code, err[-2000:])
    assert re.search(case.expect, lines[0]), lines[0]
    assert peak < RESIDENT_LIMIT_MB, peak
    assert RunStore(store).list_runs() == []
    written = [p for p in (tmp_path / "store").rglob("*.npy")]
    assert not written, written
    assert SECRET_LINE.strip() not in err
