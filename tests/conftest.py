"""Shared fixtures: tiny synthetic worlds for unit tests, the real clickbait data for e2e."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
CLICKBAIT_DIR = REPO.parent / "shared" / "data" / "clickbait"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

TEN_WORDS = ["good", "great", "fine", "bad", "awful", "poor", "alps", "himalayas", "river", "lake"]

TWENTY_LINES = [
    ("a good film with great acting", "pos"),
    ("great fun and a fine story", "pos"),
    ("good music and great views", "pos"),
    ("a fine and good evening", "pos"),
    ("really great and good", "pos"),
    ("the alps were good", "pos"),
    ("a great day by the lake", "pos"),
    ("fine food and good wine", "pos"),
    ("good people great place", "pos"),
    ("a great river walk", "pos"),
    ("a bad film with awful acting", "neg"),
    ("awful noise and a poor story", "neg"),
    ("bad music and poor views", "neg"),
    ("a poor and bad evening", "neg"),
    ("really awful and bad", "neg"),
    ("the himalayas trip was bad", "neg"),
    ("an awful day by the river", "neg"),
    ("poor food and bad wine", "neg"),
    ("bad people awful place", "neg"),
    ("a poor lake walk", "neg"),
]


def make_keyed_vectors(words=TEN_WORDS, dim: int = 8, seed: int = 0):
    """A small in-memory gensim KeyedVectors with structured vectors:
    positive words share one direction, negative another, places a third."""
    from gensim.models import KeyedVectors

    rng = np.random.default_rng(seed)
    groups = {"good": 0, "great": 0, "fine": 0, "bad": 1, "awful": 1, "poor": 1}
    centres = rng.normal(size=(3, dim))
    vecs = np.stack([centres[groups.get(w, 2)] + 0.1 * rng.normal(size=dim) for w in words])
    kv = KeyedVectors(vector_size=dim)
    kv.add_vectors(list(words), vecs.astype(np.float32))
    return kv


def labelled(repeat: int = 1):
    """TWENTY_LINES as a Dataset, every line ``repeat`` times (x3: 60 rows, enough to split
    and still sample a dozen validation documents)."""
    from core.data.loading import Dataset

    lines = TWENTY_LINES * repeat
    return Dataset.from_lists([t for t, _ in lines], [lab for _, lab in lines])


@pytest.fixture(scope="session")
def tiny_dataset():
    """The small labelled data set: TWENTY_LINES once (a Dataset is immutable: shared)."""
    return labelled()


@pytest.fixture(scope="session")
def tiny_dataset_x3():
    """TWENTY_LINES three times over."""
    return labelled(3)


@pytest.fixture
def tiny_kv():
    return make_keyed_vectors()


@pytest.fixture
def twenty_lines():
    return list(TWENTY_LINES)


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    import pandas as pd

    path = tmp_path / "tiny.csv"
    pd.DataFrame(TWENTY_LINES, columns=["text", "label"]).to_csv(path, index=False)
    return path


def _need_clickbait():
    if not CLICKBAIT_DIR.is_dir():
        if IN_CI:
            pytest.fail(f"CI needs the real data at {CLICKBAIT_DIR}")
        pytest.skip(f"real data not present at {CLICKBAIT_DIR}")


@pytest.fixture(scope="session")
def clickbait_rows() -> list[tuple[str, str]]:
    """All clickbait headlines as (text, label) rows, read from ../shared (never copied)."""
    _need_clickbait()
    rows = []
    for fname, label in (("clickbait_data.gz", "clickbait"), ("non_clickbait_data.gz", "news")):
        with gzip.open(CLICKBAIT_DIR / fname, "rt", encoding="utf-8") as fh:
            rows += [(line.strip(), label) for line in fh if line.strip()]
    return rows


@pytest.fixture(scope="session")
def clickbait_csv(tmp_path_factory, clickbait_rows) -> Path:
    import pandas as pd

    path = tmp_path_factory.mktemp("clickbait") / "clickbait.csv"
    pd.DataFrame(clickbait_rows, columns=["headline", "label"]).to_csv(path, index=False)
    return path


def wait_for_run(store, run_id: str, predicate, timeout: float = 180.0, every: float = 0.2):
    """Poll the store until ``predicate(run)`` holds; on timeout fail with the last state and
    the worker's log (jobs run in other processes, so their errors are only there)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        run = store.get_run(run_id)
        if predicate(run):
            return run
        if time.monotonic() > deadline:
            log = store.run_dir(run_id) / "worker.log"
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
            raise AssertionError(f"timed out; last state {run}; worker log:\n{tail}")
        time.sleep(every)


def medium_dataset():
    """2,000 texts over 300 made-up words: long enough epochs to kill or cancel mid-run."""
    from core.data.loading import Dataset

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    texts = [" ".join(rng.choice(words, 12)) for _ in range(2000)]
    return Dataset.from_lists(texts, ["a" if i % 2 else "b" for i in range(2000)])


@pytest.fixture
def store(tmp_path):
    """An empty run store in the test's temporary folder."""
    from core.store.runstore import RunStore

    return RunStore(tmp_path / "runs")


@pytest.fixture
def app_store(tmp_path, monkeypatch) -> Path:
    """An empty run store for AppTest pages (via EXPLORER_STORE), with the server's
    background warm-up (GloVe, the projection engine) switched off."""
    root = tmp_path / "runs"
    monkeypatch.setenv("EXPLORER_STORE", str(root))
    monkeypatch.setenv("EXPLORER_WARM_UP", "0")
    return root


@pytest.fixture(scope="module")
def vector_run(tmp_path_factory):
    """A finished 2-epoch run on TWENTY_LINES initialised from a small vector file:
    (store, run_id, vector file). One per test module, so modules never share its cache."""
    from core.data.loading import Dataset
    from core.store.runstore import RunStore
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    vec = tmp_path_factory.mktemp("vec") / "tiny.w2v.txt"
    make_keyed_vectors().save_word2vec_format(str(vec), binary=False)
    store = RunStore(tmp_path_factory.mktemp("store"))
    texts, labels = zip(*TWENTY_LINES)
    run_id = train_run(Dataset.from_lists(list(texts), list(labels)),
                       TrainConfig(init=str(vec), epochs=2, val_fraction=0.5, batch_size=4),
                       store).run_id
    return store, run_id, vec


def open_app(root, monkeypatch, run_id: str | None = None):
    """The dashboard in AppTest over the store at ``root`` (no warm-up), opened on ``run_id``."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("EXPLORER_STORE", str(root))
    monkeypatch.setenv("EXPLORER_WARM_UP", "0")
    at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=120)
    if run_id is not None:
        at.query_params["run"] = run_id
    at.run()
    return at


@pytest.fixture
def medium_csv(tmp_path):
    """``medium_dataset`` written as a CSV, for commands that read a file."""
    import pandas as pd

    ds = medium_dataset()
    path = tmp_path / "medium.csv"
    pd.DataFrame({"text": list(ds.texts),
                  "label": [ds.classes[i] for i in ds.labels]}).to_csv(path, index=False)
    return path


class NoProcess:
    """A Popen stand-in whose pid belongs to no process: no worker starts."""

    pid = 2**22 + 1

    def __init__(self, *args, **kwargs):
        pass

    def wait(self):
        return 0
