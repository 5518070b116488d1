"""Train: the settings of one run, a Train button that queues it in its own worker process,
and the active run's live progress read from the run store (so a refresh loses nothing)."""
from __future__ import annotations

from functools import partial

import streamlit as st

from core.jobs import queue as jobs
from core.common.checks import range_of
from core.training.config import ARCHS, TrainConfig
from dashboard import charts, services, state, widgets

INITS = {"random": "Random", "glove": "GloVe 6B 50d (bundled)",
         "word2vec": "word2vec trained on your texts", "file": "Your word-vector file"}
ARCH_NAMES = {"bag": "Bag of words (average of word vectors)", "cnn": "CNN over words",
              "gru": "GRU (recurrent)"}
DEFAULT = TrainConfig()
bounds = partial(range_of, TrainConfig)  # each widget's range, as the config declares it

st.title("Train")
st.write("Train a small classifier whose first layer is the embedding table. The table is "
         "saved after every epoch, so the other pages can show how the word vectors move.")
loaded = services.current_dataset()
if loaded is None:
    st.stop()
choice, dataset = loaded
st.caption(f"Data: **{services.plain(choice.filename)}** — {len(dataset):,} texts, classes: "
           + ", ".join(services.plain(c) for c in dataset.classes))

init = st.radio("Start the word vectors from", list(INITS), format_func=INITS.get,
                horizontal=True, key=state.W_INIT)
algorithm = DEFAULT.w2v_algorithm
if init == "word2vec":
    algorithm = st.radio("word2vec algorithm", ["skipgram", "cbow"], horizontal=True,
                         key=state.W_W2V, format_func={"skipgram": "skip-gram",
                                                       "cbow": "CBOW"}.get)
vectors = None
if init == "file":
    vectors = widgets.vector_file_picker(state.W_VECTORS_UPLOAD)
pretrained = init != "random"

with st.form("train_form", border=True):
    a, b, c = st.columns(3)
    arch = a.selectbox("Architecture", ARCHS, format_func=lambda x: ARCH_NAMES.get(x, x))
    dim = b.number_input("Vector size", *bounds("dim"), DEFAULT.dim,
                         disabled=init in ("glove", "file"),
                         help="Pretrained vectors (GloVe, your file) fix the size.")
    freeze = c.radio("Pretrained vectors", ["fine-tune", "freeze"], horizontal=True,
                     disabled=not pretrained,
                     help="Frozen vectors never change; only the layers after them learn.")
    a, b, c, d = st.columns(4)
    epochs = a.number_input("Epochs", *bounds("epochs"), DEFAULT.epochs)
    # the rate's range is open at 0: the widget starts at its smallest useful step
    lr = b.number_input("Learning rate", 0.0001, bounds("lr")[1], DEFAULT.lr, format="%.4f")
    batch = c.number_input("Batch size", *bounds("batch_size"), DEFAULT.batch_size,
                           placeholder="automatic")
    seed = d.number_input("Seed", *bounds("seed"), DEFAULT.seed)
    cap = st.number_input("Use at most this many training texts (0 = all)", 0,
                          bounds("train_size")[1], 0,
                          help="The validation set stays the same, so capped runs compare "
                               "fairly with full ones.")
    submitted = st.form_submit_button("Train", type="primary")

settings = dict(arch=arch, dim=int(dim), init=vectors["path"] if vectors else init,
                w2v_algorithm=algorithm, freeze=pretrained and freeze == "freeze",
                epochs=int(epochs), lr=float(lr), seed=int(seed),
                batch_size=int(batch) if batch else None, train_size=int(cap) or None)


def estimate(settings: dict):
    """The run's size in the store for these settings; None while they are not valid."""
    try:
        config = TrainConfig(**settings)
        return services.run_size(choice.sha, state.get(state.TEXT_COLUMN),
                                 state.get(state.LABEL_COLUMN), dataset, config.to_dict(),
                                 vectors["dim"] if vectors else None)
    except ValueError:  # the Train button reports invalid settings
        return None


size = None if init == "file" and not vectors else estimate(settings)
if size is not None:
    budget = services.store().budget.run_mb
    st.caption(f"This run will take about {size.bytes / 2**20:,.1f} MB in the run store "
               f"({size.describe()}); a run may take at most {budget:,} MB.")

if submitted:
    if init == "file" and not vectors:
        st.error("Upload a word-vector file that passes the check first.")
    elif size is not None and (too_big := services.size_problem(size)):
        st.error(services.plain(f"Not started: {too_big}."))
    else:
        config = services.attempt(TrainConfig, **settings)
        run_id = config and services.attempt(services.submit, dataset, config,
                                             label=choice.filename)
        if run_id:
            services.open_run(run_id)


def draw(run) -> None:
    n, done = int(run.config.get("epochs", 0)), len(run.epochs)
    st.subheader(f"Run `{run.run_id}` — {widgets.status_text(run.status)}")
    if run.status == "queued":
        if services.busy_slots():
            st.info("Waiting: another run is training now, and this machine trains one at a "
                    "time. This run starts as soon as that one ends.")
        else:
            st.info("Starting the training process…")
    elif run.status == "running" and done == 0:
        st.info("Preparing: splitting the data, building the vocabulary, first snapshot…")
    elif run.status == "failed":
        st.error(f"Training failed: {run.error or 'no reason recorded'}")
    elif run.status == "cancelled":
        st.warning("Cancelled. The epochs finished before that are kept.")
    if run.info.get("size_warning"):
        st.warning(services.plain(f"Large run: {run.info['size_warning']}."))
    st.progress(done / max(n, 1), text=f"Epoch {done}/{n}")
    if run.epochs:
        last = run.epochs[-1]
        m = st.columns(3)
        m[0].metric("Validation accuracy", f"{last['val_accuracy']:.1%}")
        m[1].metric("Validation loss", f"{last['val_loss']:.3f}")
        m[2].metric("Training loss", f"{last['train_loss']:.3f}")
        left, right = st.columns(2)
        left.plotly_chart(widgets.loss_figure(run.epochs, n))
        right.plotly_chart(widgets.accuracy_figure([("validation accuracy", run.epochs)], n))
    live_map(run)
    if run.status in services.LIVE and st.button("Cancel this run"):
        services.attempt(services.cancel, run.run_id)
        st.info("Cancel requested; the run stops after the current batch.")


def live_map(run) -> None:
    """The embedding table itself, moving: the engine projects each new snapshot starting
    from the previous layout, so words glide as the loss pushes them."""
    found = run.n_snapshots and services.attempt(services.live_preview, run.run_id)
    if not found:
        return
    frame, seen = found
    label = "start" if frame.snapshot == 0 else f"snapshot {frame.snapshot}"
    st.plotly_chart(charts.word_map(
        frame.coords, frame.words, seen, hover=[charts.text(w) for w in frame.words],
        title=f"Word vectors now — {label} ({frame.method.upper()}, {len(frame.words)} words)"))
    st.caption("Each point is a row of the embedding layer. Words used in training move as the "
               "loss updates them; words never seen in training (orange) keep their start.")


def live_panel(run_id: str) -> None:
    first = services.attempt(services.store().get_run, run_id)
    if first is None:
        return
    live = first.status in services.LIVE

    @st.fragment(run_every=1.0 if live else None)
    def panel() -> None:
        # refresh, not get_run: a worker killed while the server is up turns into "failed"
        run = services.attempt(jobs.refresh, services.store(), run_id)
        if run is None:
            return
        draw(run)
        if live and run.status not in services.LIVE:
            st.rerun()  # draw once more without the timer

    panel()


st.divider()
active = state.get(state.ACTIVE_RUN)
if active:
    live_panel(active)
else:
    st.caption("No run yet: choose the settings above and press Train.")
