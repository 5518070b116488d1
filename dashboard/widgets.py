"""Small presentation helpers shared by the views: plotly figures of values core computed,
and formatting. No maths here: every number shown comes from core or the run store."""
from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.store.datasets import experiment_of, job_dataset
from dashboard import charts, services, state

# Material icons, not emoji: they render without an emoji font (headless/minimal systems).
STATUS_ICON = {"queued": ":material/hourglass_top:", "running": ":material/directions_run:",
               "done": ":material/check_circle:", "failed": ":material/error:",
               "cancelled": ":material/cancel:"}
# Legend under the plot: above it, it collides with the title.
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), height=340,
               legend=dict(orientation="h", yanchor="top", y=-0.25, x=0))


def status_text(status: str) -> str:
    """Status with its icon, for Markdown (headings, captions); tables show the plain word."""
    return f"{STATUS_ICON.get(status, '')} {status}"


def when(timestamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp)) if timestamp else ""


EXTERNAL_SOURCES = {"keras": "own Keras model", "pytorch": "own PyTorch model",
                    "import": "imported weights", "python": "own model"}


def init_name(config: dict[str, Any]) -> str:
    """'random', 'glove', 'word2vec (cbow)', the vector file's name, or for a run recorded
    from outside the product (core.track) where it came from."""
    init = str(config.get("init", ""))
    source = config.get("source")
    if source in EXTERNAL_SOURCES:
        told = "" if init in ("", "unknown") else f", init {init.rsplit('/', 1)[-1]}"
        return EXTERNAL_SOURCES[source] + told
    if init == "word2vec":
        return f"word2vec ({config.get('w2v_algorithm', 'skipgram')})"
    if init in ("random", "glove"):
        return init
    return "file: " + init.rsplit("/", 1)[-1]


def class_balance_figure(summary: pd.DataFrame) -> go.Figure:
    """Bar chart of core.data.loading.dataset_summary (class, count, share)."""
    fig = go.Figure(go.Bar(x=[charts.text(c) for c in summary["class"]], y=summary["count"],
                           text=[f"{s:.0%}" for s in summary["share"]],
                           marker_color=charts.class_colours(len(summary)),
                           textposition="outside", cliponaxis=False))
    fig.update_layout(title="Examples per class", yaxis_title="texts", **_LAYOUT)
    return fig


def _epoch_lines(fig: go.Figure, epochs: Sequence[dict], keys: Sequence[tuple[str, str]],
                 prefix: str = "", colours: Sequence[str] = charts.PALETTE) -> go.Figure:
    x = [e["epoch"] for e in epochs]
    for (key, name), colour in zip(keys, colours):
        fig.add_trace(go.Scatter(x=x, y=[e.get(key) for e in epochs], mode="lines+markers",
                                 name=charts.text(prefix + name), line=dict(color=colour),
                                 marker=dict(size=8)))
    return fig


def _padded(values: Sequence[float], low: float | None = None,
            high: float | None = None) -> list[float] | None:
    """A y range around the values with 10 % (at least 0.02) room, clipped to [low, high]:
    one epoch is one point, which plotly's autorange spreads over a meaningless span."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    lo, hi = min(values), max(values)
    pad = max((hi - lo) * 0.1, 0.02)
    lo, hi = lo - pad, hi + pad
    return [lo if low is None else max(low, lo), hi if high is None else min(high, hi)]


def loss_figure(epochs: Sequence[dict], n_epochs: int) -> go.Figure:
    fig = _epoch_lines(go.Figure(), epochs, [("train_loss", "training loss"),
                                             ("val_loss", "validation loss")])
    losses = [e.get(k) for e in epochs for k in ("train_loss", "val_loss")]
    fig.update_layout(title="Loss per epoch", xaxis_title="epoch", yaxis_title="cross-entropy",
                      yaxis_range=_padded(losses, low=0.0), **_LAYOUT)
    fig.update_xaxes(range=[0.5, max(n_epochs, 1) + 0.5], dtick=1 if n_epochs <= 20 else None)
    return charts.mark_best_epoch(fig, epochs)


def accuracy_figure(runs: Sequence[tuple[str, Sequence[dict]]], n_epochs: int,
                    baseline: float | None = None) -> go.Figure:
    """Validation accuracy per epoch; one line per (name, epochs) pair; ``baseline`` (the
    share of the most frequent validation class) dashed: the accuracy of always guessing it."""
    fig = go.Figure()
    for (name, epochs), colour in zip(runs, charts.PALETTE):  # one distinct colour per run
        _epoch_lines(fig, epochs, [("val_accuracy", name)], colours=[colour])
    accuracies = [e.get("val_accuracy") for _, epochs in runs for e in epochs]
    if baseline is not None:
        fig.add_hline(y=baseline, line=dict(color="grey", dash="dash", width=1))
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", hoverinfo="skip",
                                 line=dict(color="grey", dash="dash", width=1),
                                 name=f"majority class ({baseline:.1%}: always guessing it)"))
        accuracies.append(baseline)
    fig.update_layout(title="Validation accuracy per epoch", xaxis_title="epoch",
                      yaxis_title="validation accuracy", yaxis_tickformat=".1%",
                      yaxis_range=_padded(accuracies, 0.0, 1.0), showlegend=True, **_LAYOUT)
    fig.update_xaxes(range=[0.5, max(n_epochs, 1) + 0.5], dtick=1 if n_epochs <= 20 else None)
    # one run: its best epoch marked (two runs' best epochs on one axis would be ambiguous)
    return charts.mark_best_epoch(fig, runs[0][1]) if len(runs) == 1 else fig


def _share(x: float | None) -> str:
    return "" if x is None else f"{x:.1%}"


def best_accuracy(run) -> float | None:
    """The run's headline accuracy: that of its chosen epoch (``reporting.headline``, the
    number the Train page shows too); None when that epoch logged none."""
    from core.training.reporting import headline

    return headline(run).get("accuracy")


def dataset_name(run, jobs: dict | None = None) -> str:
    """The name of the data set a run trained on (its experiment's for an experiment run);
    runs from before data sets were recorded say so."""
    dataset_id, name = job_dataset(run, jobs)
    return name or (f"data set {dataset_id[:8]}" if dataset_id else "data set not recorded")


def training_size(run) -> str:
    """How many texts the run trains on: measured once it started, else as configured."""
    n = run.info.get("n_train") or run.config.get("train_size")
    return f"{int(n):,}" if n else "all"


def run_name(run, jobs: dict | None = None) -> str:
    """The run's name: the one the user gave (info "name"), else data set · init · arch ·
    training size."""
    given = run.info.get("name")
    return str(given) if given else run_facts(run, jobs)


def run_facts(run, jobs: dict | None = None) -> str:
    """data set · init · arch · training size, leaving out what a run recorded from outside
    the product (core.track) does not know."""
    external = run.config.get("source") in EXTERNAL_SOURCES
    facts = [dataset_name(run, jobs), init_name(run.config), run.config.get("arch"),
             None if external and not run.info.get("n_train") else f"{training_size(run)} texts"]
    return " · ".join(str(f) for f in facts if f)


def run_summary(run, jobs: dict | None = None) -> str:
    """The run's given name (if any), then data set · init · arch · training size."""
    facts = run_facts(run, jobs)
    return f"{run.info['name']} — {facts}" if run.info.get("name") else facts


def run_label(run, jobs: dict | None = None, active: str | None = None) -> str:
    """One line naming a run in a picker: name, data set, init, arch, size, best accuracy,
    status and id (two runs never read the same)."""
    exp = experiment_of(run)
    return (f"{run_summary(run, jobs)} · best {_share(best_accuracy(run)) or '–'} · "
            f"{run.status} · {run.run_id}" + (f" · of experiment {exp}" if exp else "")
            + (" (active)" if run.run_id == active else ""))


def chosen_epoch(run) -> dict[str, Any]:
    """The Runs table's "best epoch" (the headline's) and the texts it was scored on."""
    from core.training.reporting import headline

    said = headline(run)
    return {"best epoch": said.get("epoch"), "scored on": said.get("scored_on", "")}


def run_numbers(run, pretty: bool = False, jobs: dict | None = None) -> dict[str, Any]:
    """Key facts of a stored run (RunInfo) as a flat dict for tables; ``pretty`` gives text
    (percentages, seconds) for a side-by-side table of mixed rows; ``jobs`` (id -> job)
    lets an experiment's run name its experiment's data set."""
    cfg, info = run.config, run.info
    acc = [e.get("val_accuracy") for e in run.epochs]
    cov = info.get("pretrained_coverage") or {}
    out = {
        "run": run.run_id, "name": run_name(run, jobs), "data set": dataset_name(run, jobs),
        "status": run.status, "created": when(run.created),
        "init": init_name(cfg), "arch": cfg.get("arch"), "dim": info.get("dim", cfg.get("dim")),
        "training size": training_size(run),
        "frozen": bool(cfg.get("freeze")), "epochs": f"{len(run.epochs)}/{cfg.get('epochs')}",
        "final val accuracy": acc[-1] if acc else None,
        "best val accuracy": best_accuracy(run), **chosen_epoch(run),
        "experiment": experiment_of(run) or "",
        "training texts": info.get("n_train"), "vocabulary": info.get("vocab_size"),
        "GloVe token coverage": cov.get("token_share"),
        "seconds": info.get("train_seconds"), "error": run.error or "",
    }
    if pretty:
        for key in ("final val accuracy", "best val accuracy", "GloVe token coverage"):
            out[key] = _share(out[key])
        out["seconds"] = "" if out["seconds"] is None else f"{out['seconds']:.1f} s"
        out = {k: "" if v is None else str(v) for k, v in out.items()}
    return out


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


def pick_run(page: str):
    """The run a view page shows: the active run, or another picked here for this page only
    (the active run, shown by Train and the sidebar, changes only with "Make active").
    None after telling the user why there is nothing to show."""
    jobs = services.attempt(lambda: {j.run_id: j for j in services.store().list_jobs()})
    if jobs is None:
        return None
    runs = [j for j in jobs.values() if j.kind == "run"]
    if not runs:
        st.info("No run yet: train one on the **Train** page first.")
        st.page_link("views/train.py", label="Go to Train", icon=":material/model_training:")
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
    return _viewable(jobs[run_id])


def _viewable(run):
    """``run``, or None after saying why it has nothing to show here yet."""
    if run.status in services.LIVE:
        st.info("This run is still training: its live preview is on the **Train** page; this "
                "page fills in when it finishes.")
        return None
    if run.n_snapshots == 0:
        st.warning(f"Run {run.run_id} ({run.status}) has no saved snapshots, so there is "
                   "nothing to show. Pick another run or train a new one.")
        return None
    return run


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
        st.error(services.plain(vectors["error"]))
        return None
    if vectors:
        st.success(f"{services.plain(vectors['name'])}: {vectors['words']:,} words × "
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
        help=f"Suggested: the {SUGGESTED_WORDS} most frequent words; type any other word in "
             "the picture and press Enter.")
    position = {w: i for i, w in enumerate(words)}
    lost = [w for w in picked if w not in position]
    if lost:
        where.caption("Not in the picture (add it with “Add words” above): "
                      + ", ".join(services.plain(w) for w in lost))
    return [position[w] for w in picked if w in position]
