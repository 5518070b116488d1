"""Evolution: the learned word vectors (rows of the embedding table) over the snapshots, each
frame laid out from its own snapshot, with play/pause, colouring, highlighted words with
trails, the coordinates and the figure as downloads, and drift."""
from __future__ import annotations

import streamlit as st

from core.analysis.faithfulness import trust_sample_size
from core.runs.evolution import ALL_WORDS as ALL_WORDS_CAP
from dashboard import evolution_picture, run_reads, services, state, widgets
from dashboard.charts import evolution, style
from dashboard.text import escape_markdown
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
ALL_WORDS = f"all words (up to {ALL_WORDS_CAP:,})"
top, add = st.columns([1, 2])
scope = top.radio("Words", ["most frequent", ALL_WORDS], horizontal=True, key=state.W_EVO_SCOPE)
typed = add.text_input("Add words to the picture (comma-separated)", key=state.W_EVO_ADD)
known = set(vocab["token"].astype(str))
asked = list(dict.fromkeys(w.strip().lower() for w in typed.split(",") if w.strip()))
extra = tuple(w for w in asked if w in known)
if len(extra) < len(asked):
    add.caption("Not in this run's vocabulary: "
                + ", ".join(escape_markdown(w) for w in asked if w not in known))
# the service decides (core.runs.evolution): the scored run, the frames so far, the engine's
# all-words chain, or PCA as a labelled preview; built once per run state (evolution_picture)
found = services.show_errors(evolution_picture.picture, run.run_id, scope == ALL_WORDS, extra)
got, pic = found if found is not None else (None, None)
coming = got.coming if got is not None else ""
widgets.follow_frames(run.run_id, coming, scope == ALL_WORDS)
if pic is None:
    if coming:
        st.info("The first frame of this run's evolution is being computed.")
    st.stop()
if got.preview:
    st.warning(f"Preview: a PCA of all {len(pic.evo.words):,} words (each snapshot on its own "
               "axes, aligned to the previous), shown until the engine's UMAP chain of every "
               "word is ready. It is not the faithful layout.")
pending = bool(coming)
comp = services.show_errors(run_reads.comparison, run.run_id)
evo, words, labels, n_frames = pic.evo, pic.evo.words, pic.labels, len(pic.evo.coords)
best = run.best()


@st.fragment
def picture() -> None:
    """Colour, highlights and snapshot rerun only this part of the page, and the browser
    keeps the figure: a change sends the highlight overlay, the colouring's or the
    snapshot's number, not the figure (< 0.5 s)."""
    left, right = st.columns([1, 2])
    colour_name = left.selectbox("Colour by", pic.options, key=state.W_EVO_COLOR)
    colour = pic.options.index(colour_name)
    focus = widgets.highlight_picker(right, words, pic.counts)
    frame = -1
    if not pic.animate and n_frames > 1:
        frame = labels.index(st.select_slider("Snapshot", labels, value=labels[-1],
                                              key=state.W_EVO_EPOCH))
    overlay = evolution.evolution_overlay(evo.coords, pic.shown, labels, focus)
    evolution_chart.evolution_chart(pic.base, colour, overlay, key=state.W_EVO_MAP,
                                    frame=frame)
    a, b = st.columns(2)
    a.download_button("Download coordinates (coords.csv)",
                      services.export_download(run.run_id, "coords"),
                      file_name=f"{run.run_id}-coords.csv", key="evo_coords")
    b.download_button("Download this figure (interactive HTML)",
                      style.html_download(lambda: pic.figure(colour, focus, frame)),
                      file_name=f"{run.run_id}-evolution.html", key="evo_html")


picture()
init = str(run.config.get("init"))
seen, known = pic.seen, run.info.get("counts_known", True)
classes = [str(c) for c in run.info.get("classes", [])]
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
              ("is not scored for the all-words layout (the most frequent words' is). "
               if scope == ALL_WORDS and not pending else
               f"is scored once the run's frames are complete ({n_frames} of them so far). "))
           + (f"{(~seen).sum():,} of the words were never seen in "
           f"training" + (f": {unseen_note}." if (~seen).any() else ".") if known else "This run did not record how often each "
           "word occurred in training: its words are taken in vocabulary order.")
           + evolution.class_note(classes, run.info.get("class_sizes"))
           + " Added words are placed among their nearest words in each snapshot. "
           + ("Press ▶ Play or drag the slider; hover a point for its nearest words then."
              if pic.animate else "Too many words to animate: pick a snapshot above.")
           + ("" if pic.has_updates else " This run did not record which rows each step "
              "touched, so it cannot be coloured by the updates each word received.")
           + (f" \"(best)\" on the slider marks the epoch with the lowest validation loss "
              f"(epoch {best['epoch']})."
              if best and best["snapshot"] is not None else ""))
widgets.drift_section(comp, pending, run.info.get("comparison_error"))
