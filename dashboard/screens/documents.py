"""Documents: validation texts through the layer after the embedding (learned, per snapshot)
next to the same texts as the mean of their pretrained word vectors, coloured by label."""
from __future__ import annotations

import numpy as np
import streamlit as st

from core.runs import views as runviews
from core.runs import naming
from dashboard import run_reads, services, state, widgets
from dashboard.charts import maps, points
from dashboard.text import truncate

st.title("Documents")
st.write("Each point is one validation text as the classifier sees it, right after the "
         "embedding layer (left), next to the same text as the average of its GloVe word "
         "vectors (right). Training pulls the classes apart on the left; GloVe was never told "
         "the labels, so on the right they overlap more.")
run = widgets.pick_run("documents")
if run is None:
    st.stop()
docs, pending = widgets.load_layout(run, runviews.document_views)
if docs is None:
    missing = services.show_errors(runviews.documents_missing, services.store(), run.run_id)
    st.info(f"Nothing to draw: {missing}." if missing else
            "This run kept too few validation texts to draw (at least 5 are needed).")
    st.stop()
if pending:
    widgets.poll_until_ready(run.run_id)
labels = naming.epoch_labels(run)[: len(docs.learned)]
t = labels.index(st.select_slider("Snapshot", labels, value=labels[-1],
                                  key=state.W_DOC_EPOCH)) if len(labels) > 1 else 0
classes = [str(c) for c in run.info.get("classes") or sorted(docs.docs["label"].unique())]
doc_labels = docs.docs["label"].astype(str).tolist()
texts = [truncate(x) for x in docs.docs["text"]]
left, right = st.columns(2)
left.plotly_chart(maps.document_map(
    docs.learned[t], doc_labels, classes, texts, f"Learned: after the embedding — {labels[t]}",
    ranges=points.stable_ranges(docs.learned[t][None]), sizes=run.info.get("class_sizes")),
    key="docs_learned")
right.plotly_chart(maps.document_map(
    docs.pretrained, doc_labels, classes, texts, "Pretrained: mean of GloVe vectors",
    sizes=run.info.get("class_sizes")),
    key="docs_pretrained")
st.caption(f"{len(doc_labels):,} validation texts, {docs.method.upper()} layout; hover a "
           "point to read it. The learned panel's axes fit the snapshot shown (a random start "
           "is far more spread out than the trained layers).")

comp = services.show_errors(run_reads.comparison, run.run_id)
if comp is None:
    st.info("The separation scores are being computed; this page updates by itself."
            if pending else "The separation scores are computed for finished runs only.")
    st.stop()
snap = comp.snapshots.iloc[min(t, len(comp.snapshots) - 1)]
k = comp.config.knn_k


def score(x: float, percent: bool) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:.1%}" if percent else f"{x:.2f}"


m = st.columns(4)
m[0].metric(f"{k}-NN accuracy, learned", score(snap["knn_learned"], True))
m[1].metric(f"{k}-NN accuracy, GloVe mean", score(snap["knn_pretrained"], True))
m[2].metric("Silhouette, learned", score(snap["silhouette_learned"], False))
m[3].metric("Silhouette, GloVe mean", score(snap["silhouette_pretrained"], False))
st.caption(f"k-NN accuracy: how often a text's {k} nearest texts share its label. Silhouette "
           "(−1 to 1): how well the labels form separate clusters. Both are measured in the "
           "full vector space, not in the 2-D picture.")
