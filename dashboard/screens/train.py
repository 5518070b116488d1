"""Train: the settings of one run, a Train button that queues it in its own worker process,
and the active run's live progress read from the run store (so a refresh loses nothing)."""
from __future__ import annotations

from functools import partial

import streamlit as st

from core.common.checks import range_of
from core.training.config import ARCHS, OBJECTIVES, WORD2VEC_LR, TrainConfig
from dashboard import live, services, state, widgets, word2vec_panel
from dashboard.text import escape_markdown

INITS = {"random": "Random", "glove": "GloVe 6B 50d (bundled)",
         "word2vec": "word2vec trained on your texts", "file": "Your word-vector file",
         "run": "A finished run (e.g. your word2vec run)"}
ARCH_NAMES = {"bag": "Bag of words (average of word vectors)", "cnn": "CNN over words",
              "gru": "GRU (recurrent)"}
OBJECTIVE_NAMES = {"classify": "the classifier (task)", "skipgram": "word2vec skip-gram",
                   "cbow": "word2vec CBOW"}
DEFAULT = TrainConfig()
bounds = partial(range_of, TrainConfig)  # each widget's range, as the config declares it

st.title("Train")
st.write("Train a small classifier whose first layer is the embedding table. The table is "
         "saved after every epoch, so the other pages can show how the word vectors move.")
loaded = services.current_dataset()
if loaded is None:
    st.stop()
choice, dataset = loaded
st.caption(f"Data: **{escape_markdown(choice.filename)}** — {len(dataset):,} texts, classes: "
           + ", ".join(escape_markdown(c) for c in dataset.classes))

objective = st.radio("What trains the table", OBJECTIVES, format_func=OBJECTIVE_NAMES.get,
                     horizontal=True, key=state.W_OBJECTIVE,
                     help="The same embedding table, trained by the classifier's loss or by "
                          "word2vec's (predicting a word's neighbours from the word, or the "
                          "word from its neighbours). word2vec ignores the labels.")
classify = objective == "classify"
init = st.radio("Start the word vectors from", list(INITS), format_func=INITS.get,
                horizontal=True, key=state.W_INIT)
algorithm = DEFAULT.w2v_algorithm
if init == "word2vec":
    algorithm = st.radio("word2vec algorithm", ["skipgram", "cbow"], horizontal=True,
                         key=state.W_W2V, format_func={"skipgram": "skip-gram",
                                                       "cbow": "CBOW"}.get)
start_run = None
if init == "run":  # pretrain, then fine-tune: another run's table is the start
    start_run = word2vec_panel.start_run_picker(dataset.fingerprint())
vectors = None
if init == "file":
    vectors = widgets.vector_file_picker(state.W_VECTORS_UPLOAD)
pretrained = init != "random"

with st.form("train_form", border=True):
    a, b, c = st.columns(3)
    arch = a.selectbox("Architecture", ARCHS, format_func=lambda x: ARCH_NAMES.get(x, x),
                       disabled=not classify, help=None if classify else
                       "word2vec trains the table alone: there is no classifier.")
    dim = b.number_input("Vector size", *bounds("dim"), DEFAULT.dim,
                         disabled=init in ("glove", "file", "run"),
                         help="Pretrained vectors (GloVe, your file) fix the size.")
    freeze = c.radio("Pretrained vectors", ["fine-tune", "freeze"], horizontal=True,
                     disabled=not pretrained or not classify,
                     help="Frozen vectors never change; only the layers after them learn.")
    a, b, c, d = st.columns(4)
    epochs = a.number_input("Epochs", *bounds("epochs"), DEFAULT.epochs)
    # the rate's range is open at 0: the widget starts at its smallest useful step
    lr = b.number_input("Learning rate", 0.0001, bounds("lr")[1],
                        WORD2VEC_LR.get(objective, DEFAULT.lr), format="%.4f")
    batch = c.number_input("Batch size", *bounds("batch_size"), DEFAULT.batch_size,
                           placeholder="automatic")
    seed = d.number_input("Seed", *bounds("seed"), DEFAULT.seed)
    a, b, c = st.columns([2, 1, 1], vertical_alignment="bottom")
    cap = a.number_input("Use at most this many training texts (0 = all)", 0,
                         bounds("train_size")[1], 0,
                         help="The validation set stays the same, so capped runs compare "
                              "fairly with full ones.")
    stop_early = b.checkbox("Stop early", DEFAULT.early_stopping, disabled=not classify,
                            help="End training once the validation loss has not improved "
                                 "for the patience's number of epochs. The best epoch is "
                                 "marked either way.")
    patience = c.number_input("Patience (epochs)", *bounds("patience"), DEFAULT.patience)
    submitted = st.form_submit_button("Train", type="primary")

chosen_init = vectors["path"] if vectors else f"run:{start_run}" if start_run else init
settings = dict(arch=arch, dim=int(dim), init=chosen_init,
                w2v_algorithm=algorithm, objective=objective,
                freeze=classify and pretrained and freeze == "freeze",
                epochs=int(epochs), lr=float(lr), seed=int(seed),
                batch_size=int(batch) if batch else None, train_size=int(cap) or None,
                early_stopping=classify and bool(stop_early), patience=int(patience))


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
    elif init == "run" and not start_run:
        st.error("Choose a finished run to start from first.")
    elif size is not None and (too_big := services.size_problem(size)):
        st.error(escape_markdown(f"Not started: {too_big}."))
    else:
        config = services.show_errors(TrainConfig, **settings)
        run_id = config and services.show_errors(services.submit, dataset, config,
                                             label=choice.filename)
        if run_id:
            services.open_run(run_id)


st.divider()
active = state.get(state.ACTIVE_RUN)
if active:
    live.live_panel(active)
else:
    st.caption("No run yet: choose the settings above and press Train.")
