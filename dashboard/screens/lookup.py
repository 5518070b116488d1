"""Lookup table: a text's tokens, their ids, the rows they select and the vector the next layer
receives, beside the same result as one-hot x matrix (checked equal, both timed), and how
many optimiser steps touched each row so far."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.analysis import lookup as lk
from core.data.text import SPECIALS, UNK, tokenize
from core.errors import StoreError
from core.runs.updates import updates_received
from core.runs import naming
from dashboard import services, state, widgets
from dashboard.charts import lookup
from dashboard.text import escape_markdown, truncate

MAX_TOKENS = 64  # a longer text is cut: the heatmap shows one row per token

st.title("Lookup table")
st.write("An embedding layer computes nothing from its input: each token's id picks one row "
         "of the table, and that row is the word's vector. Written as maths, the same step is "
         "a one-hot vector (1 at the id, 0 elsewhere) times the table, which is why the "
         "product on the right gives exactly the same numbers, only slower and from a far "
         "larger input. Rows a text does not pick take no part in the output, so no gradient "
         "reaches them: only the rows of words in a training batch ever learn.")
run = widgets.pick_run("lookup")
if run is None:
    st.stop()
store, run_id = services.store(), run.run_id
vocab = services.show_errors(store.load_vocab, run_id)
if vocab is None:
    st.stop()
itos = vocab["token"].astype(str).tolist()
known = "train_count" in vocab and run.info.get("counts_known", True)  # imports may not know
train_counts = vocab["train_count"].to_numpy() if known else None
labels = naming.epoch_labels(run)
t = len(labels) - 1
if len(labels) > 1:  # keyed per run: another run may have fewer snapshots
    t = st.select_slider("Snapshot", list(range(len(labels))), value=t,
                         format_func=lambda i: labels[i], key=f"{state.W_LOOK_SNAPSHOT}_{run_id}")
snap = run.snapshots[t]["idx"]  # the store's snapshot number (the slider counts positions)


def examples() -> list[tuple[str, str]]:
    """(label, text): the run's validation documents, one with a never-seen word second (or,
    without one, the never-seen words themselves)."""
    try:
        texts = store.load_docs(run_id)["text"].astype(str).tolist()
    except (StoreError, KeyError):  # an imported run may have no documents
        texts = []
    out = [(f"validation text: {truncate(x, 80)}", x) for x in texts]
    unseen = set() if train_counts is None else {
        w for w, c in zip(itos, train_counts) if c == 0 and w not in SPECIALS}
    having = [x for x in texts if set(tokenize(x)) & unseen]
    if having:
        out.insert(1, (f"has a word never seen in training: {truncate(having[0], 60)}",
                       having[0]))
    elif unseen:
        out.insert(1, ("words never seen in training", " ".join(sorted(unseen)[:3])))
    return out


choices = services.show_errors(examples) or []
pick = st.selectbox("Pick a text", list(range(len(choices))), format_func=lambda i: choices[i][0],
                    key=f"{state.W_LOOK_PICK}_{run_id}") if choices else None
typed = st.text_input("…or type your own", key=state.W_LOOK_TEXT, max_chars=2000,
                      placeholder="any text; a word outside the vocabulary reads the <unk> row")
tokens = tokenize(typed.strip() or ("" if pick is None else choices[pick][1]))[:MAX_TOKENS + 1]
if len(tokens) > MAX_TOKENS:
    st.caption(f"Showing the first {MAX_TOKENS} tokens.")
    tokens = tokens[:MAX_TOKENS]
ids = lk.token_ids(tokens, itos, UNK)
matrix = services.show_errors(lambda: np.asarray(store.load_snapshot(run_id, snap)))
updates = services.show_errors(updates_received, store, run_id, snap)
if not tokens:
    st.info("This text has no tokens: type some words.")
if not tokens or matrix is None:
    st.stop()
table = lookup.token_table(tokens, ids, itos, train_counts, updates)
st.dataframe(table, hide_index=True, height=35 * min(len(table) + 1, 17) + 3)  # 16 rows
if updates is None:
    st.info("This run did not record which rows each step touched.")
else:
    st.caption(f"Updates so far: optimiser steps up to {labels[t]} whose batch contained the "
               "row" + (" (none: this run's table is frozen)." if run.config.get("freeze")
                        else ". A word outside the vocabulary has no row: it reads <unk>."))
keep = ids >= 0
if not keep.any():
    st.info("None of these words has a row in this run's table.")
    st.stop()
ids, tokens = ids[keep], [w for w, k in zip(tokens, keep) if k]
rows, arch = lk.lookup(ids, matrix), str(run.config.get("arch"))
vector = lk.pooled(ids, rows, arch) if arch in lk.ARCHS else None
left, right = st.columns([3, 2])
left.plotly_chart(lookup.lookup_heatmap(rows, [f"{i + 1} · {w}" for i, w in enumerate(tokens)],
                                        f"The rows these ids select — {labels[t]}", vector,
                                        "What the next layer receives: their mean"),
                  key="lookup_rows")
left.caption(f"The next layer ({arch}): {lk.NEXT_LAYER[arch]}." if arch in lk.ARCHS else
             "This run does not say which layer follows the embedding.")

with right:
    st.subheader("The same as one-hot × matrix")
    eq = lk.check_equal(ids, matrix)
    verdict = "identical, bit for bit" if eq.exact else "equal up to rounding" if eq.close else \
        "different"
    (st.success if eq.close else st.error)(f"`one_hot(ids) @ table` and `table[ids]`: {verdict} "
                                           f"(largest difference {eq.max_abs_diff:.1e}).")
    with st.spinner("Timing both, also for a 400,000-word table…"):
        costs = [lk.measure(ids, matrix), lk.measure_large(matrix.shape[1])]
    st.dataframe(lookup.cost_table(costs))
    st.caption("Medians of repeated runs on this machine, each route on one thread; the "
               "one-hot time includes building it. Peaks: memory each route allocated while "
               "running (tracemalloc). The 400,000-word column (GloVe's vocabulary size) uses "
               f"a random table and a random {lk.GLOVE_TEXT_TOKENS}-token text, measured once "
               "per server process.")

st.subheader("A word never seen in training")
special = tuple(i for i, w in enumerate(itos) if w in SPECIALS)
never = [] if train_counts is None else [int(i) for i in dict.fromkeys(ids.tolist())
                                         if train_counts[i] == 0 and i not in special]
if not never:
    st.caption("No word of this text is known to be missing from training. Pick the text "
               "with a word never seen in training, or type one, to see a row no step touches.")
    st.stop()
row, start = never[0], np.asarray(store.load_snapshot(run_id, run.snapshots[0]["idx"]))
moved = float(np.abs(matrix[row] - start[row]).max())
got = "an unknown number of" if updates is None else f"{int(np.asarray(updates)[row]):,}"
st.write(f"**{escape_markdown(itos[row])}** received {got} updates; its row moved by "
         f"{moved:.3g} since the start (largest change in any dimension).")
near = [[itos[j] for j in lk.nearest_rows(m, row, 8, skip=special)] for m in (start, matrix)]
st.dataframe(pd.DataFrame({"nearest at the start": near[0], f"nearest at {labels[t]}": near[1]},
                          index=range(1, len(near[0]) + 1)))
pretrained = str(run.config.get("init", "random")) != "random"
st.caption(f"{len(set(near[0]) & set(near[1]))} of {len(near[0])} neighbours are the same. Its "
           "own vector does not change; a neighbour changes only when that word's row moved. "
           + ("It keeps the neighbours its pretrained vector gave it." if pretrained else
              "Its random start vector stays random: it learned nothing about this word."))
