"""A run's progress from its first second: the preparation steps (each with its own time and,
where it can be counted, its fraction), the batch within the epoch, and an ETA for the whole
run.

``StoreProgress`` is a trainer callback (``TrainEvent``) that records this in the run's info
(``info["live"]``), a few times a second at most; ``describe`` turns that record, the epochs
written and the run's status into what a progress bar shows. Both are torch-free.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

STAGES = (("worker", "Starting the training process"), ("reading", "Reading the data"),
          ("tokenising", "Tokenising the texts"), ("vocabulary", "Splitting, building the vocabulary"),
          ("pretrained", "Looking up pretrained vectors"), ("snapshot", "First snapshot"))
TRAINING = "training"  # the stage event that ends preparation: the first update is next
WRITE_EVERY = 0.5  # seconds between batch/fraction writes (a stage change always writes)


class StoreProgress:
    """Writes a run's stages and batch progress into ``info["live"]``; ``clock``: wall time
    (the page compares it with its own). Other events are passed on to ``then``."""

    def __init__(self, store, run_id: str, then: Callable | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store, self.run_id, self.then, self.clock = store, run_id, then, clock
        self.live: dict[str, Any] = {"stages": {}, "stage": None}
        self.written_at = float("-inf")

    def stage(self, name: str, fraction: float | None = None) -> None:
        """Enter stage ``name`` (or report its ``fraction`` done); the previous one ends."""
        now, current = self.clock(), self.live["stage"]
        stages = self.live["stages"]
        if name != current:
            if current is not None:
                _close(stages[current], now)
            entry = stages.setdefault(name, {"seconds": 0.0, "fraction": None})
            entry["since"] = now
            self.live["stage"] = name
            if name == TRAINING:
                self.live["training_since"] = now
        if fraction is not None:
            stages[name]["fraction"] = round(float(fraction), 4)
        self._write(now, force=name != current)

    def __call__(self, event) -> None:
        if event.kind == "stage":
            self.stage(event.data["stage"], event.data.get("fraction"))
        elif event.kind == "batch":
            self.live.update(epoch=event.epoch, batch=event.data["batch"],
                             n_batches=event.data["n_batches"])
            # an epoch's last batch always writes: a fast epoch may end between two writes
            self._write(self.clock(), force=event.data["batch"] == event.data["n_batches"])
        if self.then is not None:
            self.then(event)

    def _write(self, now: float, force: bool) -> None:
        if force or now - self.written_at >= WRITE_EVERY:
            self.written_at = now
            self.store.update_info(self.run_id, live={**self.live, "updated": now})


def _close(entry: dict, now: float) -> None:
    since = entry.pop("since", None)
    if since is not None:
        entry["seconds"] = round(entry["seconds"] + now - since, 3)


@dataclass(frozen=True)
class Step:
    label: str
    state: str  # done | running | skipped | waiting
    seconds: float | None
    fraction: float | None  # of this step, when it can be counted


@dataclass(frozen=True)
class RunProgress:
    fraction: float  # of the whole run, 0..1
    text: str
    eta_seconds: float | None
    steps: tuple[Step, ...]
    preparing: bool


def _steps(live: dict, now: float) -> tuple[Step, ...]:
    """Each preparation step: done, running, skipped (a later one began without it: e.g.
    tokenising, when the texts' tokens were cached) or waiting."""
    stages, current = live.get("stages", {}), live.get("stage")
    names = [name for name, _ in STAGES]
    reached = len(names) if current == TRAINING else (
        names.index(current) if current in names else -1)
    steps = []
    for i, (name, label) in enumerate(STAGES):
        entry = stages.get(name)
        if entry is None:
            steps.append(Step(label, "skipped" if i < reached else "waiting", None, None))
            continue
        running = name == current
        seconds = entry["seconds"] + (now - entry["since"] if running else 0.0)
        steps.append(Step(label, "running" if running else "done", max(seconds, 0.0),
                          entry.get("fraction")))
    return tuple(steps)


def _epoch_fraction(live: dict, done: int) -> float:
    """How much of the epoch after the ``done`` finished ones has been trained."""
    if live.get("epoch") != done + 1 or not live.get("n_batches"):
        return 0.0
    return min(live["batch"] / live["n_batches"], 1.0)


def describe(live: dict | None, done: int, epochs: int, status: str,
             stopped_early: bool = False, now: float | None = None) -> RunProgress:
    """What the progress bar shows for a run with ``done`` of ``epochs`` epochs written.
    A finished run is at 100 % (early stopping included); the ETA extrapolates the time
    since the first update over the part of the run trained."""
    now, live = time.time() if now is None else now, live or {}
    steps = _steps(live, now)
    preparing = status == "running" and live.get("stage") != TRAINING and done == 0
    if status == "done":
        text = f"Epoch {done}/{epochs}" + (" — stopped early: the validation loss stopped "
                                           "improving" if stopped_early else " — done")
        return RunProgress(1.0, text, None, steps, False)
    part = _epoch_fraction(live, done)
    fraction = min((done + part) / max(epochs, 1), 1.0)
    eta = None
    since = live.get("training_since")
    if status == "running" and since is not None and fraction > 0:
        eta = max((now - since) * (1 - fraction) / fraction, 0.0)
    text = f"Epoch {done}/{epochs}"
    if part:
        text += f" — epoch {done + 1}: batch {live['batch']}/{live['n_batches']}"
    return RunProgress(fraction, text, eta, steps, preparing)
