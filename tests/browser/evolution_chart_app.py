"""A page with only the Evolution map (dashboard/components/evolution_chart) over synthetic
words, for the browser test of snapshot switching and for bench/bench_evolution_browser.py:
``EVO_WORDS`` words x ``EVO_FRAMES`` snapshots drifting apart, drawn as the Evolution page
draws them (animated up to ``evolution.MAX_ANIMATED`` words, else a snapshot slider).

    streamlit run tests/browser/evolution_chart_app.py   (with EVO_WORDS, EVO_FRAMES set)
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from dashboard.charts import evolution  # noqa: E402
from dashboard.components import evolution_chart  # noqa: E402

N_WORDS = int(os.environ.get("EVO_WORDS", "6000"))
N_FRAMES = int(os.environ.get("EVO_FRAMES", "3"))


@st.cache_resource
def built(n_words: int, n_frames: int) -> tuple[tuple[str, bytes], np.ndarray, list, bool, float]:
    """(payload, coords, labels, animated, seconds to build) of the synthetic picture."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(40, 2)) * 5
    start = centres[rng.integers(0, 40, n_words)] + rng.normal(size=(n_words, 2))
    drift = rng.normal(size=(n_words, 2)) * 0.3
    coords = np.stack([start + t * drift for t in range(n_frames)]).astype(np.float32)
    labels = ["start"] + [f"epoch {t}" for t in range(1, n_frames)]
    words = [f"w{i}" for i in range(n_words)]
    hover = [["" for _ in words] for _ in range(n_frames)]
    values = np.where(rng.random(n_words) < 0.1, np.nan, rng.random(n_words))  # 10 % grey
    layers = [evolution.colour_layer(evolution.Colour(
        "f", np.tile(values, (n_frames, 1)), mid=None), n_words)]
    under = evolution.no_value(layers)
    animate = n_words <= evolution.MAX_ANIMATED
    figure = evolution.evolution_figure(coords, words, labels, hover, layers[0],
                                        animate=animate, static_hover=words, under=under)
    positions = None if animate else evolution.frame_positions(coords, hover, under, labels)
    base = evolution_chart.payload(figure, layers, n_frames - 1, positions)
    return base, coords, labels, animate, time.perf_counter() - t0


base, coords, labels, animate, seconds = built(N_WORDS, N_FRAMES)
st.caption(f"{N_WORDS:,} words x {N_FRAMES} snapshots; payload {len(base[1]):,} bytes, built "
           f"in {seconds:.2f} s")
frame = -1
if not animate:
    frame = labels.index(st.select_slider("Snapshot", labels, value=labels[-1], key="snap"))
evolution_chart.evolution_chart(base, 0, evolution.evolution_overlay(coords, [], labels),
                                key="map", frame=frame)
