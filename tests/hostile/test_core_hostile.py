"""Every file of the hostile corpus through the core loaders: each ends in the product's own
error with the message the user must see (or loads, with the report the user sees), large ones
under an address-space limit in a subprocess, and no pickle payload ever runs."""
from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core.data.loading import LoadConfig, load_dataset, read_frame
from core.errors import DataError, ExplorerError
from core.vectors.pretrained import load_vectors_file
from tests.hostile import corpus
from tests.hostile.corpus import run_case

REPO = Path(__file__).resolve().parents[2]

ADDRESS_LIMIT = 4 * 2**30   # hard cap for the big cases (virtual; pyarrow/numpy reserve a lot)
RESIDENT_LIMIT_MB = 1024    # peak resident memory a single big file may cost
MARKER = Path(os.environ.setdefault(corpus.MARKER_ENV, str(
    Path(os.environ.get("TMPDIR", "/tmp")) / f"hostile-marker-{os.getpid()}")))
CASES = corpus.all_cases(str(MARKER))
SMALL = [pytest.param(c, id=c.id) for c in CASES if not c.big]
BIG = [pytest.param(c, id=c.id) for c in CASES if c.big]


@pytest.fixture(autouse=True)
def no_marker():
    MARKER.unlink(missing_ok=True)
    yield
    assert not MARKER.exists(), "a loader unpickled a payload"


def test_every_expectation_rejects_a_loader_that_ignored_the_problem(tmp_path):
    """What makes ``test_small_case_through_core`` able to fail: a refused case's expected
    message is not met by what the product reports for a clean file (a loader that let the
    problem through) nor by a generic refusal (a loader that gave no reason), and an accepted
    case's expected report is not met by a refusal message."""
    (tmp_path / "clean.vec").write_text("2 3\ngood 0.1 0.2 0.3\nbad -0.1 0.0 0.5\n")
    kv = load_vectors_file(tmp_path / "clean.vec")
    clean = {"data": corpus.outcome(load_dataset(corpus.csv_text().encode(), filename="c.csv")),
             "vectors": f"words={len(kv)} dim={kv.vector_size}"}  # as run_case reports them
    generic = "Could not read the file."
    for case in CASES:
        if case.ok:
            assert not re.search(case.expect, generic), case.id
        else:
            assert not re.search(case.expect, clean[case.kind]), case.id
            assert not re.search(case.expect, generic), case.id
    assert len({c.id for c in CASES}) == len(CASES)  # one id per case: results are traceable


@pytest.mark.parametrize("case", SMALL)
def test_small_case_through_core(case, tmp_path):
    loaded, message = run_case(case, tmp_path)
    assert loaded == case.ok, message
    assert re.search(case.expect, message), message


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES
                                  if c.kind == "data" and not c.big and not c.config])
def test_data_case_from_a_path_matches_bytes(case, tmp_path):
    """The CLI reads paths, the dashboard bytes: both must end the same way."""
    path = corpus.write(case, tmp_path)
    try:
        got = corpus.outcome(load_dataset(path, filename=case.filename))
    except DataError as exc:
        got = str(exc)
    assert re.search(case.expect, got), got


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES
                                  if c.kind == "data" and not c.ok and not c.big])
def test_read_frame_never_escapes_with_a_foreign_error(case):
    """The Data page calls read_frame first: it fails with a DataError giving the case's own
    reason, or, when what is wrong lies past reading (columns, classes, rows), succeeds and
    the full load then refuses the file for that reason."""
    config = LoadConfig(**case.config)
    try:
        read_frame(case.bytes(), case.filename, config)
    except DataError as exc:
        assert re.search(case.expect, str(exc)), str(exc)
    else:
        with pytest.raises(DataError, match=case.expect):
            load_dataset(case.bytes(), filename=case.filename, config=config)


_BIG_SCRIPT = """
import json, re, resource, sys, time
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from tests.hostile import corpus
case = {{c.id: c for c in corpus.all_cases(sys.argv[2])}}[sys.argv[1]]
case.bytes()  # built before the clock starts: only loading is timed

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
cpu0, wall0 = cpu(), time.perf_counter()
loaded, message = corpus.run_case(case, Path(sys.argv[3]))
cpu_s, wall_s = cpu() - cpu0, time.perf_counter() - wall0
status = Path("/proc/self/status").read_text()
peak = int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1)) // 1024
print(json.dumps({{"loaded": loaded, "message": message[:500], "peak_mb": peak,
                  "cpu_s": round(cpu_s, 2), "wall_s": round(wall_s, 2)}}))
"""


@pytest.mark.parametrize("case", BIG)
def test_big_case_under_memory_limit(case, tmp_path):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", _BIG_SCRIPT.format(limit=ADDRESS_LIMIT), case.id, str(MARKER),
         str(tmp_path)], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["loaded"] == case.ok, result
    assert re.search(case.expect, result["message"]), result
    assert result["peak_mb"] < RESIDENT_LIMIT_MB, result
    # CPU time, not wall time: the test machine is shared, and waiting is not work
    assert case.seconds is None or result["cpu_s"] <= case.seconds, result


def test_pickle_payloads_do_run_when_unpickled(tmp_path):
    """Control: the payloads are real, so the refusals above prove something."""
    marker = tmp_path / "control-marker"
    for protocol in (0, 2, 4, 5):
        marker.unlink(missing_ok=True)
        pickle.loads(corpus.pickle_payload(str(marker), protocol)).close()
        assert marker.exists()


def test_every_pickle_format_refused_before_gensim_or_numpy_open_it(tmp_path, monkeypatch):
    """No pickle-capable loader is even called for a refused file."""
    import numpy as np
    from gensim.models import KeyedVectors

    def boom(*a, **k):
        raise AssertionError("a pickle-capable loader was called on a user file")
    monkeypatch.setattr(KeyedVectors, "load", boom)
    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)
    real_np_load = np.load
    monkeypatch.setattr(np, "load", lambda *a, **k: boom() if k.get("allow_pickle") else
                        real_np_load(*a, **k))
    for case in corpus.pickle_cases(str(MARKER)):
        if case.kind == "vectors":
            with pytest.raises(ExplorerError):
                load_vectors_file(corpus.write(case, tmp_path))


@pytest.mark.parametrize("name", ["../../etc/passwd.csv", "/etc/passwd.csv", "..\\..\\x.csv",
                                  "a/../../b.txt", "$(touch pwned).csv", "`id`.csv",
                                  "x\x00y.csv", "~root/.ssh/id_rsa.csv"])
def test_hostile_upload_names_never_touch_the_file_system(name, tmp_path, monkeypatch):
    """An upload's name is only a label: loading bytes opens no path and runs no shell."""
    monkeypatch.chdir(tmp_path)

    def no_open(*a, **k):
        raise AssertionError(f"opened a path for an upload: {a}")
    data = corpus.csv_bytes()
    with monkeypatch.context() as patched:
        patched.setattr(Path, "read_bytes", no_open)
        patched.setattr(Path, "stat", no_open)
        patched.setattr("builtins.open", no_open)
        ds = load_dataset(data, filename=name)
    assert len(ds) == 24
    assert list(tmp_path.iterdir()) == []
