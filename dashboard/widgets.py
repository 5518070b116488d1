"""The Streamlit helpers the pages share: the run picker and its filters, the "UMAP if
cached, else PCA" loading rule, sections drawn on several pages, the vector-file and
highlight pickers. Figures come from ``dashboard.charts``, names and facts of runs from
``core.runs.naming``; no maths here: every number shown comes from core or the run store."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import streamlit as st

from core.runs.naming import dataset_name, run_label
from core.store.datasets import experiment_of
from dashboard import services, state
from dashboard.charts import bars
from dashboard.text import escape_html, escape_markdown, join_words

POLL_SECONDS = 2.0
# Material icons, not emoji: they render without an emoji font (headless/minimal systems).
STATUS_ICON = {"queued": ":material/hourglass_top:", "running": ":material/directions_run:",
               "done": ":material/check_circle:", "failed": ":material/error:",
               "cancelled": ":material/cancel:"}


def status_text(status: str) -> str:
    """Status with its icon, for Markdown (headings, captions); tables show the plain word."""
    return f"{STATUS_ICON.get(status, '')} {status}"


def run_filters(page: str, runs: Sequence, jobs: dict, keep: str | None = None) -> list:
    """A data-set filter and a "show experiment runs" toggle over ``runs``; returns the runs
    left. Experiment runs stay hidden until asked for (``keep``, the active run, is always
    offered: it was chosen explicitly)."""
    names = {r.run_id: dataset_name(r, jobs) for r in runs}
    left, right = st.columns([3, 2])
    chosen = left.selectbox("Data set", ["all data sets", *sorted(set(names.values()))],
                            key=f"{state.W_RUN_DATA}_{page}")
    n_exp = sum(1 for r in runs if experiment_of(r))
    show = right.toggle(f"Show experiment runs ({n_exp})", key=f"{state.W_RUN_EXPS}_{page}",
                        help="Runs trained by an experiment (Experiments page) are hidden "
                             "from run lists unless you ask for them.")
    matching = [r for r in runs if chosen == "all data sets" or names[r.run_id] == chosen]
    shown = [r for r in matching if show or not experiment_of(r) or r.run_id == keep]
    if not shown and matching:  # nothing but experiment runs: better them than an empty list
        st.caption("No run of your own here yet: showing the runs of experiments.")
        shown = matching
    # the user's own runs first, then each experiment's runs together (ids sort by time,
    # newest first; sorting is stable, so runs keep their order within a group)
    shown = sorted(shown, key=lambda r: experiment_of(r) or "", reverse=True)
    return sorted(shown, key=lambda r: experiment_of(r) is not None)


def pick_run(page: str, live_ok: bool = False):
    """The run a view page shows: the active run, or another picked here for this page only
    (the active run, shown by Train and the sidebar, changes only with "Make active").
    None after telling the user why there is nothing to show. ``live_ok``: the page can show
    a run still training (Evolution follows it frame by frame)."""
    jobs = services.show_errors(lambda: {j.run_id: j for j in services.store().list_jobs()})
    if jobs is None:
        return None
    runs = [j for j in jobs.values() if j.kind == "run"]
    if not runs:
        st.info("No run yet: train one on the **Train** page first.")
        st.page_link("screens/train.py", label="Go to Train", icon=":material/model_training:")
        return None
    active = state.get(state.ACTIVE_RUN)
    shown = run_filters(page, runs, jobs, keep=active)
    if not shown:
        st.info("No run matches these filters.")
        return None
    ids = [r.run_id for r in shown]
    run_id = st.selectbox(  # keyed by the active run: a new active run resets the local pick
        "Run", ids, index=ids.index(active) if active in ids else 0,
        key=f"{state.W_VIEW_RUN}_{page}_{active}",
        format_func=lambda i: run_label(jobs[i], jobs, active))
    if run_id != active:
        note, button = st.columns([4, 1])
        note.caption("Shown on this page only: the active run (Train page, sidebar, the "
                     "other pages) changes only when you make this one active.")
        if button.button("Make active", key=f"make_active_{page}"):
            services.open_run(run_id)
            st.rerun()
    return _viewable(jobs[run_id], live_ok)


def _viewable(run, live_ok: bool = False):
    """``run``, or None after saying why it has nothing to show here yet."""
    if run.status in services.LIVE and not (live_ok and run.n_snapshots):
        st.info("This run is still training: its live preview is on the **Train** page; this "
                "page fills in when it finishes.")
        return None
    if run.n_snapshots == 0:
        st.warning(f"Run {run.run_id} ({run.status}) has no saved snapshots, so there is "
                   "nothing to show. Pick another run or train a new one.")
        return None
    return run


def load_layout(run, reader: Callable[..., Any], **kw: Any) -> tuple[Any, bool]:
    """``reader(store, run_id, method, cached_only=True)`` with UMAP when the engine has it,
    else PCA (computed on request in well under a second). Returns (result, still_pending)."""
    store, views = services.store(), run.info.get("views", "pending")
    if run.info.get("views_method", "umap") != "pca":
        got = services.show_errors(reader, store, run.run_id, "umap", cached_only=True, **kw)
        if got is not None:
            return got, False
    pending = run.status == "done" and views in ("pending", "computing")
    if views == "failed":
        st.warning("The UMAP layout could not be computed "
                   f"({run.info.get('views_error', 'no reason recorded')}); showing PCA.")
    elif pending:
        st.caption(":material/hourglass_top: UMAP layout is being computed… showing the PCA "
                   "layout meanwhile; the page updates by itself.")
    return services.show_errors(reader, store, run.run_id, "pca", cached_only=True, **kw), pending


def follow_frames(run_id: str, coming: str, all_words: bool = False) -> None:
    """While more evolution frames are ``coming``, poll the store (like the Train page's live
    panel) and rerun the page when a frame arrives or the run's state changes; nothing polls
    once the run's frames are complete (the fragment is not drawn then)."""
    from core.runs.evolution import progress_token

    if not coming:
        return
    st.caption(f":material/hourglass_top: {escape_markdown(coming)}; the page updates by "
               "itself.")
    seen = services.show_errors(progress_token, services.store(), run_id, all_words)

    @st.fragment(run_every=POLL_SECONDS)
    def poll() -> None:
        if services.show_errors(progress_token, services.store(), run_id, all_words) != seen:
            st.rerun()

    poll()


def poll_until_ready(run_id: str) -> None:
    """Rerun the page once the engine has finished this run's views."""
    from core.runs.views import views_state

    @st.fragment(run_every=POLL_SECONDS)
    def poll() -> None:
        if services.show_errors(views_state, services.store(), run_id) in ("ready", "failed"):
            st.rerun()

    poll()


def drift_section(comp, pending: bool, error: str | None = None) -> None:
    """The Evolution view's "How far each word moved": histogram and most-moved words;
    ``error``: why the run's comparison failed (e.g. none of its words is in GloVe)."""
    st.subheader("How far each word moved")
    if comp is None:
        st.info("The drift measures are being computed." if pending else
                "The per-word measures could not be computed for this run: "
                + escape_markdown(error) if error else
                "The per-word measures are not available for this run (they are computed for "
                "finished runs).")
        return
    last = comp.words[-1]
    moved = last[last["seen"]].nlargest(20, "drift_from_start")
    a, b = st.columns(2)
    a.plotly_chart(bars.histogram(
        {"seen in training": last.loc[last["seen"], "drift_from_start"],
         "never seen": last.loc[~last["seen"], "drift_from_start"]},
        "Drift from the initial vector (last snapshot)", "drift from start"), key="drift_hist")
    b.plotly_chart(bars.top_bars(
        [escape_html(w) for w in moved["word"]], moved["drift_from_start"].tolist(),
        "Most-moved words", "drift from start",
        hover=[f"new neighbours: {escape_html(join_words(g))}" for g in moved["gained"]]),
        key="drift_top")
    st.caption("Drift is the distance between a word's vector now and at the start. Never-seen "
               "words cannot drift: only rows that appear in a training batch get a gradient.")


def vector_file_picker(key: str) -> dict[str, Any] | None:
    """Upload a word-vector file, checked once by core (pickle formats refused); returns
    its description (name, path, words, dim) or None. The checked file is shared by the
    pages that offer it (Train, Experiments)."""
    from core.vectors.pretrained import ACCEPTED_FORMATS

    up = st.file_uploader("Word-vector file", key=key,
                          help=f"Accepted: {ACCEPTED_FORMATS}. Pickle-based files are refused.")
    if up is not None and up.file_id != state.get(state.VECTORS_FILE_ID):
        # the previous result goes first and the file counts as checked only once its
        # result is stored: a rerun cutting the check short must not leave the previous
        # file's "success" standing for this one
        state.put(state.VECTORS, None)
        with st.spinner("Checking the vector file…"):
            result = services.check_vectors_upload(up.name, up.getvalue())
        state.put(state.VECTORS, result)
        state.put(state.VECTORS_FILE_ID, up.file_id)
    vectors = state.get(state.VECTORS)
    if vectors and "error" in vectors:
        st.error(escape_markdown(vectors["error"]))
        return None
    if vectors:
        st.success(f"{escape_markdown(vectors['name'])}: {vectors['words']:,} words × "
                   f"{vectors['dim']} dimensions")
    return vectors


# A picker holding every word re-renders all its options at each rerun of the Evolution chart's
# fragment: with 5,000 words that was most of a highlight's 0.5-0.8 s (bench/README.md). It
# suggests the most frequent words; any other word in the picture can be typed.
SUGGESTED_WORDS = 300


def highlight_picker(where, words: list[str], counts: np.ndarray) -> list[int]:
    """The Evolution page's "highlight words" picker in ``where``; the chosen words' rows in
    ``words`` (a word not in the picture gets an inline note instead)."""
    chosen = list(st.session_state.get(state.W_EVO_WORDS) or [])
    top = [words[i] for i in np.argsort(-np.asarray(counts), kind="stable")[:SUGGESTED_WORDS]]
    picked = where.multiselect(
        "Highlight words (with their trail over training)", sorted(set(top) | set(chosen)),
        max_selections=8, key=state.W_EVO_WORDS, placeholder="type a word…",
        filter_mode="prefix", accept_new_options=True,
        # no "Select N matches" entry: it sits first in the list, so Enter on a typed word
        # ("gam", or "game" while "games" also matches) took every match (issue 21)
        select_all=False,
        help=f"Suggested: the {SUGGESTED_WORDS} most frequent words; type any other word in "
             "the picture and press Enter.")
    position = {w: i for i, w in enumerate(words)}
    lost = [w for w in picked if w not in position]
    if lost:
        where.caption("Not in the picture (add it with “Add words” above): "
                      + ", ".join(escape_markdown(w) for w in lost))
    return [position[w] for w in picked if w in position]
