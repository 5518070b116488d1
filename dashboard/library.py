"""The Data page's list of stored data sets (``core.store.datasets``): every upload is kept
in the run store; here the user chooses one, renames it or deletes it. Deleting keeps the runs
and experiments trained on it (they keep its name) and never removes the bundled sample."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.runs import naming
from core.store import datasets
from dashboard import services, state
from dashboard.text import escape_markdown


def _row(record, counts: dict[str, int], chosen: str | None) -> dict[str, Any]:
    return {"": "▶" if record.dataset_id == chosen else "", "name": record.name,
            "file": record.filename, "texts": record.n_rows,
            "classes": len(record.class_counts),
            "columns (text / label)": f"{record.text_column} / {record.label_column}",
            "format": record.fmt.upper(), "added": naming.when(record.created),
            "runs": counts.get("runs", 0), "experiments": counts.get("experiments", 0)}


def _choose() -> None:
    picked = st.session_state.get(state.W_DATA_PICK)
    if picked and picked != state.get(state.DATASET):
        services.show_errors(services.select_dataset, picked)
        state.put(state.CONFIRM_DATASET_DELETE, None)


def panel() -> str | None:
    """The stored data sets as a table, a picker choosing one, rename and delete; returns
    the id shown as chosen (a session that has not loaded any data yet uses the sample)."""
    records = services.show_errors(services.stored_datasets)
    counts = services.show_errors(datasets.usage, services.store()) or {}
    if not records:
        return None
    chosen, by_id = state.get(state.DATASET), {r.dataset_id: r for r in records}
    sample = datasets.sample_id()
    if chosen is None and state.get(state.UPLOAD) is None:
        chosen = sample
    st.subheader("Your data sets")
    st.caption("Every file you upload is kept in the run store, so it is still here after a "
               "refresh or a restart (the address names the chosen one: ?data=). Runs and "
               "experiments record the data set they trained on.")
    st.dataframe(pd.DataFrame([_row(r, counts.get(r.dataset_id, {}), chosen) for r in records]),
                 hide_index=True)
    ids = list(by_id)
    if chosen in ids:  # the picker shows the chosen data set, also after an upload
        st.session_state[state.W_DATA_PICK] = chosen
    st.selectbox("Data set to use", ids, key=state.W_DATA_PICK, on_change=_choose,
                 format_func=lambda i: f"{by_id[i].name} · {by_id[i].n_rows:,} texts · "
                                       f"{by_id[i].text_column} / {by_id[i].label_column}")
    if chosen in by_id:
        _manage(by_id[chosen], counts.get(chosen, {}), is_sample=chosen == sample)
        return chosen
    return None


def _manage(record, counts: dict[str, int], is_sample: bool) -> None:
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    name = left.text_input("Name of this data set", record.name,
                           key=f"{state.W_DATA_NAME}_{record.dataset_id[:16]}",
                           max_chars=datasets.MAX_NAME)
    if right.button("Rename", disabled=name.strip() == record.name):
        if services.show_errors(lambda: services.rename_dataset(record.dataset_id, name) or True):
            state.flash("success", "Renamed.")
            st.rerun()
    if st.button("Delete this data set…", disabled=is_sample,
                 help="The bundled sample cannot be deleted." if is_sample else None):
        state.put(state.CONFIRM_DATASET_DELETE, record.dataset_id)
    if state.get(state.CONFIRM_DATASET_DELETE) == record.dataset_id:
        _confirm_delete(record, counts)


def _confirm_delete(record, counts: dict[str, int]) -> None:
    runs, exps = counts.get("runs", 0), counts.get("experiments", 0)
    st.warning(f"Delete the data set **{escape_markdown(record.name)}**? Its file is removed "
               f"from the run store. The {runs} runs and {exps} experiments trained on it "
               "stay, and remain viewable: they keep the data set's name.")
    yes, no, _ = st.columns([1, 1, 4])
    if yes.button("Yes, delete", type="primary", key="data_delete_yes"):
        state.put(state.CONFIRM_DATASET_DELETE, None)
        if services.show_errors(lambda: services.delete_dataset(record.dataset_id) or True):
            state.flash("success", f"Deleted the data set {escape_markdown(record.name)}; "
                                   "the runs trained on it are kept.")
            st.rerun()
    if no.button("Keep it", key="data_delete_no"):
        state.put(state.CONFIRM_DATASET_DELETE, None)
        st.rerun()
