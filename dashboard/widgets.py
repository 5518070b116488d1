"""Small presentation helpers shared by the views: plotly figures of values core computed,
and formatting. No maths here: every number shown comes from core or the run store."""
from __future__ import annotations

import time
from typing import Any, Sequence

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import charts

# Material icons, not emoji: they render without an emoji font (headless/minimal systems).
STATUS_ICON = {"queued": ":material/hourglass_top:", "running": ":material/directions_run:",
               "done": ":material/check_circle:", "failed": ":material/error:",
               "cancelled": ":material/cancel:"}
# Legend under the plot: above it, it collides with the title.
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), height=340,
               legend=dict(orientation="h", yanchor="top", y=-0.25, x=0))


def status_text(status: str) -> str:
    """Status with its icon, for Markdown (headings, captions); tables show the plain word."""
    return f"{STATUS_ICON.get(status, '')} {status}"


def when(timestamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp)) if timestamp else ""


def init_name(config: dict[str, Any]) -> str:
    """'random', 'glove', 'word2vec (cbow)' or the vector file's name."""
    init = str(config.get("init", ""))
    if init == "word2vec":
        return f"word2vec ({config.get('w2v_algorithm', 'skipgram')})"
    if init in ("random", "glove"):
        return init
    return "file: " + init.rsplit("/", 1)[-1]


def class_balance_figure(summary: pd.DataFrame) -> go.Figure:
    """Bar chart of core.data.loading.dataset_summary (class, count, share)."""
    fig = go.Figure(go.Bar(x=[charts.text(c) for c in summary["class"]], y=summary["count"],
                           text=[f"{s:.0%}" for s in summary["share"]],
                           marker_color=charts.class_colours(len(summary)),
                           textposition="outside", cliponaxis=False))
    fig.update_layout(title="Examples per class", yaxis_title="texts", **_LAYOUT)
    return fig


def _epoch_lines(fig: go.Figure, epochs: Sequence[dict], keys: Sequence[tuple[str, str]],
                 prefix: str = "", colours: Sequence[str] = charts.PALETTE) -> go.Figure:
    x = [e["epoch"] for e in epochs]
    for (key, name), colour in zip(keys, colours):
        fig.add_trace(go.Scatter(x=x, y=[e.get(key) for e in epochs], mode="lines+markers",
                                 name=charts.text(prefix + name), line=dict(color=colour),
                                 marker=dict(size=8)))
    return fig


def _padded(values: Sequence[float], low: float | None = None,
            high: float | None = None) -> list[float] | None:
    """A y range around the values with 10 % (at least 0.02) room, clipped to [low, high]:
    one epoch is one point, which plotly's autorange spreads over a meaningless span."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    lo, hi = min(values), max(values)
    pad = max((hi - lo) * 0.1, 0.02)
    lo, hi = lo - pad, hi + pad
    return [lo if low is None else max(low, lo), hi if high is None else min(high, hi)]


def loss_figure(epochs: Sequence[dict], n_epochs: int) -> go.Figure:
    fig = _epoch_lines(go.Figure(), epochs, [("train_loss", "training loss"),
                                             ("val_loss", "validation loss")])
    losses = [e.get(k) for e in epochs for k in ("train_loss", "val_loss")]
    fig.update_layout(title="Loss per epoch", xaxis_title="epoch", yaxis_title="cross-entropy",
                      yaxis_range=_padded(losses, low=0.0), **_LAYOUT)
    fig.update_xaxes(range=[0.5, max(n_epochs, 1) + 0.5], dtick=1 if n_epochs <= 20 else None)
    return fig


def accuracy_figure(runs: Sequence[tuple[str, Sequence[dict]]], n_epochs: int,
                    baseline: float | None = None) -> go.Figure:
    """Validation accuracy per epoch; one line per (name, epochs) pair; ``baseline`` (the
    share of the most frequent validation class) dashed: the accuracy of always guessing it."""
    fig = go.Figure()
    for (name, epochs), colour in zip(runs, charts.PALETTE):  # one distinct colour per run
        _epoch_lines(fig, epochs, [("val_accuracy", name)], colours=[colour])
    accuracies = [e.get("val_accuracy") for _, epochs in runs for e in epochs]
    if baseline is not None:
        fig.add_hline(y=baseline, line=dict(color="grey", dash="dash", width=1))
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", hoverinfo="skip",
                                 line=dict(color="grey", dash="dash", width=1),
                                 name=f"majority class ({baseline:.1%}: always guessing it)"))
        accuracies.append(baseline)
    fig.update_layout(title="Validation accuracy per epoch", xaxis_title="epoch",
                      yaxis_title="validation accuracy", yaxis_tickformat=".1%",
                      yaxis_range=_padded(accuracies, 0.0, 1.0), showlegend=True, **_LAYOUT)
    fig.update_xaxes(range=[0.5, max(n_epochs, 1) + 0.5], dtick=1 if n_epochs <= 20 else None)
    return fig


def _share(x: float | None) -> str:
    return "" if x is None else f"{x:.1%}"


def run_numbers(run, pretty: bool = False) -> dict[str, Any]:
    """Key facts of a stored run (RunInfo) as a flat dict for tables; ``pretty`` gives text
    (percentages, seconds) for a side-by-side table of mixed rows."""
    cfg, info = run.config, run.info
    acc = [e["val_accuracy"] for e in run.epochs]
    cov = info.get("pretrained_coverage") or {}
    out = {
        "run": run.run_id, "status": run.status, "created": when(run.created),
        "init": init_name(cfg), "arch": cfg.get("arch"), "dim": info.get("dim", cfg.get("dim")),
        "frozen": bool(cfg.get("freeze")), "epochs": f"{len(run.epochs)}/{cfg.get('epochs')}",
        "final val accuracy": acc[-1] if acc else None,
        "best val accuracy": max(acc) if acc else None,
        "training texts": info.get("n_train"), "vocabulary": info.get("vocab_size"),
        "GloVe token coverage": cov.get("token_share"),
        "seconds": info.get("train_seconds"), "error": run.error or "",
    }
    if pretty:
        for key in ("final val accuracy", "best val accuracy", "GloVe token coverage"):
            out[key] = _share(out[key])
        out["seconds"] = "" if out["seconds"] is None else f"{out['seconds']:.1f} s"
        out = {k: "" if v is None else str(v) for k, v in out.items()}
    return out


def vector_file_picker(key: str) -> dict[str, Any] | None:
    """Upload a word-vector file, checked once by core (pickle formats refused); returns
    its description (name, path, words, dim) or None. The checked file is shared by the
    pages that offer it (Train, Experiments)."""
    from core.vectors.pretrained import ACCEPTED_FORMATS
    from dashboard import services, state

    up = st.file_uploader("Word-vector file", key=key,
                          help=f"Accepted: {ACCEPTED_FORMATS}. Pickle-based files are refused.")
    if up is not None and up.file_id != state.get(state.VECTORS_FILE_ID):
        # the previous result goes first and the file counts as checked only once its
        # result is stored: a rerun cutting the check short must not leave the previous
        # file's "success" standing for this one
        state.put(state.VECTORS, None)
        with st.spinner("Checking the vector file…"):
            result = services.check_vectors_upload(up.name, up.getvalue())
        state.put(state.VECTORS, result)
        state.put(state.VECTORS_FILE_ID, up.file_id)
    vectors = state.get(state.VECTORS)
    if vectors and "error" in vectors:
        st.error(services.plain(vectors["error"]))
        return None
    if vectors:
        st.success(f"{services.plain(vectors['name'])}: {vectors['words']:,} words × "
                   f"{vectors['dim']} dimensions")
    return vectors
