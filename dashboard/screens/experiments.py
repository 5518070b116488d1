"""Experiments: few-shot learning curves on the current data set — every (start vectors,
training size, seed) trained on one fixed validation set in a worker process; progress read
from the store (a refresh loses nothing), charts and a CSV of the results."""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from core.jobs import queue as jobs
from core.store.runstore import LIVE
from core.common.checks import range_of
from core.training.config import ExperimentConfig, TrainConfig
from core.training.experiments import list_experiments
from dashboard import services, state, widgets
from dashboard.charts import curves
from dashboard.experiment_results import results
from dashboard.text import escape_markdown

SIZES = (50, 100, 200, 500, 1000, 2000)
INIT_NAMES = {"random": "random", "glove": "GloVe (fine-tuned)",
              "glove-frozen": "GloVe (frozen)", "word2vec": "word2vec skip-gram (your texts)",
              "word2vec-cbow": "word2vec CBOW (your texts)"}
DEFAULT = ExperimentConfig()

st.title("Experiments")
st.write("Does a pretrained start help when labelled examples are few? This trains the same "
         "model from each starting point on growing slices of your training data — several "
         "seeds each — and scores every run on the same validation set.")
loaded = services.current_dataset()
if loaded is None:
    st.stop()
choice, dataset = loaded
store = services.store()


pool = services.show_errors(services.experiment_pool, choice.sha, state.get(state.TEXT_COLUMN),
                        state.get(state.LABEL_COLUMN), dataset.labels)
if pool is None:
    st.stop()
st.caption(f"Data: **{escape_markdown(choice.filename)}** — {pool:,} texts to train on, "
           f"{len(dataset) - pool:,} for validation.")
offered = [s for s in SIZES if s < pool] + ["all"]
a, b = st.columns(2)
sizes = a.multiselect("Training sizes", offered, key=state.W_EXP_SIZES,
                      default=[s for s in (100, 500, "all") if s in offered],
                      format_func=lambda s: f"all ({pool:,})" if s == "all" else str(s))
with st.expander("Also start from your own word-vector file"):
    vectors = widgets.vector_file_picker(state.W_EXP_VECTORS_UPLOAD)
names = {**INIT_NAMES, **({vectors["path"]: f"your file {vectors['name']}"} if vectors else {})}
inits = b.multiselect("Start the word vectors from", list(names), default=["random", "glove"],
                      format_func=names.get, key=state.W_EXP_INITS)
a, b = st.columns(2)
seeds = a.slider("Seeds per setting", 1, 5, DEFAULT.seeds, key=state.W_EXP_SEEDS,
                 help="Each setting is trained this many times; the charts show mean ± spread.")
epochs = b.number_input("Epochs per run", *range_of(TrainConfig, "epochs"), DEFAULT.train.epochs,
                        key=state.W_EXP_EPOCHS)
sizes = sorted(sizes, key=lambda s: pool if s == "all" else s)
n_runs = len(sizes) * len(inits) * seeds
st.caption(f"**{n_runs} runs** ({len(inits)} starts × {len(sizes)} sizes × {seeds} seeds), "
           f"{int(epochs)} epochs each, taking turns with training jobs (one at a time).")
if st.button("Launch", type="primary", disabled=n_runs == 0):
    train = services.show_errors(replace, DEFAULT.train, epochs=int(epochs))
    config = train and services.show_errors(ExperimentConfig, sizes=tuple(sizes),
                                        inits=tuple(inits), seeds=int(seeds), train=train)
    new = config and services.show_errors(services.submit_experiment, dataset, config)
    if new:  # the picker below opens on it
        state.put(state.EXPERIMENT, new)

st.divider()
services.show_errors(jobs.reconcile, store)
past = services.show_errors(list_experiments, store) or []
if not past:
    st.caption("No experiment yet: choose the settings above and press Launch.")
    st.stop()
past, data_of = services.experiments_first(past, state.get(state.DATASET))
by_id, opened = {e.experiment_id: e for e in past}, state.get(state.EXPERIMENT)
ids, starts = list(by_id), {i: ", ".join(map(curves.init_label, e.config.inits)) for i, e in by_id.items()}
pick_key = f"{state.W_EXP_PICK}_{max(ids)}"  # a new experiment: a fresh picker showing it
exp_id = st.selectbox(
    "Experiment", ids, index=ids.index(opened) if opened in ids else 0, key=pick_key,
    # a label that never changes: a keyed selectbox keeps showing the label it was picked with
    format_func=lambda i: f"{data_of[i]} · {starts[i]} · sizes "
    f"{', '.join(map(str, by_id[i].config.sizes))} · {by_id[i].total} runs · {i}",
    on_change=lambda: state.put(state.EXPERIMENT, st.session_state[pick_key]),
    help="Those on the data set chosen now come first; each names its data set.")


def progress_text(exp) -> str:
    now = services.show_errors(jobs.progress, store, exp.experiment_id) or {}
    if exp.status == "queued":  # runs and experiments share the training slots
        return "Waiting for a free slot (a training run or another experiment is using it)…"
    if exp.status == "running" and now:
        return (f"Run {now['index']} of {now['total']}: {now['init']}, size {now['size']}, "
                f"seed {now['seed']} — epoch {now['epoch']}/{now['epochs']}")
    return f"{exp.done} of {exp.total} runs finished"


def panel(exp_id: str) -> None:
    first = services.show_errors(jobs.refresh_experiment, store, exp_id)
    live = first is not None and first.status in LIVE

    @st.fragment(run_every=1.5 if live else None)
    def draw() -> None:
        exp = services.show_errors(jobs.refresh_experiment, store, exp_id)
        if exp is None:
            return
        st.subheader(f"Experiment `{exp_id}` — {widgets.status_text(exp.status)}")
        if exp.status == "failed":
            st.error(f"The experiment failed: {escape_markdown(exp.error or 'no reason recorded')}")
        elif exp.status == "cancelled":
            st.warning("Cancelled. The runs finished before that are kept.")
        st.progress(exp.done / max(exp.total, 1), text=progress_text(exp))
        if exp.status in LIVE and st.button("Cancel experiment"):
            services.show_errors(jobs.cancel, store, exp_id)
            st.info("Cancel requested; the experiment stops after the current batch.")
        if live and exp.status not in LIVE:
            st.rerun()  # draw once more, without the timer
        results(exp)

    draw()


panel(exp_id)
