"""Three spaces, one corpus: the same words in the table a classifier trained, the table
word2vec trained on the same texts, and GloVe; how far each pair agrees, how each matches
human similarity judgements, a word's neighbours in each, and the words that differ most."""
from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from core.runs import naming, spaces
from dashboard import sentences, services, state
from dashboard.text import escape_markdown

st.title("Three spaces")
st.write("An embedding layer is a trainable lookup table. Trained by a classifier's loss it "
         "learns what the task needs; trained by word2vec on the same texts it learns which "
         "words share contexts; GloVe learned the same from six billion words. Here the same "
         "words are looked up in all three.")


def _pick(label: str, runs: list, default: str | None, key: str) -> str | None:
    if not runs:
        return None
    ids = [r.run_id for r in runs]
    jobs = {r.run_id: r for r in runs}
    return st.selectbox(label, ids, index=ids.index(default) if default in ids else 0,
                        key=key, format_func=lambda i: naming.run_label(jobs[i], jobs))


done = [r for r in services.store().list_runs() if r.status == "done"
        and r.config.get("source") is None]
task_runs = [r for r in done if not spaces.is_word2vec(r)]
w2v_runs = [r for r in done if spaces.is_word2vec(r)]
if not task_runs or not w2v_runs:
    st.info("This page needs a finished classifier run and a finished word2vec run (Train "
            "page: \"What trains the table\"), ideally on the same data set.")
    st.stop()
active = services.show_errors(services.store().get_run, state.get(state.ACTIVE_RUN)) \
    if state.get(state.ACTIVE_RUN) else None
fingerprint = active.fingerprint if active is not None else task_runs[0].fingerprint
task_default, w2v_default = spaces.default_pair(services.store(), fingerprint)
task_id = _pick("Task-trained run", task_runs, task_default, state.W_SPACES_TASK)
w2v_id = _pick("word2vec run", w2v_runs, w2v_default, state.W_SPACES_W2V)
by_id = {r.run_id: r for r in done}
if by_id[task_id].fingerprint != by_id[w2v_id].fingerprint:
    st.warning("These two runs trained on different data sets: the comparison is still made "
               "on the words they share, but it is no longer one corpus.")
too_little = (by_id[w2v_id].info.get("word2vec_quality") or {}).get("warning")
if too_little:  # its neighbours and sentence means are then mostly noise
    st.warning(escape_markdown(too_little))


@st.cache_data(max_entries=8, show_spinner="Comparing the three spaces…")
def _compare(task: str, w2v: str) -> spaces.ThreeSpaces:
    return spaces.three_spaces(services.store(), task, w2v)


result = services.show_errors(_compare, task_id, w2v_id)
if result is None:
    st.stop()
st.caption(f"{len(result.words):,} words: the classifier run's most frequent training words "
           "that all three spaces hold; neighbours are searched among these words only.")


def _rho(row) -> str:
    if not math.isfinite(row["rho"]):
        return f"too few pairs ({row['pairs']})"
    return f"{row['rho']:.2f} [{row['low']:.2f}, {row['high']:.2f}] ({row['pairs']} pairs)"


a, b = st.columns(2)
a.subheader("Agreement per pair")
a.dataframe(result.pairs.rename(columns={"jaccard": "Jaccard@10", "cka": "CKA"}),
            hide_index=True, column_config={"Jaccard@10": st.column_config.NumberColumn(
                format="%.3f"), "CKA": st.column_config.NumberColumn(format="%.3f")})
b.subheader("Human similarity judgements")
scores = result.scores.assign(score=result.scores.apply(_rho, axis=1))
b.dataframe(scores.pivot(index="space", columns="benchmark", values="score")
            .reindex(list(spaces.SPACES)), column_config={"space": "space"})
b.caption("Spearman rho with 95 % interval, on the word pairs among the compared words.")

st.subheader("A word's neighbours in each space")
word = st.selectbox("Word", result.words, key=state.W_SPACES_WORD)
near = result.neighbours_of(word)
st.dataframe(pd.DataFrame(near), hide_index=True)

st.subheader("Where the two learned tables disagree most")
st.dataframe(spaces.most_different(result, 20), hide_index=True)
st.caption("Jaccard@10 between a word's neighbour sets: 0 = no neighbour in common.")

sentences.render(task_id, w2v_id)
