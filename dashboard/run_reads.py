"""A run's finished results as the pages read them: what the engine cached on disk, read
once per server process and run state and shared read-only by every session (a page load
never reads the same eleven tables again)."""
from __future__ import annotations

import streamlit as st

from dashboard import services


def comparison(run_id: str, against: str = "glove"):
    """The run's comparison as the engine cached it on disk (None until it has), read from
    disk once per server process and run state: its per-word tables took 1.5-2.7 s to read
    on every page load (bench/README.md, "Pages"). Shared by every session: read-only."""
    run = services.store().get_run(run_id)
    try:
        return _comparison(run_id, against, run.n_snapshots, str(run.info.get("views")))
    except _NotYet:
        return None


class _NotYet(Exception):
    """Raised, not returned, so that "not computed yet" is never cached: the engine (or an
    on-demand comparison) may write it without the run's state changing."""


@st.cache_resource(show_spinner=False, max_entries=8)
def _comparison(run_id: str, against: str, n_snapshots: int, views: str):
    from core.runs import views as runviews

    found = runviews.comparison(services.store(), run_id, against=against)
    if found is None:
        raise _NotYet
    return found


@st.cache_data(show_spinner=False, max_entries=16)
def semantics_table(run_id: str, n_snapshots: int):
    """``core.runs.semantics.semantics_over_epochs`` over the comparison read once above."""
    from core.runs import semantics

    return semantics.semantics_over_epochs(services.store(), run_id, result=comparison(run_id))
