"""The dashboard's import form (dashboard/importing.py) through Streamlit's AppTest: uploads
become a run; a refused file is shown as text and leaves nothing in the store."""
from __future__ import annotations

import io

import numpy as np
from safetensors.numpy import save
from streamlit.testing.v1 import AppTest

from core.store.runstore import RunStore
from tests.conftest import TEN_WORDS

WORDS = ["<pad>", "<unk>"] + TEN_WORDS


class Upload(io.BytesIO):
    """What st.file_uploader hands back: a name and the bytes."""

    def __init__(self, name: str, data: bytes) -> None:
        super().__init__(data)
        self.name = name


def _submit_and_serve(root: str, files: list, vocab, monkeypatch) -> str:
    """The form's submit, then a worker's run of the queue, in this process."""
    from core.jobs import imports
    from core.jobs.workers import serve
    from dashboard.importing import submit_uploads

    monkeypatch.setattr(imports, "start_worker", lambda *a, **k: None)
    job_id = submit_uploads(RunStore(root), files, vocab, "", "mine")
    serve(RunStore(root))
    return job_id


def _panel(root: str, job_id: str) -> None:
    import streamlit as st

    from core.store.runstore import RunStore
    from dashboard.importing import job_panel

    run_id = job_panel(RunStore(root), job_id)
    if run_id:
        st.success(run_id)


def _safetensors(seed: int, rows: int = len(WORDS)) -> bytes:
    table = np.random.default_rng(seed).normal(size=(rows, 4)).astype(np.float32)
    return save({"embedding": table})


def test_uploads_become_one_run_in_name_order(tmp_path, monkeypatch):
    root = str(tmp_path / "runs")
    files = [Upload("b_epoch2.safetensors", _safetensors(2)),
             Upload("a_epoch1.safetensors", _safetensors(1))]
    vocab = Upload("vocab.txt", ("\n".join(WORDS) + "\n").encode())
    job_id = _submit_and_serve(root, files, vocab, monkeypatch)
    at = AppTest.from_function(_panel, args=(root, job_id)).run()
    assert not at.error and not at.exception, [e.value for e in at.error]
    run_id = at.success[0].value
    store = RunStore(root)
    run = store.get_run(run_id)
    assert run.n_snapshots == 2 and run.info["name"] == "mine"
    assert run.config["files"] == ["a_epoch1.safetensors", "b_epoch2.safetensors"]
    first = np.random.default_rng(1).normal(size=(len(WORDS), 4)).astype(np.float32)
    np.testing.assert_array_equal(store.load_snapshot(run_id, 0), first)


def test_a_refused_upload_is_shown_as_text(tmp_path, monkeypatch):
    root = str(tmp_path / "runs")
    files = [Upload("![x](http://203.0.113.9/x.png).safetensors", b"not safetensors at all")]
    job_id = _submit_and_serve(root, files, None, monkeypatch)
    at = AppTest.from_function(_panel, args=(root, job_id)).run()
    assert not at.exception
    message = at.error[0].value
    assert "not a safetensors file" in message and "\\!\\[x\\]" in message  # escaped
    assert RunStore(root).list_runs() == []


def test_render_import_draws_its_form(tmp_path):
    def page(root: str) -> None:
        from core.store.runstore import RunStore
        from dashboard.importing import render_import
        render_import(RunStore(root))

    at = AppTest.from_function(page, args=(str(tmp_path / "runs"),)).run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Import"] and at.button[0].disabled
    assert {t.label for t in at.text_input} == {"Tensor name (optional)", "Run name (optional)"}


def test_a_tracked_run_is_named_by_where_it_came_from(tmp_path):
    """Run lists name an outside run by its source and leave out what it did not record
    (no arch, no training size), instead of "file: unknown · ? · all texts"."""
    from core.track import open_run
    from core.runs import naming

    store = RunStore(tmp_path / "runs")
    with open_run(store, WORDS, source="pytorch", config={"arch": "bag"}) as run:
        run.add_snapshot(np.zeros((len(WORDS), 4), np.float32), epoch=0, step=0)
    facts = naming.run_facts(store.get_run(run.run_id))
    assert facts == "data set not recorded · own PyTorch model · bag"
