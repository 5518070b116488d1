"""The dashboard's door into ``core``: shared singletons, cached loaders, job calls, and one
way of turning a core error into a message a user can act on.

Heavy libraries (torch, gensim, umap) are imported inside functions, never at module import,
so the first page appears before they are loaded.
"""
from __future__ import annotations

import hashlib
import io
import os
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from core.store.runstore import LIVE  # noqa: F401  (the views read it from here)
from dashboard import state
from dashboard.text import escape_markdown

REPO = Path(__file__).resolve().parents[1]
DATA_TYPES = ["csv", "tsv", "txt", "jsonl", "json", "parquet", "xlsx"]
_OFF = ("0", "false", "no", "off")


# ------------------------------------------------------------------------------ errors
def show_errors(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call into core; on failure show the message with ``st.error`` and return None.

    Core raises ``ExplorerError`` (a ValueError) with user-readable text, and config
    dataclasses raise ``ValueError`` naming the field; anything else is reported by type and
    message only — users never see a traceback.
    """
    try:
        return fn(*args, **kwargs)
    except ValueError as exc:  # includes core.errors.ExplorerError
        st.error(escape_markdown(exc))
    except Exception as exc:  # noqa: BLE001 - the UI must survive any core failure
        st.error(escape_markdown(f"Unexpected problem ({type(exc).__name__}): {exc}"))
    return None


# ------------------------------------------------------------------------------ singletons
def store_root() -> Path:
    return Path(os.environ.get("EXPLORER_STORE") or REPO / "runs").resolve()


@st.cache_resource(show_spinner=False)
def _store(root: str):
    from core.jobs import queue as jobs
    from core.store.runstore import RunStore

    store = RunStore(root)
    # once per process and store: runs whose writer died become failed, queued jobs left
    # without a worker (a restart) get one
    jobs.reconcile(store)
    return store


def store():
    """The shared RunStore at ``$EXPLORER_STORE`` (default ``<repo>/runs``)."""
    return _store(str(store_root()))


@st.cache_resource(show_spinner="Loading the GloVe vectors…")
def glove():
    """The bundled GloVe 6B 50d, shared read-only by every session."""
    from core.vectors.pretrained import glove as load

    return load()


def warm_up_wanted() -> bool:
    """False when ``EXPLORER_WARM_UP`` switches the background start-up work off (tests)."""
    return os.environ.get("EXPLORER_WARM_UP", "1").lower() not in _OFF


@st.cache_resource(show_spinner=False)
def start_warm_up() -> dict[str, Any]:
    """Start the once-per-process background warm-up; returns its (shared) status."""
    status: dict[str, Any] = {"state": "running", "error": None}
    if not warm_up_wanted():
        status["state"] = "skipped"
        return status
    threading.Thread(target=_warm_up, args=(status, store_root()), name="explorer-warm-up",
                     daemon=True).start()
    return status


def _warm_up(status: dict[str, Any], root: Path) -> None:
    # Runs outside any script run: no Streamlit calls here, only core. UMAP is not warmed
    # here: the engine process (core/jobs/engine.py) owns every projection and compiles UMAP once.
    try:
        from core.vectors import pretrained
        from core.jobs.engine import ensure_engine
        from core.store.runstore import RunStore

        ensure_engine(RunStore(root), parent=os.getpid())
        pretrained.glove()  # the Data page's coverage needs it; torch is the workers' business
        status["state"] = "done"
    except Exception as exc:  # noqa: BLE001 - a failed warm-up only costs speed later
        status.update(state="failed", error=f"{type(exc).__name__}: {exc}")


# ------------------------------------------------------------------------------ data
@dataclass(frozen=True)
class DataChoice:
    """The bytes the user chose (or the bundled sample) and how to name them."""

    filename: str
    data: bytes
    sha: str
    is_sample: bool


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def data_choice() -> DataChoice | None:
    """The chosen file (an upload, or a stored data set read back), else the bundled sample
    (None if it is missing)."""
    from core.store.datasets import SAMPLE_PATH

    up = state.get(state.UPLOAD)
    if up:
        return DataChoice(up["name"], up["bytes"], up["sha"], False)
    if not SAMPLE_PATH.is_file():
        return None
    data = SAMPLE_PATH.read_bytes()
    return DataChoice(SAMPLE_PATH.name, data, sha256(data), True)


@st.cache_data(show_spinner="Reading the file…", max_entries=8)
def inspect_file(sha: str, _data: bytes, filename: str) -> dict[str, Any]:
    """Columns, format, a preview and the detected (text, label) columns of a file."""
    from core.data.loading import detect_columns, read_frame
    from core.errors import DataError

    df, fmt, encoding = read_frame(_data, filename)
    try:
        detected, problem = detect_columns(df), None
    except DataError as exc:
        detected, problem = (None, None), str(exc)
    return {"columns": [str(c) for c in df.columns], "fmt": fmt, "encoding": encoding,
            "n_rows": len(df), "preview": df.head(20), "detected": detected,
            "detect_problem": problem}


@st.cache_data(show_spinner="Loading the data set…", max_entries=8)
def load(sha: str, text_column: str | None, label_column: str | None, _data: bytes,
         filename: str):
    """core.data.loading.load_dataset, cached on the bytes' hash and the column choice."""
    from core.data.loading import LoadConfig, load_dataset

    return load_dataset(_data, filename, LoadConfig(text_column=text_column,
                                                    label_column=label_column))


@st.cache_data(show_spinner="Counting tokens and GloVe coverage…", max_entries=8)
def text_profile(sha: str, text_column: str | None, label_column: str | None,
                 _dataset) -> dict[str, Any]:
    """Token statistics and GloVe coverage of the data set (tokenised by core.data.text)."""
    from core.data.text import coverage, token_stats, tokenize

    tokens = [tokenize(t) for t in _dataset.texts]
    cov = coverage(tokens, glove())
    return {"stats": token_stats(tokens), "token_share": cov.token_share,
            "vocab_share": cov.vocab_share, "n_tokens": cov.n_tokens, "n_types": cov.n_types,
            "top_missing": list(cov.top_missing)}


def current_dataset():
    """(DataChoice, Dataset) for the chosen data and columns, or None after showing why.
    The data set is kept in the run store (``core.store.datasets``) and becomes the chosen
    one, so a refresh or a restart finds it again."""
    choice = data_choice()
    if choice is None:
        st.warning("The bundled sample (sample_data/sample.csv) is missing: upload a file "
                   "on the Data page.")
        return None
    dataset = show_errors(load, choice.sha, state.get(state.TEXT_COLUMN),
                      state.get(state.LABEL_COLUMN), choice.data, choice.filename)
    if dataset is None:
        return None
    show_errors(adopt, choice, dataset)
    return choice, dataset


@st.cache_data(show_spinner=False, max_entries=16)
def fingerprint(sha: str, text_column: str | None, label_column: str | None,
                _dataset) -> str:
    """The data set's id (``Dataset.fingerprint``), hashed once per file and column choice."""
    return _dataset.fingerprint()


def adopt(choice: DataChoice, dataset) -> str:
    """Make the loaded data set the chosen one: kept in the store by
    ``core.store.datasets.adopt`` (registered once; a new column choice for the same file
    replaces the data set it was made from when nothing trained on that one yet) and named in
    the URL (?data=, which a refresh keeps)."""
    from core.store import datasets

    new_id = fingerprint(choice.sha, state.get(state.TEXT_COLUMN),
                         state.get(state.LABEL_COLUMN), dataset)
    datasets.adopt(store(), dataset, choice.data, choice.filename, state.get(state.DATASET),
                   dataset_id=new_id)
    state.put(state.DATASET, new_id)
    if st.query_params.get("data") != new_id:
        st.query_params["data"] = new_id
    return new_id


def current_record():
    """The stored record of the chosen data set (None before one was loaded)."""
    from core.store import datasets

    return datasets.get_or_none(store(), state.get(state.DATASET))


def select_dataset(dataset_id: str) -> None:
    """Choose a stored data set: its file and columns become the session's choice (raises
    StoreError when it is gone or its file is missing)."""
    from core.store import datasets

    record = datasets.get(store(), dataset_id)
    if record.bundled:
        state.put(state.UPLOAD, None)
    else:
        data = datasets.source_of(store(), record)
        state.put(state.UPLOAD, {"name": record.filename, "bytes": data,
                                 "sha": record.source_sha})
    state.put(state.TEXT_COLUMN, record.text_column)
    state.put(state.LABEL_COLUMN, record.label_column)
    state.put(state.DATASET, dataset_id)
    state.put(state.UPLOAD_FILE_ID, None)
    st.query_params["data"] = dataset_id


def use_sample() -> None:
    """Back to the bundled sample with its detected columns."""
    for key in (state.UPLOAD, state.TEXT_COLUMN, state.LABEL_COLUMN, state.DATASET):
        state.put(key, None)
    st.query_params.pop("data", None)


def sync_dataset() -> None:
    """A fresh session (a refresh, a restart) adopts ``?data=``, else the data set of the
    active run (``?run=``), if it is stored; afterwards the URL names the
    chosen data set. Per tab on purpose: no store-wide "last choice" that would switch the
    data under another tab or user. Runs once per script run, from app.py."""
    from core.errors import ExplorerError

    from core.store import datasets

    if not state.get(state.DATA_RESTORED):
        state.put(state.DATA_RESTORED, True)
        # no ?data=: the active run's data set (a tab opened on a run trains on its data)
        wanted = (st.query_params.get("data")
                  or datasets.of_run(store(), state.get(state.ACTIVE_RUN)))
        if wanted:
            try:
                select_dataset(wanted)
            except ExplorerError as exc:
                st.warning(f"The data set named in the address could not be opened: "
                           f"{escape_markdown(exc)} Showing the bundled sample.")
                use_sample()
    chosen = state.get(state.DATASET)
    if chosen and st.query_params.get("data") != chosen:
        st.query_params["data"] = chosen
    elif not chosen and "data" in st.query_params:
        del st.query_params["data"]


def parents(run) -> dict:
    """{experiment id: experiment} for a run made by an experiment (which records the data
    set for its runs), else {}: the ``jobs`` argument of the widgets' run namers."""
    from core.errors import ExplorerError
    from core.store.datasets import experiment_of

    parent = experiment_of(run)
    try:
        return {parent: store().get_job(parent)} if parent else {}
    except ExplorerError:
        return {}


@st.cache_data(show_spinner=False, max_entries=8)
def experiment_pool(sha: str, text_column: str | None, label_column: str | None,
                    _labels) -> int:
    """Rows left for training after an experiment's validation split (Experiments page)."""
    from core.training.split import experiment_pool_size

    return experiment_pool_size(_labels)


def experiments_first(past: list, dataset_id: str | None) -> tuple[list, dict]:
    """Experiments with those on ``dataset_id`` first (newest first within each group), and
    each one's data set name (id -> name) for its label."""
    from core.store.datasets import job_dataset

    jobs = {j.run_id: j for j in store().list_jobs("experiment")}
    data = {e.experiment_id: job_dataset(jobs[e.experiment_id]) if e.experiment_id in jobs
            else (None, None) for e in past}
    names = {i: name or "(data set not recorded)" for i, (_, name) in data.items()}
    return sorted(past, key=lambda e: data[e.experiment_id][0] != dataset_id), names


def stored_datasets() -> list:
    """Every data set in the store, newest first; the bundled sample is always among them
    (registered the first time it is listed)."""
    from core.store import datasets

    datasets.ensure_sample(store())
    return datasets.list_datasets(store())


def rename_dataset(dataset_id: str, name: str) -> None:
    from core.store import datasets
    datasets.rename(store(), dataset_id, name)


def delete_dataset(dataset_id: str) -> None:
    """Forget a stored data set (core refuses the bundled sample); runs trained on it stay.
    When it was the chosen one, the bundled sample is chosen instead."""
    from core.store import datasets

    datasets.delete(store(), dataset_id)
    if state.get(state.DATASET) == dataset_id:
        use_sample()


def save_vectors_upload(name: str, data: bytes) -> dict[str, Any]:
    """Keep an uploaded vector file in the run store and check it with core
    (``core.store.uploads.keep_vectors_file``); raises on refusal. A queued worker reads the
    file when it starts, maybe after a restart: it is in the store, not a temp folder."""
    from core.store.uploads import keep_vectors_file

    return keep_vectors_file(store(), name, data)


# ------------------------------------------------------------------------------ runs
def sync_active_run() -> None:
    """A fresh session adopts ``?run=``; afterwards the URL mirrors the active run."""
    from core.errors import ExplorerError

    active, param = state.get(state.ACTIVE_RUN), st.query_params.get("run")
    if active is None and param:
        try:
            store().get_run(param)
        except ExplorerError as exc:
            st.warning(f"The run named in the address could not be opened: {escape_markdown(exc)}")
            del st.query_params["run"]
            return
        state.put(state.ACTIVE_RUN, param)
        active = param
    if active and param != active:
        st.query_params["run"] = active


def open_run(run_id: str | None) -> None:
    state.put(state.ACTIVE_RUN, run_id)
    if run_id:
        st.query_params["run"] = run_id
    elif "run" in st.query_params:
        del st.query_params["run"]


def submit(dataset, config, label: str = "") -> str:
    """Queue a run of ``config`` on ``dataset``; the run records the chosen data set's name."""
    from core.jobs import queue as jobs
    record = current_record()
    return jobs.submit_run(store(), dataset, config, label=label,
                           dataset_name=record.name if record else None)


def submit_experiment(dataset, config) -> str:
    """Queue an experiment on ``dataset``; it records the chosen data set's name."""
    from core.jobs import queue as jobs
    record = current_record()
    return jobs.submit_experiment(store(), dataset, config,
                                  dataset_name=record.name if record else None)


def cancel(run_id: str) -> None:
    from core.jobs import queue as jobs
    jobs.cancel(store(), run_id)


def rename_run(run_id: str, name: str) -> None:
    """Name a run (empty: its automatic name again)."""
    from core.store.datasets import rename_job
    rename_job(store(), run_id, name)


def delete_run(run_id: str) -> None:
    """Delete a run that is over (a run whose process died is failed first, so it can go)."""
    from core.jobs import queue as jobs
    jobs.delete_run(store(), run_id)


@st.cache_data(show_spinner="Estimating the run's size…", max_entries=32)
def run_size(sha: str, text_column: str | None, label_column: str | None, _dataset,
             config: dict[str, Any], dim: int | None):
    """What a run of ``config`` will write into the store (core.jobs.queue.estimate_size),
    cached on the data's hash, the column choice and the settings."""
    from core.jobs import queue as jobs
    from core.training.config import TrainConfig

    return jobs.estimate_size(_dataset, TrainConfig(**config), dim, store=store())


def size_problem(size) -> str | None:
    """None when the run fits the store's per-run budget and its disk; else why not (the
    dashboard refuses what the command line only warns about)."""
    from core.errors import StoreError
    try:
        return store().check_space(size)
    except StoreError as exc:
        return str(exc)


def live_preview(run_id: str):
    """The newest live 2-D frame the engine wrote for this run (None before the first), with
    each word's seen-in-training flag and its class association z (words x classes, None
    without class counts). Reads files only; the engine does the projecting."""
    from core.runs.evolution import latest_frame
    frame = latest_frame(store(), run_id)
    if frame is None:
        return None
    seen, z = _word_facts(run_id)
    return frame, seen[frame.rows], (z[frame.rows] if z.shape[1] else None)


@st.cache_data(show_spinner=False, max_entries=8)
def _word_facts(run_id: str):
    """Per vocabulary row: seen in training, and the class association z (rows x classes,
    no columns without class counts). Fixed for a run (its vocabulary is written before its
    first snapshot), so the live panel's polls read and compute them once."""
    from core.runs.comparison import class_association
    from core.runs.projections import ranking_counts  # a run without counts: all seen
    vocab = store().load_vocab(run_id)
    classes = [str(c) for c in store().get_run(run_id).info.get("classes") or []]
    return ranking_counts(vocab)[1] > 0, class_association(vocab, classes).to_numpy()


@st.cache_data(show_spinner=False, max_entries=16)
def vocabulary_words(run_id: str) -> list[str]:
    """Every word of a run's vocabulary (not <pad>/<unk>), alphabetically: with a prefix
    filter, the word typed comes first ("paris" before "parisian", never "comparison")."""
    from core.data.text import SPECIALS

    tokens = store().load_vocab(run_id)["token"].astype(str)
    return sorted(set(tokens) - set(SPECIALS))


def busy_slots() -> int:
    from core.jobs import queue as jobs
    return jobs.busy_slots(store())


def check_vectors_upload(name: str, data: bytes) -> dict[str, Any]:
    """``save_vectors_upload`` whose refusal is kept as ``{"error": message}``, so the
    message stays on screen across reruns instead of flashing once."""
    try:
        return save_vectors_upload(name, data)
    except ValueError as exc:  # VectorsError names the file and the reason
        return {"error": str(exc)}
    except Exception as exc:  # noqa: BLE001
        return {"error": f"Unexpected problem ({type(exc).__name__}): {exc}"}


# word2vec is zipped: beside the text it may hold vectors.w2v.omitted.json (words it left out)
EXPORTS = {"word2vec": ("word2vec text", "zip"), "projector": ("TensorBoard projector", "zip"),
           "csv": ("word table", "csv")}


def export_download(run_id: str, fmt: str) -> Callable[[], bytes]:
    """A deferred download for st.download_button: core.runs.export renders the files only when
    the button is clicked; several files are zipped. A failure becomes a short text file,
    since nothing can be drawn on the page from inside a download."""
    def render() -> bytes:
        from core.runs import export
        try:
            files = export.export_bytes(store(), run_id, fmt)
        except Exception as exc:  # noqa: BLE001
            return f"Export failed: {exc}\n".encode()
        if len(files) == 1 and EXPORTS[fmt][1] != "zip":
            return next(iter(files.values()))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in files.items():
                zf.writestr(name, data)
        return buffer.getvalue()
    return render
