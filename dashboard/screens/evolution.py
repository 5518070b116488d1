"""Evolution: the learned word vectors (rows of the embedding table) over the snapshots, each
frame laid out from its own snapshot, with play/pause, colouring, highlighted words with
trails, the coordinates and the figure as downloads, and drift."""
from __future__ import annotations

import streamlit as st

from core.analysis.faithfulness import trust_sample_size
from core.runs import views as runviews
from core.runs.comparison import class_association
from core.runs.evolution import frames_so_far
from core.runs.updates import updates_per_frame
from core.runs import naming
from dashboard import run_reads, services, state, widgets
from dashboard.charts import evolution, style
from dashboard.text import escape_html, escape_markdown, join_words
from dashboard.components import evolution_chart

st.title("Evolution")
st.write("Each point is one row of the embedding table: a word's vector, reduced to 2-D. The "
         "table is just a lookup table that the classifier's loss nudges a little each batch, "
         "so words that decide the label drift apart while the others stay put.")
run = widgets.pick_run("evolution", live_ok=True)
if run is None:
    st.stop()
store = services.store()
vocab = services.show_errors(store.load_vocab, run.run_id)
if vocab is None:
    st.stop()
ALL_WORDS = "all words (PCA)"
top, add = st.columns([1, 2])
scope = top.radio("Words", ["most frequent", ALL_WORDS], horizontal=True, key=state.W_EVO_SCOPE)
typed = add.text_input("Add words to the picture (comma-separated)", key=state.W_EVO_ADD)
known = set(vocab["token"].astype(str))
asked = list(dict.fromkeys(w.strip().lower() for w in typed.split(",") if w.strip()))
extra = tuple(w for w in asked if w in known)
if len(extra) < len(asked):
    add.caption("Not in this run's vocabulary: "
                + ", ".join(escape_markdown(w) for w in asked if w not in known))
if scope == ALL_WORDS:
    evo, coming = services.show_errors(runviews.evolution, store, run.run_id, "pca",
                                       all_words=True, extra_words=extra), ""
else:  # the service decides: the scored run, the frames so far, or PCA (core.runs.evolution)
    got = services.show_errors(frames_so_far, store, run.run_id, extra)
    evo, coming = (got.frames, got.coming) if got is not None else (None, "")
widgets.follow_frames(run.run_id, coming)
if evo is None:
    if coming:
        st.info("The first frame of this run's evolution is being computed.")
    st.stop()
pending = bool(coming)
comp = services.show_errors(run_reads.comparison, run.run_id)
labels = naming.epoch_labels(run)[: len(evo.coords)]
words, n_frames = evo.words, len(evo.coords)
best = run.best()  # the epoch with the lowest validation loss, marked on the slider
for i, snap in enumerate(run.snapshots[:n_frames]):
    if best and snap["idx"] == best["snapshot"]:
        labels[i] += " (best)"
counts = vocab.set_index("token")["train_count"].reindex(words).fillna(0).to_numpy(int)
known = run.info.get("counts_known", True)  # a tracked run may not have given its counts
seen = counts > 0 if known else counts >= 0
classes = [str(c) for c in run.info.get("classes", [])]
tables = [] if comp is None else [t.set_index("word").reindex(words) for t in comp.words]
shown = [escape_html(w) for w in words]


def hover(t: int) -> list[str]:
    """Per frame: each word's nearest words in THIS snapshot."""
    near = tables[min(t, len(tables) - 1)]["neighbors"] if tables else [None] * len(words)
    return [f"nearest now: {escape_html(join_words(nb, 3))}" if isinstance(nb, list)
            else "" for nb in near]


once = [f"<b>{w}</b> · " + (f"trained on {c:,}×" if known else "training count not recorded")
        for w, c in zip(shown, counts)]


updates = updates_per_frame(store, run.run_id, evo.rows, n_frames)
association = class_association(vocab, classes).set_index(vocab["token"].astype(str))
options = evolution.evolution_colours(tables, n_frames, classes, seen, counts, updates,
                                      run.info.get("class_sizes"), association.reindex(words),
                                      known)
layers = {name: evolution.colour_layer(colour, len(words)) for name, colour in options.items()}
under = evolution.no_value(list(layers.values()))  # grey underneath, whatever the colouring
texts = [hover(t) for t in range(n_frames)]
animate = len(words) <= evolution.MAX_ANIMATED and n_frames > 1
trust = (evo.trust, evo.trust_final, evo.trust_previous)
sent: dict[int, tuple[str, bytes]] = {}  # per snapshot drawn: built once per page run


def figure(colour: str, focus: list[int], frame: int):
    return evolution.evolution_figure(evo.coords, shown, labels, texts, layers[colour], focus,
                                   frame=frame, animate=animate, trust=trust,
                                   static_hover=once, under=under)


@st.fragment
def picture() -> None:
    """Colour, highlights and snapshot rerun only this part of the page, and the browser
    keeps the figure: a change sends the highlight overlay, not the figure (< 0.5 s)."""
    left, right = st.columns([1, 2])
    colour_name = left.selectbox("Colour by", list(options), key=state.W_EVO_COLOR)
    focus = widgets.highlight_picker(right, words, counts)
    frame = -1
    if not animate and n_frames > 1:
        frame = labels.index(st.select_slider("Snapshot", labels, value=labels[-1],
                                              key=state.W_EVO_EPOCH))
    if frame not in sent:
        sent[frame] = evolution_chart.payload(figure(next(iter(layers)), [], frame),
                                              list(layers.values()), frame % n_frames)
    overlay = evolution.evolution_overlay(evo.coords, shown, labels, focus)
    evolution_chart.evolution_chart(sent[frame], list(options).index(colour_name), overlay,
                                    key=state.W_EVO_MAP)
    a, b = st.columns(2)
    a.download_button("Download coordinates (coords.csv)",
                      services.export_download(run.run_id, "coords"),
                      file_name=f"{run.run_id}-coords.csv", key="evo_coords")
    b.download_button("Download this figure (interactive HTML)",
                      style.html_download(lambda: figure(colour_name, focus, frame)),
                      file_name=f"{run.run_id}-evolution.html", key="evo_html")


picture()
init = str(run.config.get("init"))
unseen_note = ("no gradient ever reaches their rows, so they stay where they started"
               + ("" if init in ("random", "unknown") else
                  ", which is where the pretrained vectors put them"))
st.caption(f"{evo.method.split(':')[0].upper()} layout of {len(words):,} words, each frame "
           "fitted on its own snapshot starting from the previous frame; words whose vector "
           "did not change keep their place. Trustworthiness (the share of each word's 2-D "
           "neighbours that are also its neighbours in the full space; 1 = faithful) "
           + (f"{evo.trust[0]:.2f} at the start and {evo.trust[-1]:.2f} at the end, each "
              f"computed on a sample of {trust_sample_size(len(words)):,} of the words; each "
              "frame's title gives its own, and against the previous snapshot (a frame that "
              "lags) and the last one (a frame that borrows). " if evo.trust else
              f"is scored once the run's frames are complete ({n_frames} of them so far). ")
           + (f"{(~seen).sum():,} of the words were never seen in "
           f"training" + (f": {unseen_note}." if (~seen).any() else ".") if known else "This run did not record how often each "
           "word occurred in training: its words are taken in vocabulary order.")
           + evolution.class_note(classes, run.info.get("class_sizes"))
           + " Added words are placed among their nearest words in each snapshot. "
           + ("Press ▶ Play or drag the slider; hover a point for its nearest words then."
              if animate else "Too many words to animate: pick a snapshot above.")
           + ("" if updates is not None else " This run did not record which rows each step "
              "touched, so it cannot be coloured by the updates each word received.")
           + (f" \"(best)\" on the slider marks the epoch with the lowest validation loss "
              f"(epoch {best['epoch']})."
              if best and best["snapshot"] is not None else ""))
widgets.drift_section(comp, pending, run.info.get("comparison_error"))
