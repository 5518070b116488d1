"""The seed's figure with the user's own sentences: typed texts placed in each of the three
spaces, with their pairwise cosine similarities (Three spaces page)."""
from __future__ import annotations

import streamlit as st

from core.runs import spaces
from dashboard import services, state

MAX_SENTENCES = 8
MAX_CHARS = 500


def render(task_id: str, w2v_id: str) -> None:
    """Text boxes (defaults from the classifier run's validation texts) and the table."""
    st.subheader("Your sentences in each space")
    st.write("The task-trained space places a text where the classifier needs it: two texts "
             "that mean the same can land apart if the labels do not need them together. "
             "word2vec and GloVe place texts by what their words mean in general.")
    defaults = services.show_errors(spaces.default_sentences, services.store(), task_id) or []
    key = f"{state.W_SPACES_SENTENCES}_{task_id}"
    typed = st.text_area("One text per line (3 to 8)", "\n".join(defaults), key=key,
                         height=120, max_chars=MAX_SENTENCES * MAX_CHARS)
    texts = [line.strip()[:MAX_CHARS] for line in typed.splitlines() if line.strip()]
    if not 2 <= len(texts) <= MAX_SENTENCES:
        st.info(f"Type between 2 and {MAX_SENTENCES} texts, one per line.")
        return
    vectors = services.show_errors(spaces.sentence_vectors, services.store(), task_id, w2v_id,
                               texts)
    if vectors is None:
        return
    for i, text in enumerate(texts, start=1):
        st.text(f"{i}. {text}")
    table = spaces.sentence_similarities(vectors).rename(columns={
        "task": "task-trained (pooled)", "word2vec": "word2vec (mean)",
        "pretrained": "GloVe (mean)"})
    st.dataframe(table, hide_index=True, column_config={c: st.column_config.NumberColumn(
        format="%.2f") for c in table.columns[1:]})
    if vectors["task"] is None:
        st.caption("The task-trained column is empty: this classifier is a CNN or GRU, whose "
                   "next layer reads the sequence of rows, not one pooled vector.")
    st.caption("Cosine similarity of each pair of texts, in each space (1 = same direction).")
