"""General vs task semantics: per epoch, does the learned space agree with human word-similarity
judgements and with GloVe, while the task (validation accuracy) improves? And chosen word
pairs' cosine similarity over training against GloVe."""
from __future__ import annotations

import streamlit as st

from core.analysis.measures import MIN_RELIABLE_PAIRS

from core.runs import semantics as probes

from core.runs import views as runviews
from core.runs import naming
from dashboard import run_reads, services, state, widgets
from dashboard.charts import curves
from dashboard.text import escape_markdown

st.title("General vs task semantics")
st.write("A classifier's embedding learns what the task needs — which label a word points to "
         "— not what words mean in general. Here the task's accuracy is drawn next to measures "
         "of general meaning: agreement with human similarity ratings (WordSim353, SimLex999) "
         "and with GloVe's neighbours (Jaccard@k, CKA).")
run = widgets.pick_run("semantics")
if run is None:
    st.stop()
store, labels = services.store(), naming.epoch_labels(run)


def _change(table, column: str) -> str:
    """First → last value; for a benchmark rho, with its pairs and 95 % interval, or "too few
    pairs (n)" under MIN_RELIABLE_PAIRS."""
    values = table[column].dropna()
    if not column.endswith("_rho"):
        return "n/a" if values.empty else f"{values.iloc[0]:.2f} → {values.iloc[-1]:.2f}"
    bench = column[: -len("_rho")]
    n = int(table[f"{bench}_found"].max())
    if n < MIN_RELIABLE_PAIRS or values.empty:
        return f"too few pairs ({n})"
    last = table.iloc[-1]
    return (f"{values.iloc[0]:.2f} → {values.iloc[-1]:.2f} (95 % interval "
            f"{last[f'{bench}_low']:.2f} to {last[f'{bench}_high']:.2f}, {n} pairs)")


def semantics() -> None:
    comp = services.show_errors(run_reads.comparison, run.run_id)
    if comp is None:  # never computed on a page load: the background engine does it
        views = services.show_errors(runviews.views_state, store, run.run_id)
        if views == "failed" or run.info.get("comparison_error"):  # e.g. words GloVe lacks
            st.warning("The comparison with GloVe could not be computed for this run"
                       + escape_markdown(f": {run.info.get('comparison_error', '')}".rstrip(": "))
                       + ".")
        elif run.status == "done":
            st.info("The comparison with GloVe is being computed by the background engine; "
                    "this chart appears by itself when it is ready.")
            widgets.poll_until_ready(run.run_id)
        else:
            st.info("The comparison with GloVe is computed for finished runs only.")
        return
    table = services.show_errors(run_reads.semantics_table, run.run_id, run.n_snapshots)
    if table is None:
        return
    st.plotly_chart(curves.semantics_figure(table, labels[: len(table)]))
    acc = table["val_accuracy"].dropna()
    st.caption(
        f"Validation accuracy "
        f"{'n/a' if acc.empty else f'{acc.iloc[0]:.0%} → {acc.iloc[-1]:.0%}'}"
        f"; SimLex999 ρ {_change(table, 'simlex999_rho')}, WordSim353 ρ "
        f"{_change(table, 'wordsim353_rho')}, CKA with GloVe {_change(table, 'cka')}. "
        "If the task line rises while the others stay flat (or fall from a GloVe start), the "
        "table learned the task, not general meaning. ρ covers only benchmark pairs whose "
        f"words are both in the vocabulary; under {MIN_RELIABLE_PAIRS} pairs no line is "
        "drawn.")


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """'alps/himalayas, good/great' -> [('alps', 'himalayas'), ('good', 'great')]."""
    pairs = [p.split("/") for p in text.replace(";", ",").split(",") if p.strip()]
    bad = ["/".join(p) for p in pairs if len(p) != 2 or not all(w.strip() for w in p)]
    if bad:
        raise ValueError(f"Word pairs: write each pair as word/word, separated by commas "
                         f"(could not read: {', '.join(bad)}).")
    return [(a.strip(), b.strip()) for a, b in pairs]


semantics()
st.subheader("Word pairs")
text = st.text_input("Word pairs (word/word, comma-separated)", key=state.W_SEM_PAIRS,
                     value=", ".join(f"{a}/{b}" for a, b in services.show_errors(
                         probes.suggested_pairs, store, run.run_id) or probes.DEFAULT_PAIRS),
                     help="Suggested: pairs from WordSim353 and SimLex999 that this run's "
                          "training texts use, the most and the least similar by their "
                          "human ratings.")
pairs = services.show_errors(parse_pairs, text)
table = pairs and services.show_errors(probes.pair_similarity_over_epochs, store, run.run_id,
                                   pairs)
if table is not None and len(table):
    st.plotly_chart(curves.pair_figure(table, labels))
    missing = sorted({w for m in table["missing"] if m for w in m.split(",")})
    unseen = table[(table["missing"] == "") & ~table["seen"]][["word_a", "word_b"]]
    st.caption(
        "Solid: cosine similarity in the learned space at each snapshot; dashed: the same pair "
        "in GloVe. Words that point to the same label can drift together (good/great), while "
        "words the task never needed keep whatever the start gave them."
        + (f" Not in this run's vocabulary: {escape_markdown(', '.join(missing))}." if missing
           else "")
        + (" Pairs with a word never seen in training (only training texts update a row): "
           + escape_markdown(", ".join(sorted({f"{a}/{b}" for a, b in unseen.values})))
           + "." if len(unseen) else ""))
elif pairs:
    st.info("This run has no snapshots to compare.")
