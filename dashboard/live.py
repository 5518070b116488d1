"""The Train page's live panel: the active run's status, progress, curves and the embedding
table moving, read from the run store and redrawn every second while there is news."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.jobs import queue as jobs
from core.runs import naming
from core.store.headline import headline
from dashboard import progress_panel, services, widgets, word2vec_panel
from dashboard.charts import curves, evolution, maps
from dashboard.text import escape_html, escape_markdown


def preview(run):
    """The engine's newest 2-D frame of this run with the words' seen flags, or None."""
    return (services.show_errors(services.live_preview, run.run_id) if run.n_snapshots else None)


def draw(run, found) -> None:
    n = int(run.config.get("epochs", 0))
    st.subheader(f"Run `{run.run_id}` — {widgets.status_text(run.status)}")
    st.caption(escape_markdown(naming.run_summary(run, services.parents(run))))
    if run.status == "queued":
        if services.busy_slots():
            st.info("Waiting: another run is training now, and this machine trains one at a "
                    "time. This run starts as soon as that one ends.")
        else:
            st.info("Starting the training process…")
    elif run.status == "failed":
        st.error(f"Training failed: {run.error or 'no reason recorded'}")
    elif run.status == "cancelled":
        st.warning("Cancelled. The epochs finished before that are kept.")
    if run.info.get("size_warning"):
        st.warning(escape_markdown(f"Large run: {run.info['size_warning']}."))
    progress_panel.show(run)  # the preparation steps, the batch, the ETA
    if run.epochs:
        last, said = run.epochs[-1], headline(run)
        m = st.columns(3)
        acc = said["accuracy"]
        m[0].metric(f"Accuracy at epoch {said['epoch']}", "n/a" if acc is None else f"{acc:.1%}",
                    help=f"The chosen epoch ({said['chosen_on']}), as in the Runs list.")
        # a tracked run reports what its user logged: a missing number shows as n/a
        for col, (key, label) in zip(m[1:], (("val_loss", "Validation loss (last epoch)"),
                                             ("train_loss", "Training loss (last epoch)"))):
            col.metric(label, "n/a" if last.get(key) is None else format(last[key], ".3f"))
        if not word2vec_panel.is_word2vec(run):  # a word2vec run has no accuracy to place
            st.caption(f"Epoch {said['epoch']} chosen by {said['chosen_on']}; its accuracy "
                       f"measured on {said['scored_on']}.")
        left, right = st.columns(2)
        left.plotly_chart(curves.loss_figure(run.epochs, n))
        if word2vec_panel.is_word2vec(run):  # no classifier: word similarity instead
            with right:
                word2vec_panel.quality_panel(run)
        else:
            right.plotly_chart(curves.accuracy_figure([("validation accuracy", run.epochs)], n,
                                                       run.info.get("majority_baseline")))
    live_map(found, run)
    if run.status in services.LIVE and st.button("Cancel this run"):
        services.show_errors(services.cancel, run.run_id)
        st.info("Cancel requested; the run stops after the current batch.")


def live_map(found, run) -> None:
    """The embedding table itself, moving: the engine projects each new snapshot starting
    from the previous layout, so words glide as the loss pushes them."""
    if not found:
        return
    frame, seen, z = found
    label = "start" if frame.snapshot == 0 else f"snapshot {frame.snapshot}"
    classes = [str(c) for c in run.info.get("classes") or []]
    by_class = z is not None and len(classes) > 2  # as the Evolution page colours them
    colour = (evolution.class_colouring(pd.DataFrame(z, columns=[f"z_{c}" for c in classes]),
                                        classes, run.info.get("class_sizes"))
              if by_class else None)
    st.plotly_chart(maps.word_map(
        frame.coords, frame.words, seen, hover=[escape_html(w) for w in frame.words],
        title=f"Word vectors now — {label} ({frame.method.upper()}, {len(frame.words)} words)",
        colour=colour))
    st.caption("Each point is a row of the embedding layer. Words used in training move as the "
               "loss updates them; words never seen in training keep their start."
               + (" Colours: each word's class, the one whose training texts over-use it most "
                  "(grey: none does), as on the Evolution page." if by_class else
                  " Orange: never seen in training."))


def updating(run, found) -> bool:
    """Still worth polling: the run trains, or the engine has not drawn its last snapshot
    (``found``, the frame drawn now) yet: a fast run ends before its last live frame exists."""
    if run.status in services.LIVE:
        return True
    if not run.n_snapshots:
        return False
    return not found or found[0].snapshot < run.snapshots[-1]["idx"]


def live_panel(run_id: str) -> None:
    first = services.show_errors(services.store().get_run, run_id)
    if first is None:
        return
    live = updating(first, preview(first))

    @st.fragment(run_every=1.0 if live else None)
    def panel() -> None:
        # refresh, not get_run: a worker killed while the server is up turns into "failed"
        run = services.show_errors(jobs.refresh, services.store(), run_id)
        if run is None:
            return
        found = preview(run)  # read once per redraw, for the map and the polling rule
        draw(run, found)
        if live and not updating(run, found):
            st.rerun()  # draw once more without the timer

    panel()
