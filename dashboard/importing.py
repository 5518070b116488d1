"""The import form: saved embedding weights (safetensors, Keras .weights.h5/.keras, projector
vectors.tsv, word2vec/GloVe text) as a run, one snapshot per file. The server only keeps the
uploads in the store and queues an import job (``core.jobs.imports``); a worker process reads
the files with the same caps and messages as ``python -m core import``, so no weight file is
ever parsed inside the server. The job's panel shows progress, a Cancel button, the failure
message or the new run. The Runs page calls ``render_import``."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.store.runstore import LIVE
from core.track.ordering import planned_labels
from dashboard import services, state
from dashboard.text import escape_markdown

HELP_FILES = ("One file per snapshot: .safetensors, Keras .weights.h5 / .keras, TensorBoard "
              "projector vectors.tsv, word2vec/GloVe .txt / .vec / .bin. Files whose names "
              "all hold a number (epoch_1, epoch_2, ...) are ordered and labelled by it; "
              "otherwise by the order shown. Nothing in them is run.")
HELP_VOCAB = ("One token per line, line i = row i of the table (a projector metadata.tsv "
              "too). Not needed for word2vec/GloVe files, which hold their words.")


def submit_uploads(store, uploads: list[Any], vocab: Any | None, tensor: str,
                   name: str) -> str:
    """Queue the uploads' import; returns the job id (messages name the uploads)."""
    from core.jobs.imports import submit_import

    files = [(up.name, up.getvalue()) for up in sorted(uploads, key=lambda up: up.name)]
    voc = (vocab.name, vocab.getvalue()) if vocab is not None else None
    return submit_import(store, files, voc, tensor=tensor, name=name)


def _show_plan(files: list[Any]) -> None:
    """The label each file will get, before anything is imported."""
    plan = planned_labels(sorted(up.name for up in files))
    st.caption("Snapshots this import will make:")
    st.dataframe(pd.DataFrame(plan, columns=["file", "snapshot"]), hide_index=True)


def render_import(store) -> str | None:
    """File uploaders, vocabulary, name and an Import button, then the import job's panel;
    returns the new run's id once its job is done (errors are shown as text)."""
    st.subheader("Import saved weights")
    st.caption("Explore a model trained elsewhere: each file becomes one snapshot of a run.")
    files = st.file_uploader("Weight files", accept_multiple_files=True,
                             key=state.W_IMPORT_FILES, help=HELP_FILES)
    vocab = st.file_uploader("Vocabulary (optional)", key=state.W_IMPORT_VOCAB, help=HELP_VOCAB)
    left, right = st.columns(2)
    tensor = left.text_input("Tensor name (optional)", key=state.W_IMPORT_TENSOR,
                             help="Default: the only 2-D tensor, else the one whose name "
                                  "contains 'embedding'.")
    name = right.text_input("Run name (optional)", key=state.W_IMPORT_NAME)
    if files:
        _show_plan(files)
    if st.button("Import", disabled=not files):
        job_id = services.show_errors(submit_uploads, store, list(files), vocab, tensor, name)
        if job_id is not None:
            state.put(state.IMPORT_JOB, job_id)
    job_id = state.get(state.IMPORT_JOB)
    return job_panel(store, job_id) if job_id else None


def job_panel(store, job_id: str) -> str | None:
    """The import job as it runs (polled each second while live); the new run's id once done."""
    from core.jobs import queue

    first = services.show_errors(queue.refresh, store, job_id)
    if first is None:
        state.put(state.IMPORT_JOB, None)
        return None
    live = first.status in LIVE

    @st.fragment(run_every=1.0 if live else None)
    def draw() -> None:
        job = services.show_errors(queue.refresh, store, job_id)
        if job is None:
            return
        if job.status in LIVE:
            done, total = int(job.info.get("done", 0)), int(job.info.get("total", 1))
            st.progress(done / max(total, 1), text=f"Import {job.status}: {done} of {total} "
                                                   "files read")
            if st.button("Cancel import"):
                services.show_errors(queue.cancel, store, job_id)
        elif job.status == "failed":
            st.error(f"The import failed: {escape_markdown(job.error or 'no reason recorded')}")
        elif job.status == "cancelled":
            st.warning("The import was cancelled; nothing was stored.")
        if live and job.status not in LIVE:
            st.rerun(scope="app")  # draw once more, without the timer

    draw()
    if first.status == "done":
        state.put(state.IMPORT_JOB, None)
        return first.info.get("imported_run")
    return None
