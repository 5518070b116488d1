"""Keras 3 calls no callback when ``fit`` raises (there is no ``on_exception``), so a tracked
run would stay "running" for as long as the process lives (a notebook's kernel). The guard
ends it failed, with the exception's one-line message, without waiting for the process:

- the ``CallbackList`` of the ``fit`` under way and the model's ``train_function`` /
  ``test_function`` are wrapped for that call: an exception passing through them (another
  callback's, this one's, a batch's) fails the run at once;
- a watcher thread sees ``fit``'s frame leave its thread's stack without ``on_train_end`` (an
  exception raised anywhere else in ``fit``) and fails the run within ``POLL_SECONDS``.

Both are undone when the run ends. Nothing here imports keras.
"""
from __future__ import annotations

import sys
import threading
from types import FrameType
from typing import Any, Callable

from core.track.run import TrackedRun

POLL_SECONDS = 0.25
_LIST_METHODS = ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
                 "on_train_batch_end", "on_test_begin", "on_test_end",
                 "on_test_batch_begin", "on_test_batch_end")
_MODEL_FUNCTIONS = ("train_function", "test_function")


def fit_frame(model: Any) -> FrameType | None:
    """The frame of ``model.fit`` that called us (None outside a ``fit``)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "fit" and frame.f_locals.get("self") is model:
            return frame
        frame = frame.f_back
    return None


class FitGuard:
    """Fails ``runs`` (one per tracked layer) when the ``fit`` under way raises (see the
    module doc)."""

    def __init__(self, runs: list[TrackedRun], model: Any) -> None:
        self.runs, self.model = list(runs), model
        self.frame = fit_frame(model)
        self.thread_id = threading.get_ident()
        self._patched: list[tuple[Any, str, Callable | None]] = []
        if self.frame is None:
            return  # callbacks driven by hand: nothing to watch
        callbacks = self.frame.f_locals.get("callbacks")
        for name in _LIST_METHODS if callbacks is not None else ():
            self._wrap(callbacks, name)
        for name in _MODEL_FUNCTIONS:
            if callable(getattr(model, name, None)):
                self._wrap(model, name)
        threading.Thread(target=self._watch, name=f"fit-guard-{self.runs[0].run_id}",
                         daemon=True).start()

    def _running(self) -> bool:
        return any(run.status == "running" for run in self.runs)

    def fail(self, error: BaseException | str) -> None:
        for run in self.runs:
            run.fail(error)  # a run already ended stays as it ended

    def _wrap(self, owner: Any, name: str) -> None:
        inner: Callable = getattr(owner, name)

        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return inner(*args, **kwargs)
            except BaseException as exc:
                self.fail(exc)
                self.restore()
                raise

        had_own = name in vars(owner)
        setattr(owner, name, guarded)
        self._patched.append((owner, name, inner if had_own else None))

    def restore(self) -> None:
        """Undo the wrapping (the run ended: the next ``fit`` is the callback's again)."""
        for owner, name, inner in reversed(self._patched):
            if inner is None:
                vars(owner).pop(name, None)
            else:
                setattr(owner, name, inner)
        self._patched.clear()

    def _in_fit(self) -> bool:
        frame = sys._current_frames().get(self.thread_id)
        while frame is not None:
            if frame is self.frame:
                return True
            frame = frame.f_back
        return False

    def _watch(self) -> None:
        stop = threading.Event()
        while self._running() and not stop.wait(POLL_SECONDS):
            if not self._in_fit() and self._running():
                self.fail("fit stopped with an exception before it finished "
                          "(Keras called no on_train_end)")
        self.frame = None  # let the frame (and what it holds) go
