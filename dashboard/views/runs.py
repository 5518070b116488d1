"""Runs: every run in the store, opening one (it becomes the active run of the other pages
and of the URL), deleting one, and comparing two side by side."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import services, state, widgets

TABLE_COLUMNS = ["run", "created", "status", "init", "arch", "epochs", "final val accuracy",
                 "error"]

st.title("Runs")
st.write("Every training run is kept on disk with its snapshots, so it can be reopened "
         "after a refresh or a restart.")
runs = services.attempt(services.store().list_runs)
if runs is None:
    st.stop()
if not runs:
    st.info("No runs yet: train one on the Train page.")
    st.stop()

table = pd.DataFrame([widgets.run_numbers(r) for r in runs])
st.dataframe(table[TABLE_COLUMNS], hide_index=True, column_config={
    "final val accuracy": st.column_config.NumberColumn(format="percent"),
    "error": st.column_config.TextColumn(width="large")})
by_id = {r.run_id: r for r in runs}
ids = list(by_id)
active = state.get(state.ACTIVE_RUN)
version = f"{len(ids)}_{ids[0]}"  # the run list changed: fresh pickers, no stale choices


def describe(run_id: str) -> str:
    run = by_id[run_id]
    return (f"{run_id} · {run.status} · {widgets.init_name(run.config)} · "
            f"{run.config.get('arch')}" + (" (active)" if run_id == active else ""))


st.subheader("Open or delete")
picked = st.selectbox("Run", ids, index=ids.index(active) if active in ids else 0,
                      format_func=describe, key=f"{state.W_RUN_PICK}_{version}")
left, right, _ = st.columns([1, 1, 4])
if left.button("Open", type="primary", disabled=picked == active):
    services.open_run(picked)
    state.flash("success", f"Run {picked} is now the active run.")
    st.rerun()
if right.button("Delete…"):
    state.put(state.CONFIRM_DELETE, picked)

if by_id[picked].n_snapshots:
    cols = st.columns(len(services.EXPORTS))
    for col, (fmt, (name, ext)) in zip(cols, services.EXPORTS.items()):
        col.download_button(f"Download {name}", services.export_download(picked, fmt),
                            file_name=f"{picked}-{fmt}.{ext}", key=f"download_{fmt}_{picked}",
                            help="Vectors of the last snapshot.")
else:
    st.caption("This run has no snapshots yet, so there is nothing to download.")

pending = state.get(state.CONFIRM_DELETE)
if pending in by_id:
    if by_id[pending].status in services.LIVE:
        st.warning(f"Run {pending} is still {by_id[pending].status}: cancel it on the Train "
                   "page before deleting it.")
        state.put(state.CONFIRM_DELETE, None)
    else:
        st.warning(f"Delete run {pending} and all its snapshots? This cannot be undone.")
        yes, no, _ = st.columns([1, 1, 4])
        if yes.button("Yes, delete", type="primary"):
            deleted = services.attempt(lambda: services.delete_run(pending) or True)
            state.put(state.CONFIRM_DELETE, None)
            if deleted:
                if pending == active:
                    services.open_run(None)
                state.flash("success", f"Deleted run {pending}.")
                st.rerun()
        if no.button("Keep it"):
            state.put(state.CONFIRM_DELETE, None)
            st.rerun()

st.subheader("Compare two runs")
pair = st.multiselect("Runs to compare", ids, default=ids[:2] if len(ids) >= 2 else ids,
                      max_selections=2, format_func=describe,
                      key=f"{state.W_COMPARE}_{version}")
if len(pair) == 2:
    chosen = [by_id[i] for i in pair]
    n = max(int(r.config.get("epochs", 1)) for r in chosen)
    floors = {r.info.get("majority_baseline") for r in chosen}  # one line if they share it
    st.plotly_chart(widgets.accuracy_figure(
        [(f"{r.run_id} ({widgets.init_name(r.config)})", r.epochs) for r in chosen], n,
        floors.pop() if len(floors) == 1 else None))
    numbers = pd.DataFrame([widgets.run_numbers(r, pretty=True) for r in chosen])
    st.table(numbers.set_index("run").T)
else:
    st.caption("Pick two runs to see their validation accuracy on one chart.")
