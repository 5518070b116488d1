"""A word2vec run's own numbers (Train page, Lookup): how well its table matches human
word-similarity judgements, and whether it had enough text to learn anything."""
from __future__ import annotations

import math

import streamlit as st

from core.runs import naming
from dashboard import services, state
from dashboard.charts import similarity
from dashboard.text import escape_markdown

ABSENT = ("This run was trained by word2vec ({objective}): there is no classifier, so no "
          "validation accuracy, document vectors or predictions to show here. The word "
          "vectors themselves are in Evolution, Lookup table and Learned vs pretrained.")


def is_word2vec(run) -> bool:
    return run.config.get("objective", "classify") != "classify"


def absent_note(run) -> None:
    """Why a classifier's view is empty for a word2vec run."""
    st.info(ABSENT.format(objective=run.config.get("objective")))


def quality_panel(run) -> None:
    """WordSim353/SimLex999 per epoch, the corpus size in tokens, and the too-little-text
    warning (``core.training.word2vec.quality``)."""
    st.plotly_chart(similarity.similarity_figure(run.epochs))
    q = run.info.get("word2vec_quality")
    if not q:
        return
    a, b, c = st.columns(3)
    a.metric("Training tokens", f"{q['n_tokens']:,}")
    for col, key, name in ((b, "wordsim353", "WordSim353"), (c, "simlex999", "SimLex999")):
        rho = q.get(key)
        ok = isinstance(rho, float) and math.isfinite(rho)
        col.metric(name, f"{rho:.3f}" if ok else "n/a",
                   help=(f"95 % interval {q[key + '_low']:.3f} to {q[key + '_high']:.3f}, "
                         f"{q[key + '_pairs']} pairs" if ok else
                         f"only {q.get(key + '_pairs', 0)} of its word pairs are in this "
                         "vocabulary: too few to score"))
    if q.get("warning"):
        st.warning(escape_markdown(q["warning"]))


def start_run_picker(fingerprint: str) -> str | None:
    """A finished run of these texts to start a new run's table from (word2vec runs first,
    newest first): pretrain with word2vec, then fine-tune a classifier from it."""
    runs = [r for r in services.store().list_runs() if r.status == "done"
            and r.fingerprint == fingerprint and r.config.get("source") is None]
    if not runs:
        st.info("No finished run of these texts yet: train a word2vec run first (What trains "
                "the table: word2vec skip-gram or CBOW).")
        return None
    runs.sort(key=lambda r: (not is_word2vec(r), -r.created))
    jobs = {r.run_id: r for r in runs}
    return st.selectbox("Start from the table of run", list(jobs), key=state.W_INIT_RUN,
                        format_func=lambda i: naming.run_label(jobs[i], jobs),
                        help="Its best epoch's table (a word2vec run: its last), for every "
                             "word it trained; the other words start at random.")
