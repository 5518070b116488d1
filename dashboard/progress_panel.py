"""The Train page's progress: each preparation step with its own time (and fraction, where
it can be counted), the batch within the epoch, an ETA for the whole run, and 100 % once a
run is done (early stopping included). The numbers come from ``core.training.progress``."""
from __future__ import annotations

import streamlit as st

from core.training.progress import describe
from dashboard.text import seconds_text

_MARK = {"done": "✓", "running": "…", "skipped": "–", "waiting": " "}


def _step_line(step) -> str:
    parts = [f"{_MARK[step.state]} {step.label}"]
    if step.state == "skipped":
        parts.append("(not needed: already cached)")
    if step.fraction is not None and step.state == "running":
        parts.append(f"{step.fraction:.0%}")
    if step.seconds is not None:
        parts.append(seconds_text(step.seconds) if step.seconds >= 0.001 else "0 s")
    return " ".join(parts)


def show(run) -> None:
    """The bar, its text and, while the run prepares, every preparation step."""
    n = int(run.config.get("epochs", 0))
    shown = describe(run.info.get("live"), len(run.epochs), n, run.status,
                     stopped_early=bool(run.info.get("stopped_early")))
    if shown.preparing:
        running = next((s for s in shown.steps if s.state == "running"), None)
        st.info("Preparing: " + (running.label.lower() if running else "starting") + "…")
        st.code("\n".join(_step_line(s) for s in shown.steps), language=None)
    text = shown.text
    if shown.eta_seconds is not None:
        text += f" — about {seconds_text(shown.eta_seconds)} to go"
    st.progress(shown.fraction, text=text)
