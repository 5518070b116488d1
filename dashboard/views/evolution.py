"""Evolution: the learned word vectors (rows of the embedding table) over the snapshots, in a
stable 2-D layout, with play/pause, colouring, searched words with trails, and drift."""
from __future__ import annotations

import numpy as np
import streamlit as st

from core.runs import views as runviews
from dashboard import charts, services, state

st.title("Evolution")
st.write("Each point is one row of the embedding table: a word's vector, reduced to 2-D. The "
         "table is just a lookup table that the classifier's loss nudges a little each batch, "
         "so words that decide the label drift apart while the others stay put.")
run = charts.pick_run("evolution")
if run is None:
    st.stop()
store = services.store()
ALL_WORDS = "all words (PCA, up to 50,000)"
top, add = st.columns([1, 2])
scope = top.radio("Words", ["most frequent (UMAP)", ALL_WORDS], horizontal=True,
                  key=state.W_EVO_SCOPE)
typed = add.text_input("Add words to the picture (comma-separated)", key=state.W_EVO_ADD)
extra = tuple(dict.fromkeys(w.strip().lower() for w in typed.split(",") if w.strip()))
if scope == ALL_WORDS or extra:  # the engine's UMAP layout has a fixed word list: use PCA
    evo, pending = services.attempt(runviews.evolution, store, run.run_id, "pca",
                                    n_words=50_000 if scope == ALL_WORDS else 2000,
                                    extra_words=extra), False
else:
    evo, pending = charts.load_layout(run, runviews.evolution)
if evo is None:
    st.stop()
if pending:
    charts.poll_until_ready(run.run_id)
vocab = services.attempt(store.load_vocab, run.run_id)
if vocab is None:
    st.stop()
comp = services.attempt(runviews.comparison, store, run.run_id)
labels = charts.epoch_labels(run)[: len(evo.coords)]
words, n_frames = evo.words, len(evo.coords)
counts = vocab["train_count"].to_numpy()[evo.rows]
seen = counts > 0
classes = [str(c) for c in run.info.get("classes", [])]
tables = [] if comp is None else [t.set_index("word").reindex(words) for t in comp.words]


def hover(t: int) -> list[str]:
    near = tables[min(t, len(tables) - 1)]["neighbors"] if tables else [None] * len(words)
    return [f"<b>{w}</b> · trained on {c:,}×" + (f"<br>nearest: {charts.join_words(nb)}"
                                                  if isinstance(nb, list) else "")
            for w, c, nb in zip(words, counts, near)]


def colours() -> dict[str, charts.Colour]:
    out: dict[str, charts.Colour] = {}
    frames = tables[:n_frames] + tables[-1:] * (n_frames - len(tables)) if tables else []
    if len(classes) == 2 and tables and tables[-1]["direction"].notna().any():
        out[f"leaning to '{classes[1]}' (classifier direction)"] = charts.Colour(
            f"{classes[0]} ← → {classes[1]}",
            np.stack([f["direction"].to_numpy(float) for f in frames]))
    for c in classes if tables else []:
        z = tables[0][f"z_{c}"].to_numpy(float)
        out[f"association with '{c}' in the training texts"] = charts.Colour(
            f"z {c}", np.tile(z, (n_frames, 1)))
    out["seen vs never seen in training"] = charts.Colour("", groups={
        f"seen in training ({seen.sum():,})": (np.flatnonzero(seen), charts.SEEN),
        f"never seen ({(~seen).sum():,})": (np.flatnonzero(~seen), charts.UNSEEN)})
    out["training frequency (log10)"] = charts.Colour(
        "log10 count", np.tile(np.log10(1 + counts), (n_frames, 1)), scale="Viridis", mid=None)
    return out


options = colours()
left, right = st.columns([1, 2])
colour_name = left.selectbox("Colour by", list(options), key=state.W_EVO_COLOR)
focus_words = right.multiselect("Highlight words (with their trail over training)", words,
                                max_selections=8, key=state.W_EVO_WORDS,
                                placeholder="type a word…")
focus = [words.index(w) for w in focus_words]
animate = len(words) <= charts.MAX_ANIMATED and n_frames > 1
frame = -1
if not animate and n_frames > 1:
    frame = labels.index(st.select_slider("Snapshot", labels, value=labels[-1],
                                          key=state.W_EVO_EPOCH))
texts = [hover(t) for t in range(n_frames)]
fig = charts.evolution_figure(evo.coords, words, labels, texts, options[colour_name], focus,
                              frame=frame, animate=animate)
st.plotly_chart(fig, key="evolution_map")
init = str(run.config.get("init"))
unseen_note = ("with random initial vectors they stay where they started, since no gradient "
               "ever reaches their rows" if init == "random" else
               "they keep the place their initial vectors gave them, which is where the "
               "pretrained knowledge helps")
st.caption(f"{evo.method.split(':')[0].upper()} layout of {len(words):,} words, "
           f"trustworthiness {evo.trust[-1]:.2f} (the share of each word's 2-D neighbours "
           "that are also its neighbours in the full space: 1 = faithful) "
           f"({(~seen).sum():,} of them never seen in training: {unseen_note}). "
           + ("Press ▶ Play or drag the slider; hover a point for its nearest neighbours."
              if animate else "Too many words to animate: pick a snapshot above."))

st.subheader("How far each word moved")
if comp is None:
    st.info("The drift measures are being computed." if pending else
            "The per-word measures are not available for this run (they are computed for "
            "finished runs).")
    st.stop()
last = comp.words[-1]
moved = last[last["seen"]].nlargest(20, "drift_from_start")
a, b = st.columns(2)
a.plotly_chart(charts.histogram(
    {"seen in training": last.loc[last["seen"], "drift_from_start"],
     "never seen": last.loc[~last["seen"], "drift_from_start"]},
    "Drift from the initial vector (last snapshot)", "drift from start"), key="drift_hist")
b.plotly_chart(charts.top_bars(
    moved["word"].tolist(), moved["drift_from_start"].tolist(), "Most-moved words",
    "drift from start", hover=[f"new neighbours: {charts.join_words(g)}" for g in moved["gained"]]),
    key="drift_top")
st.caption("Drift is the distance between a word's vector now and at the start. Never-seen "
           "words cannot drift: only rows that appear in a training batch get a gradient.")
