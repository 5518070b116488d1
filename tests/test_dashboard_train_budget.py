"""The Train page shows how much of the run store a run will take before it starts, and refuses
a run above the per-run budget (1,000 epochs at vector size 1000 used to be accepted)."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import REPO

APP = str(REPO / "dashboard" / "app.py")


def _widget(elements, label: str):
    (found,) = [w for w in elements if w.label == label]
    return found


def test_the_train_page_shows_the_size_and_refuses_a_run_above_the_budget(app_store):
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("screens/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    captions = [c.value for c in at.caption if "in the run store" in c.value]
    assert captions and "a run may take at most 500 MB" in captions[0], captions

    _widget(at.number_input, "Vector size").set_value(1000)
    _widget(at.number_input, "Epochs").set_value(1000)
    _widget(at.button, "Train").click().run()
    errors = [e.value for e in at.error]
    assert any("Not started" in e and "1001 snapshots" in e for e in errors), errors
    assert at.session_state["active_run"] is None
    assert not (app_store / "runs.sqlite").exists() or not _runs(app_store)


def _runs(root):
    from core.store.runstore import RunStore

    return RunStore(root).list_runs()
