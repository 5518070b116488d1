"""Runs: every run in the store with its data set, start, architecture, training size, best
accuracy and editable name; filtered by data set, experiment runs grouped under their
experiment (hidden until asked for); opening one makes it the active run of the other pages
and of the URL; deleting one; comparing two side by side."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.runs import naming
from core.store.datasets import MAX_NAME, experiment_of
from dashboard import importing, services, state, widgets
from dashboard.charts import curves
from dashboard.text import escape_markdown

TABLE_COLUMNS = ["run", "name", "data set", "init", "arch", "training size",
                 "best val accuracy", "best epoch", "scored on", "final val accuracy", "status",
                 "epochs", "created", "error"]
PERCENT = {k: st.column_config.NumberColumn(format="percent")
           for k in ("best val accuracy", "final val accuracy")}

st.title("Runs")
st.write("Every training run is kept on disk with its snapshots, so it can be reopened "
         "after a refresh or a restart. The **active run** is the one the Train page and "
         "the sidebar show, and the one other pages open on; it changes only when you press "
         "**Open** here (or **Make active** on a view page).")
jobs = services.show_errors(lambda: {j.run_id: j for j in services.store().list_jobs()})
if jobs is None:
    st.stop()
with st.expander("Import saved weights (a model trained elsewhere) as a run"):
    imported = importing.render_import(services.store())
    if imported:
        services.open_run(imported)
        state.flash("success", f"Imported run {imported} is now the active run.")
        st.rerun()
runs = [j for j in jobs.values() if j.kind == "run"]
if not runs:
    st.info("No runs yet: train one on the Train page.")
    st.stop()
active = state.get(state.ACTIVE_RUN)
runs = widgets.run_filters("runs", runs, jobs)
if not runs:
    st.info("No run matches these filters.")
    st.stop()


def table(rows) -> None:
    frame = pd.DataFrame([naming.run_numbers(r, jobs=jobs) for r in rows])
    st.dataframe(frame[TABLE_COLUMNS], hide_index=True, column_config={
        **PERCENT, "error": st.column_config.TextColumn(width="large")})


groups: dict = {}  # experiment id (None: the user's own runs) -> its runs, in list order
for r in runs:
    groups.setdefault(experiment_of(r), []).append(r)
own = groups.pop(None, [])
if own:
    table(own)
for exp_id, members in groups.items():
    with st.expander(f"Experiment {exp_id} · "  # a data set name is user text: escaped
                     f"{escape_markdown(naming.dataset_name(members[0], jobs))} · "
                     f"{len(members)} runs"):
        table(members)
by_id = {r.run_id: r for r in runs}
ids = list(by_id)
version = f"{len(ids)}_{ids[0]}"  # the run list changed: fresh pickers, no stale choices


def describe(run_id: str) -> str:
    return naming.run_label(by_id[run_id], jobs, active)


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
current = naming.run_name(by_id[picked], jobs)
name = st.text_input("Name of this run", current, max_chars=MAX_NAME,
                     key=f"{state.W_RUN_NAME}_{picked}",
                     help="Shown in every run list. Empty: back to the automatic name.")
if st.button("Save name", disabled=name.strip() == current):
    if services.show_errors(lambda: services.rename_run(picked, name) or True):
        state.flash("success", "Renamed.")
        st.rerun()

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
            deleted = services.show_errors(lambda: services.delete_run(pending) or True)
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
pair = st.multiselect("Runs to compare", ids, default=naming.compare_default(runs, jobs, active),
                      max_selections=2, format_func=describe,
                      key=f"{state.W_COMPARE}_{version}")
if len(pair) == 2:
    chosen = [by_id[i] for i in pair]
    n = max(int(r.config.get("epochs", 1)) for r in chosen)
    floors = {r.info.get("majority_baseline") for r in chosen}  # one line if they share it
    names = naming.distinct_names(chosen, jobs)
    st.plotly_chart(curves.accuracy_figure(
        [(name, r.epochs) for name, r in zip(names, chosen)], n,
        floors.pop() if len(floors) == 1 else None))
    numbers = pd.DataFrame([naming.run_numbers(r, pretty=True, jobs=jobs) for r in chosen],
                           index=names)
    st.dataframe(numbers.T.astype(str))  # st.table renders Markdown
else:
    st.caption("Pick two runs to see their validation accuracy on one chart.")
