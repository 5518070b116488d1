"""Learned vs pretrained: the same words in the run's learned space and in GloVe (aligned),
a word's neighbours in each, Jaccard@k per word and the global measures over training."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.runs import views as runviews
from core.runs import naming
from dashboard import run_reads, services, state, widgets
from dashboard.charts import bars, curves, evolution, maps
from dashboard.text import escape_html, escape_markdown

SPACES = {"glove": "GloVe 6B 50d", "init": "its init vectors (word2vec, a run or a file)"}

st.title("Learned vs pretrained")
st.write("The same words in the space this run learned (left) and in pretrained vectors "
         "(right), aligned so a word sits in a comparable place. A task-trained table keeps "
         "what the task needs, such as the label a word points to; pretrained vectors also "
         "know that *alps* is like *himalayas*.")
run = widgets.pick_run("compare")
if run is None:
    st.stop()
space = "glove"
if str(run.config.get("init")) not in ("random", "glove"):  # word2vec, a run, a file
    space = st.radio("Compare with", list(SPACES), format_func=SPACES.get, horizontal=True,
                     key=state.W_CMP_SPACE)


def both(store, run_id, method, cached_only=True):
    evo = runviews.evolution(store, run_id, method, cached_only)
    pre = runviews.pretrained_view(store, run_id, method, space, cached_only)
    return None if evo is None or pre is None else (evo, pre)


views, pending = widgets.load_layout(run, both)
if views is None:
    st.stop()
if pending:
    widgets.poll_until_ready(run.run_id)
evo, pre = views
if space == "init" and pre.method.endswith("pca") and run.info.get("views_method") != "pca":
    st.caption("PCA layout: the UMAP layout of the init vectors is not precomputed.")
comp = services.show_errors(run_reads.comparison, run.run_id, against=space)
name = {"glove": "GloVe", "init": "its init vectors"}[space]  # every measure below is against it
if comp is None:
    error = run.info.get(f"comparison{'_init' if space == 'init' else ''}_error")
    st.info(escape_markdown(f"The neighbour measures could not be computed: {error}") if error
            else "The neighbour measures are being computed; this page updates by itself."
            if pending else "The neighbour measures are computed for finished runs only.")
    st.stop()
labels = naming.epoch_labels(run)[: len(evo.coords)]
t = labels.index(st.select_slider("Learned vectors at", labels, value=labels[-1],
                                  key=state.W_CMP_EPOCH)) if len(labels) > 1 else 0
table = comp.words[min(t, len(comp.words) - 1)]
by_word = table.set_index("word")
words = evo.words
counts = by_word["train_count"].reindex(words).fillna(0).astype(int).tolist()
seen = by_word["seen"].reindex(words).fillna(False).astype(bool).to_numpy()
hover = [f"<b>{escape_html(w)}</b> · trained on {c:,}×" for w, c in zip(words, counts)]
# default: among the 100 most frequent training words, the one most tied to a class
z = table.filter(like="z_").abs().max(axis=1)
default = table.assign(z=z)[table["seen"]].nlargest(100, "train_count").nlargest(1, "z")
default = default["word"].tolist()
choices = services.show_errors(services.vocabulary_words, run.run_id) or sorted(set(words))
word = st.selectbox("Word", choices, key=state.W_CMP_WORD, placeholder="type a word…",
                    index=choices.index(default[0]) if default else None, filter_mode="prefix",
                    help="Every word of the run's vocabulary, alphabetically: typing a word "
                         "lists it first, then the longer words it begins.")
row = by_word.loc[word] if word in by_word.index else None
position = {w: i for i, w in enumerate(words)}
focus = position.get(word)
classes = [str(c) for c in run.info.get("classes") or []]
colour = (evolution.class_colouring(by_word.reindex(words), classes, run.info.get("class_sizes"))
          if len(classes) > 2 and all(f"z_{c}" in by_word for c in classes) else None)
left, right = st.columns(2)
for col, xy, title, key in ((left, evo.coords[t], f"Learned — {labels[t]}", "neighbors"),
                            (right, pre.coords[0], SPACES[space], "neighbors_pretrained")):
    near = [] if row is None or key not in row else list(row[key])
    col.plotly_chart(maps.word_map(xy, words, seen, title, hover, focus,
                                     [position[w] for w in near if w in position], colour),
                     key=f"map_{key}")
st.caption(f"{evo.method.split(':')[0].upper()} layout; " + (
    "each word in the colour of its class (the one whose training texts over-use it most; "
    "grey: none does), as on the Evolution page." if colour else
    "orange words never occurred in a training text.")
    + " The circled word's nearest neighbours in each space are in green.")

if word is None:
    st.info("Pick a word to see its nearest neighbours in both spaces.")
elif row is None:
    st.info(f"'{escape_markdown(word)}' is not among the compared words ({name} does not "
            "have it), so it has no neighbour list.")
else:
    st.subheader(f"Neighbours of '{escape_markdown(word)}'")
    st.caption(f"Trained on {int(row['train_count']):,} times · Jaccard@{comp.config.k} "
               f"overlap of the two neighbour lists: {row['jaccard']:.2f}")
    # st.table renders Markdown in its cells, and words are user text: escaped
    learned, pretrained = ([escape_markdown(w) for w in row[k]]
                           for k in ("neighbors", "neighbors_pretrained"))
    st.table(pd.DataFrame({f"learned ({labels[t]})": learned, name: pretrained},
                          index=range(1, len(learned) + 1)))
    gained, lost = (", ".join(escape_markdown(w) for w in row[k]) or "—" for k in ("gained", "lost"))
    st.markdown(f":green[**Gained**] {gained}  \n:red[**Lost**] {lost}")

st.subheader("Which words changed")
st.plotly_chart(bars.histogram(
    {"seen in training": table.loc[table["seen"], "jaccard"],
     "never seen": table.loc[~table["seen"], "jaccard"]},
    f"Jaccard@{comp.config.k} with the neighbours in {name} ({labels[t]})",
    f"1 = same neighbours as in {name}, 0 = none shared",
    bins=dict(start=-0.025, end=1.025, size=0.05)), key="jaccard_hist")
shown = table[table["seen"]].assign(gained=lambda d: d["gained"].map(", ".join),
                                    lost=lambda d: d["lost"].map(", ".join))
cols = ["word", "train_count", "jaccard", "gained", "lost"]
a, b = st.columns(2)
a.markdown(f"**Most changed** (fewest neighbours in {name} kept)")
a.dataframe(shown.sort_values(["jaccard", "train_count"], ascending=[True, False])[cols].head(15),
            hide_index=True, key="most_changed")
b.markdown("**Least changed**")
b.dataframe(shown.sort_values(["jaccard", "train_count"], ascending=False)[cols].head(15),
            hide_index=True, key="least_changed")
st.plotly_chart(curves.measures_figure(comp.snapshots, comp.reference, labels, name),
                key="measures")
st.caption("Jaccard@k: share of a word's nearest neighbours the two spaces agree on. CKA: how "
           "alike the two spaces' geometry is. ρ: agreement with human similarity ratings "
           f"(dashed: {name} itself on the same words).")
