"""The Evolution page's picture: its frames, colourings, hover texts and the payload the
browser keeps, built once per (run, frames state, words shown) and kept per server process,
shared read-only by every session. Building it took 1.9 s for 5,000 words x 11 frames (under
load, bench/README.md "Pages") on every visit; a switch back to Evolution now reuses it."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import streamlit as st

from core.runs.evolution import FramesSoFar, frames_so_far, progress_token
from core.runs.views import WordFrames
from dashboard import run_reads, services
from dashboard.charts import evolution
from dashboard.components import evolution_chart
from dashboard.text import escape_html, join_words


@dataclass(frozen=True, eq=False)
class Picture:
    """What the page draws for one state of a run's frames: ``base`` is the payload
    (``evolution_chart.payload``); ``options`` the colourings' names, default first."""

    evo: WordFrames
    labels: list[str]
    shown: list[str]
    counts: np.ndarray
    seen: np.ndarray
    options: list[str]
    layers: list[dict]
    under: np.ndarray
    texts: list[list[str]]
    once: list[str]
    animate: bool
    has_updates: bool
    base: tuple[str, bytes]

    def figure(self, colour: int, focus: list[int], frame: int):
        """The plotly figure (the HTML download, and the payload's figure)."""
        evo = self.evo
        return evolution.evolution_figure(
            evo.coords, self.shown, self.labels, self.texts, self.layers[colour], focus,
            frame=frame, animate=self.animate, trust=(evo.trust, evo.trust_final,
                                                      evo.trust_previous),
            static_hover=self.once, under=self.under)


def picture(run_id: str, all_words: bool, extra: tuple[str, ...]
            ) -> tuple[FramesSoFar, Picture | None]:
    """The frames so far (``core.runs.evolution.frames_so_far``) and, once there are any,
    their picture; computed again only when the run's frames, status or views change."""
    token = progress_token(services.store(), run_id, all_words)
    return _picture(run_id, all_words, extra, token)


@st.cache_resource(show_spinner="Preparing the picture…", max_entries=4)
def _picture(run_id: str, all_words: bool, extra: tuple[str, ...], token: tuple
             ) -> tuple[FramesSoFar, Picture | None]:
    got = frames_so_far(services.store(), run_id, extra, all_words=all_words)
    return got, None if got.frames is None else _build(run_id, got.frames)


def _build(run_id: str, evo: WordFrames) -> Picture:
    from core.runs import naming
    from core.runs.comparison import class_association
    from core.runs.updates import updates_per_frame

    store = services.store()
    run, vocab = store.get_run(run_id), store.load_vocab(run_id)
    words, n_frames = evo.words, len(evo.coords)
    labels = naming.epoch_labels(run)[:n_frames]
    best = run.best()  # the epoch with the lowest validation loss, marked on the slider
    for i, snap in enumerate(run.snapshots[:n_frames]):
        if best and snap["idx"] == best["snapshot"]:
            labels[i] += " (best)"
    counts = vocab.set_index("token")["train_count"].reindex(words).fillna(0).to_numpy(int)
    known = run.info.get("counts_known", True)  # a tracked run may not have given its counts
    seen = counts > 0 if known else counts >= 0
    classes = [str(c) for c in run.info.get("classes", [])]
    comp = run_reads.comparison(run_id)
    tables = [] if comp is None else [t.set_index("word").reindex(words) for t in comp.words]
    updates = updates_per_frame(store, run_id, evo.rows, n_frames)
    association = class_association(vocab, classes).set_index(vocab["token"].astype(str))
    options = evolution.evolution_colours(tables, n_frames, classes, seen, counts, updates,
                                          run.info.get("class_sizes"),
                                          association.reindex(words), known)
    layers = [evolution.colour_layer(colour, len(words)) for colour in options.values()]
    shown = [escape_html(w) for w in words]
    once = [f"<b>{w}</b> · " + (f"trained on {c:,}×" if known else "training count not "
                                "recorded") for w, c in zip(shown, counts)]
    texts = [_hover(tables, t, len(words)) for t in range(n_frames)]
    animate = len(words) <= evolution.MAX_ANIMATED and n_frames > 1
    picture = Picture(evo, labels, shown, counts, seen, list(options), layers,
                      evolution.no_value(layers), texts, once, animate, updates is not None,
                      ("", b""))
    trust = (evo.trust, evo.trust_final, evo.trust_previous)
    positions = None if animate else evolution.frame_positions(
        evo.coords, texts, picture.under, labels, trust)
    return dataclasses.replace(picture, base=evolution_chart.payload(
        picture.figure(0, [], -1), layers, n_frames - 1, positions))


def _hover(tables: list, t: int, n_words: int) -> list[str]:
    """Per frame: each word's nearest words in THIS snapshot."""
    near = tables[min(t, len(tables) - 1)]["neighbors"] if tables else [None] * n_words
    return [f"nearest now: {escape_html(join_words(nb, 3))}" if isinstance(nb, list)
            else "" for nb in near]
