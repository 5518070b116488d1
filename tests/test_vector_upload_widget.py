"""The word-vector picker of the Train and Experiments pages: a refused upload, or one whose
check a rerun cut short, is never shown as a success (issue 13). Streamlit is replaced by a
small stand-in recording what the widget shows; the check itself is the real one (core)."""
from __future__ import annotations

import contextlib
import struct
import types

import pytest

from dashboard import state, widgets

GOOD = b"2 3\ngood 0.1 0.2 0.3\nbad 0.3 0.2 0.1\n"
# word2vec binary rows of 3 floats under a header saying 2: loaded as garbage before the fix
LIAR = b"3 2\n" + b"".join(w + b" " + struct.pack("<3f", 1, 2, 3) + b"\n"
                           for w in (b"good", b"bad", b"fine"))


class _Interrupted(Exception):
    """What Streamlit raises inside a script when a rerun cuts it short."""


class _FakeStreamlit:
    def __init__(self) -> None:
        self.session_state: dict = {}
        self.upload = None
        self.interrupt = False
        self.shown: list[tuple[str, str]] = []

    def file_uploader(self, *args, **kwargs):
        return self.upload

    @contextlib.contextmanager
    def spinner(self, text):
        if self.interrupt:
            raise _Interrupted
        yield

    def error(self, text):
        self.shown.append(("error", text))

    def success(self, text):
        self.shown.append(("success", text))


@pytest.fixture
def fake_st(monkeypatch):
    fake = _FakeStreamlit()
    monkeypatch.setattr(widgets, "st", fake)
    monkeypatch.setattr(state, "st", fake)
    return fake


def _upload(fake, file_id: str, name: str, data: bytes) -> None:
    fake.upload = types.SimpleNamespace(file_id=file_id, name=name, getvalue=lambda: data)
    fake.shown.clear()


def test_a_refused_upload_shows_its_error_and_no_success(fake_st):
    _upload(fake_st, "1", "good.vec", GOOD)
    assert widgets.vector_file_picker("k")["words"] == 2
    assert [kind for kind, _ in fake_st.shown] == ["success"]
    _upload(fake_st, "2", "liar.bin", LIAR)
    assert widgets.vector_file_picker("k") is None
    [(kind, text)] = fake_st.shown
    assert kind == "error" and "does not start with a word" in text


def test_a_check_cut_short_by_a_rerun_is_done_again(fake_st):
    _upload(fake_st, "1", "good.vec", GOOD)
    widgets.vector_file_picker("k")
    _upload(fake_st, "2", "liar.bin", LIAR)
    fake_st.interrupt = True
    with pytest.raises(_Interrupted):
        widgets.vector_file_picker("k")
    fake_st.interrupt = False
    assert widgets.vector_file_picker("k") is None  # the rerun checks the new file
    assert [kind for kind, _ in fake_st.shown] == ["error"]
