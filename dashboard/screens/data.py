"""Data: choose the labelled texts (the bundled sample or an upload), map the columns, and
see what the model will learn from: classes, text lengths, and how much GloVe knows."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.data.loading import LoadConfig
from dashboard import library, services, state, widgets
from dashboard.charts import bars
from dashboard.text import escape_markdown

st.title("Data")
st.write("Each row is one text and its class. The classifier learns one vector per word "
         "while it learns to predict the class, so the words and classes here decide what "
         "the vectors can learn.")
listed = library.panel()  # the data set the list shows as chosen


def take_upload() -> None:
    """Keep a new upload's bytes in session state (widgets forget them on page switch).
    A callback, so it runs before the script and the sidebar already names the new file."""
    uploaded = st.session_state.get(state.W_UPLOAD)
    if uploaded is None or uploaded.file_id == state.get(state.UPLOAD_FILE_ID):
        return
    data = uploaded.getvalue()
    state.put(state.UPLOAD, {"name": uploaded.name, "bytes": data, "sha": services.sha256(data)})
    state.put(state.UPLOAD_FILE_ID, uploaded.file_id)
    state.put(state.TEXT_COLUMN, None)
    state.put(state.LABEL_COLUMN, None)
    state.put(state.DATASET, None)  # stored (and chosen) once it loads with its columns


st.file_uploader(
    "Add a data set: upload labelled text", type=services.DATA_TYPES, key=state.W_UPLOAD,
    on_change=take_upload,
    help="CSV, TSV, JSON Lines, Parquet, Excel (.xlsx), or fastText lines "
         "(`__label__x some text`). One text column and one label column.")
choice = services.data_choice()
if choice is None:
    st.warning("The bundled sample (sample_data/sample.csv) is missing: upload a file above.")
    st.stop()
if choice.is_sample:
    st.info("Using the **bundled sample**: short travel reviews labelled positive or negative. "
            "Upload a file above to use your own data.")
else:
    st.success(f"Using your file **{escape_markdown(choice.filename)}**. Once it reads "
               "correctly it is kept in the run store with its columns: it is still chosen "
               "after a refresh, and listed above after a restart.")
    if st.button("Use the bundled sample instead"):
        services.use_sample()
        st.rerun()

info = services.show_errors(services.inspect_file, choice.sha, choice.data, choice.filename)
if info is None:
    st.stop()


def column_picker(where, label: str, key: str, chosen: str | None, detected: str | None,
                  fallback: int) -> str:
    cols = info["columns"]
    preferred = chosen if chosen in cols else detected
    index = cols.index(preferred) if preferred in cols else min(fallback, len(cols) - 1)
    return where.selectbox(label, cols, index=index, key=f"{key}_{choice.sha[:12]}",
                           help="Detected automatically; change it if the guess is wrong.")


det_text, det_label = info["detected"]
if info["detect_problem"]:
    st.warning(f"Could not pick the columns automatically: "
               f"{escape_markdown(info['detect_problem'])}")
left, right = st.columns(2)
text_col = column_picker(left, "Text column", state.W_TEXT_COLUMN,
                         state.get(state.TEXT_COLUMN), det_text, 0)
label_col = column_picker(right, "Label column", state.W_LABEL_COLUMN,
                          state.get(state.LABEL_COLUMN), det_label, 1)
state.put(state.TEXT_COLUMN, None if text_col == det_text else text_col)
state.put(state.LABEL_COLUMN, None if label_col == det_label else label_col)
if text_col == label_col:
    st.error("The text column and the label column must be different columns.")
    st.stop()

loaded = services.current_dataset()  # stores the data set and makes it the chosen one
if loaded is None:
    st.stop()
if state.get(state.DATASET) != listed:
    st.rerun()  # a new data set (an upload, other columns): redraw the list with it
dataset = loaded[1]
report = dataset.report
n_dropped = sum(report.dropped.values())

m = st.columns(4)
m[0].metric("Texts kept", f"{len(dataset):,}", help=f"{report.n_rows_read:,} rows read")
m[1].metric("Classes", len(dataset.classes))
m[2].metric("Rows dropped", f"{n_dropped:,}")
m[3].metric("Format", f"{report.fmt.upper()}", help=f"encoding: {report.encoding}")

left, right = st.columns([3, 2])
with left:
    st.subheader("Preview")
    st.caption(f"The first rows of the file as read ({info['n_rows']:,} rows, "
               f"{len(info['columns'])} columns).")
    st.dataframe(info["preview"], hide_index=True, height=360, column_config={
        text_col: st.column_config.TextColumn(width="large")})
with right:
    from core.data.loading import dataset_summary

    st.plotly_chart(bars.class_balance_figure(dataset_summary(dataset)))
    st.caption("A strongly unbalanced data set makes accuracy look better than the model is: "
               "always guessing the biggest class already scores its share.")

st.subheader("What was dropped")
if n_dropped or report.n_truncated or report.notes:
    if n_dropped:
        st.dataframe(pd.DataFrame({"reason": list(report.dropped), "rows": list(
            report.dropped.values())}).query("rows > 0"), hide_index=True)
    if report.n_truncated:
        st.write(f"{report.n_truncated:,} long texts were cut after "
                 f"{LoadConfig().max_text_tokens:,} words (max_text_tokens).")
    for note in report.notes:
        st.write(f"Note: {escape_markdown(note)}")
else:
    st.caption("Nothing: every row had a text and a label.")

st.subheader("Words and GloVe coverage")
st.write("Texts are split into lower-case words the way GloVe was trained. Words GloVe "
         "knows can start from their pretrained vector; the others start random and only "
         "learn from your texts.")
profile = services.show_errors(services.text_profile, choice.sha, state.get(state.TEXT_COLUMN),
                           state.get(state.LABEL_COLUMN), dataset)
if profile is not None:
    stats = profile["stats"]
    m = st.columns(5)
    m[0].metric("Words per text (mean)", f"{stats['mean']:.1f}",
                help=f"median {stats['median']:.0f}, 95% of texts ≤ {stats['p95']:.0f}, "
                     f"longest {stats['max']:,}")
    m[1].metric("Running words", f"{stats['n_tokens']:,}")
    m[2].metric("Distinct words", f"{stats['n_types']:,}")
    m[3].metric("Running words in GloVe", f"{profile['token_share']:.1%}")
    m[4].metric("Distinct words in GloVe", f"{profile['vocab_share']:.1%}")
    if profile["top_missing"]:
        st.write("Most frequent words GloVe does not know: "
                 + ", ".join(f"`{w}`" for w in profile["top_missing"]))
