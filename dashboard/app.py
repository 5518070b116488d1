"""Embedding Explorer: entry point. `streamlit run dashboard/app.py`

Registers the screens (one page each, dashboard/screens/) with st.navigation (screens a
colleague has not written yet are skipped until their file exists), starts the once-per-process background warm-up,
marks runs whose worker died as failed, and keeps the active run (?run=) and the chosen data
set (?data=) in the URL.
"""
from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

_HERE = Path(__file__).resolve().parent
if str(_HERE.parent) not in sys.path:  # `streamlit run` puts dashboard/ on the path, not the repo
    sys.path.insert(0, str(_HERE.parent))

from core.runs import naming  # noqa: E402
from dashboard import services, state  # noqa: E402
from dashboard.text import escape_markdown  # noqa: E402

# (file in screens/, title, url path, icon) in the order the sidebar shows them
PAGES = (
    ("data.py", "Data", "data", ":material/table_view:"),
    ("train.py", "Train", "train", ":material/model_training:"),
    ("evolution.py", "Evolution", "evolution", ":material/timeline:"),
    ("lookup.py", "Lookup table", "lookup", ":material/table_rows:"),
    ("compare.py", "Learned vs pretrained", "compare", ":material/compare_arrows:"),
    ("documents.py", "Documents", "documents", ":material/description:"),
    ("experiments.py", "Experiments", "experiments", ":material/science:"),
    ("semantics.py", "General vs task semantics", "semantics", ":material/psychology:"),
    ("spaces.py", "Three spaces", "spaces", ":material/view_column:"),
    ("runs.py", "Runs", "runs", ":material/history:"),
)


def pages() -> list:
    return [st.Page(f"screens/{name}", title=title, url_path=url, icon=icon, default=i == 0)
            for i, (name, title, url, icon) in enumerate(PAGES)
            if (_HERE / "screens" / name).is_file()]


def sidebar() -> None:
    """The chosen data set (what Train and Experiments use next) and the active run with the
    data set *it* trained on, which may be another one."""
    with st.sidebar:
        choice, record = services.data_choice(), services.current_record()
        if choice is not None:
            what = "bundled sample" if choice.is_sample else "stored in the run store"
            name = record.name if record is not None else choice.filename
            st.caption(f"Data: **{escape_markdown(name)}** ({what})")
        active = state.get(state.ACTIVE_RUN)
        run = services.show_errors(services.store().get_run, active) if active else None
        if run is not None:  # no status here: the sidebar is not redrawn by the live panel
            st.caption(f"Active run `{active}`: "
                       + escape_markdown(naming.run_summary(run, services.parents(run))))


# An emoji, not ":material/...": Streamlit's page fetches material favicons from
# fonts.gstatic.com, while an emoji becomes a data: URL (no request leaves the machine).
st.set_page_config(page_title="Embedding Explorer", page_icon="📈",
                   layout="wide")
state.init()
services.start_warm_up()
services.show_errors(services.store)  # opens the store once per process and reconciles dead jobs
services.sync_active_run()
services.show_errors(services.sync_dataset)  # ?data= reopens the data set after a refresh
page = st.navigation(pages())
sidebar()
state.show_flash()
page.run()
