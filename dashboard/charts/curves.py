"""Lines over epochs, snapshots and training sizes: loss and accuracy per epoch, the
comparison's measures, the few-shot learning curves, general vs task semantics."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.analysis.measures import MIN_RELIABLE_PAIRS
from dashboard.charts.style import LINES, MAP, PALETTE, SMALL
from dashboard.text import escape_html


# ---------------------------------------------------------------------------- epochs
def _epoch_lines(fig: go.Figure, epochs: Sequence[dict], keys: Sequence[tuple[str, str]],
                 prefix: str = "", colours: Sequence[str] = PALETTE) -> go.Figure:
    x = [e["epoch"] for e in epochs]
    for (key, name), colour in zip(keys, colours):
        fig.add_trace(go.Scatter(x=x, y=[e.get(key) for e in epochs], mode="lines+markers",
                                 name=escape_html(prefix + name), line=dict(color=colour),
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


def _say_missing(fig: go.Figure, metric: str, names: Sequence[str]) -> None:
    """Write on the chart which runs did not record ``metric`` (a tracked run fitted without
    validation data): an empty chart must not look like a broken one."""
    if names:
        fig.add_annotation(text=escape_html(f"{metric} not recorded: {', '.join(names)}"),
                           xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False)


def loss_figure(epochs: Sequence[dict], n_epochs: int) -> go.Figure:
    fig = _epoch_lines(go.Figure(), epochs, [("train_loss", "training loss"),
                                             ("val_loss", "validation loss")])
    losses = [e.get(k) for e in epochs for k in ("train_loss", "val_loss")]
    _say_missing(fig, "loss", [] if any(v is not None for v in losses) else ["this run"])
    fig.update_layout(title="Loss per epoch", xaxis_title="epoch", yaxis_title="cross-entropy",
                      yaxis_range=_padded(losses, low=0.0) or [0.0, 1.0], **SMALL)
    fig.update_xaxes(range=[0.5, max(n_epochs, 1) + 0.5], dtick=1 if n_epochs <= 20 else None)
    return mark_best_epoch(fig, epochs)


def accuracy_figure(runs: Sequence[tuple[str, Sequence[dict]]], n_epochs: int,
                    baseline: float | None = None) -> go.Figure:
    """Validation accuracy per epoch; one line per (name, epochs) pair; ``baseline`` (the
    share of the most frequent validation class) dashed: the accuracy of always guessing it."""
    fig = go.Figure()
    for (name, epochs), colour in zip(runs, PALETTE):  # one distinct colour per run
        _epoch_lines(fig, epochs, [("val_accuracy", name)], colours=[colour])
    accuracies = [e.get("val_accuracy") for _, epochs in runs for e in epochs]
    _say_missing(fig, "validation accuracy", [name for name, epochs in runs if all(
        e.get("val_accuracy") is None for e in epochs)])
    if baseline is not None:
        fig.add_hline(y=baseline, line=dict(color="grey", dash="dash", width=1))
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", hoverinfo="skip",
                                 line=dict(color="grey", dash="dash", width=1),
                                 name=f"majority class ({baseline:.1%}: always guessing it)"))
        accuracies.append(baseline)
    fig.update_layout(title="Validation accuracy per epoch", xaxis_title="epoch",
                      yaxis_title="validation accuracy", yaxis_tickformat=".1%",
                      yaxis_range=_padded(accuracies, 0.0, 1.0) or [0.0, 1.0], showlegend=True,
                      **SMALL)
    fig.update_xaxes(range=[0.5, max(n_epochs, 1) + 0.5], dtick=1 if n_epochs <= 20 else None)
    # one run: its best epoch marked (two runs' best epochs on one axis would be ambiguous)
    return mark_best_epoch(fig, runs[0][1]) if len(runs) == 1 else fig


# ---------------------------------------------------------------------------- measures
MEASURES = (("mean_jaccard", "mean Jaccard@k with {space}"), ("cka", "CKA with {space}"),
            ("wordsim353_rho", "WordSim353 ρ"), ("simlex999_rho", "SimLex999 ρ"),
            ("val_accuracy", "validation accuracy"))


def _measure_traces(table: pd.DataFrame, key: str, name: str, colour: str,
                    x: Sequence[str]) -> list:
    """One measure per snapshot. A benchmark's rho comes with its 95 % interval and its
    number of pairs; under ``MIN_RELIABLE_PAIRS`` pairs only a legend entry says "too few
    pairs (n)": a line from so few pairs would read as a finding."""
    if key not in table:
        return []
    if not key.endswith("_rho"):
        if key in ("mean_jaccard", "jaccard_at_k", "cka") and "n_words" in table:
            name = f"{name} (over {int(table['n_words'].iloc[-1]):,} words)"
        return [go.Scatter(x=list(x), y=table[key], mode="lines+markers", name=name,
                           line=dict(color=colour))] if table[key].notna().any() else []
    bench = key[: -len("_rho")]
    n = int(np.nanmax(table[f"{bench}_found"])) if f"{bench}_found" in table else 0
    if n < MIN_RELIABLE_PAIRS:
        return [go.Scatter(x=[x[0]], y=[None], mode="lines", line=dict(color=colour),
                           name=f"{name}: too few pairs ({n})", hoverinfo="skip")]
    if not table[key].notna().any():
        return []
    rho = table[key].to_numpy(float)
    return [go.Scatter(x=list(x), y=rho, mode="lines+markers", line=dict(color=colour),
                       name=f"{name} ({n} pairs; bars: 95 % interval)",
                       error_y=dict(type="data", symmetric=False, thickness=1,
                                    array=table[f"{bench}_high"].to_numpy(float) - rho,
                                    arrayminus=rho - table[f"{bench}_low"].to_numpy(float)))]


def _reference_rho(x: Sequence[str], score: dict | None, name: str, colour: str) -> list:
    """GloVe's own rho on the same pairs, dashed, if it rests on enough pairs."""
    score = score or {}
    rho, n = score.get("rho"), int(score.get("n_found") or 0)
    if rho is None or not np.isfinite(rho) or n < MIN_RELIABLE_PAIRS:
        return []
    return [go.Scatter(x=[x[0], x[-1]], y=[rho, rho], mode="lines", name=f"{name} ({n} pairs)",
                       line=dict(color=colour, dash="dash", width=1))]


def measures_figure(snapshots: pd.DataFrame, reference: dict, labels: Sequence[str],
                    space: str = "GloVe") -> go.Figure:
    """The comparison's global measures per snapshot; the compared ``space``'s own
    word-similarity scores on the same words as dashed reference lines."""
    fig = go.Figure()
    for (key, name), colour in zip(MEASURES, PALETTE):
        fig.add_traces(_measure_traces(snapshots, key, name.format(space=space), colour, labels))
    for key, name, colour in (("wordsim353", f"WordSim353 ρ of {space}", PALETTE[2]),
                              ("simlex999", f"SimLex999 ρ of {space}", PALETTE[3])):
        fig.add_traces(_reference_rho(labels, reference.get(key), name, colour))
    fig.update_layout(title=f"Learned space vs {space} over training", yaxis_title="score",
                      **{**MAP, "height": 380, "plot_bgcolor": None,
                         "legend": dict(orientation="h", y=-0.15)})
    return fig


# ---------------------------------------------------------------------------- experiments
def init_label(init: object) -> str:
    """A start's name for a legend: a vector file by its file name, not its full path."""
    name = str(init)
    return escape_html(f"file {Path(name).name}" if "/" in name else name)


def size_label(size: str, n_train: float) -> str:
    """'100', or 'all (400)' for the whole training pool."""
    return f"all ({int(n_train):,})" if str(size) == "all" else str(size)


def mark_best_epoch(fig: go.Figure, epochs: Sequence[dict]) -> go.Figure:
    """A dotted vertical line at the best epoch (lowest validation loss: the rule
    ``RunInfo.best`` applies) labelled "best epoch N"; when the last epoch's row says the
    run stopped early, the title says so."""
    from core.store.records import best_epoch

    best = best_epoch(list(epochs), [])
    if best is not None:
        fig.add_vline(x=best["epoch"], line=dict(color="grey", dash="dot", width=1),
                      annotation_text=f"best epoch {best['epoch']}",
                      annotation_position="top")
    if epochs and epochs[-1].get("stopped_early"):
        fig.update_layout(title=f"{fig.layout.title.text or ''} (stopped early at epoch "
                                f"{int(epochs[-1]['epoch'])})")
    return fig


def learning_curve_figure(summary: pd.DataFrame, prefix: str = "acc",
                          title: str = "Validation accuracy (at each run's best epoch) vs "
                                       "training size",
                          baseline: float | None = None) -> go.Figure:
    """One line per init over the training size (log x): mean over seeds with its 95 %
    interval as error bars (none with a single seed); ``baseline`` (always guessing the most
    frequent validation class) dashed."""
    fig = go.Figure()
    for n, (init, rows) in enumerate(summary.groupby("init", sort=False)):
        rows = rows.sort_values("n_train")
        mean = rows[f"{prefix}_mean"].to_numpy(dtype=float)
        up = np.nan_to_num(rows[f"{prefix}_high"].to_numpy(dtype=float) - mean)
        down = np.nan_to_num(mean - rows[f"{prefix}_low"].to_numpy(dtype=float))
        fig.add_trace(go.Scatter(
            x=rows["n_train"].astype(float).tolist(), y=mean.tolist(),
            mode="lines+markers", name=init_label(init),
            line=dict(color=PALETTE[n % len(PALETTE)]),
            error_y=dict(type="data", symmetric=False, array=up.tolist(),
                         arrayminus=down.tolist(), visible=bool(up.any())),
            customdata=[[size_label(s, t), int(r)] for s, t, r in
                        zip(rows["size"], rows["n_train"], rows["runs"])],
            hovertemplate="%{fullData.name}<br>size %{customdata[0]}: %{y:.1%} "
                          "(mean of %{customdata[1]} runs)<extra></extra>"))
    if baseline is not None:
        fig.add_hline(y=baseline, line=dict(color="grey", dash="dash", width=1))
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", hoverinfo="skip",
                                 line=dict(color="grey", dash="dash", width=1),
                                 name=f"majority class ({baseline:.1%})"))
    fig.update_layout(title=title, xaxis_title="training texts (log scale)",
                      yaxis_title="accuracy", yaxis_tickformat=".0%", **LINES)
    ticks = summary.drop_duplicates("n_train").sort_values("n_train")  # ticks at the sizes run
    fig.update_xaxes(type="log", tickvals=ticks["n_train"].astype(float).tolist(),
                     ticktext=[size_label(s, t) for s, t in zip(ticks["size"], ticks["n_train"])])
    return fig


def unseen_figure(summary: pd.DataFrame) -> go.Figure:
    """Accuracy on the validation documents whose key words never occur in training, bars per
    init and size, each labelled with how many documents that subset holds."""
    fig = go.Figure()
    for n, (init, rows) in enumerate(summary.groupby("init", sort=False)):
        rows = rows.sort_values("n_train")
        spread = rows["unseen_std"].fillna(0).to_numpy(dtype=float)
        fig.add_trace(go.Bar(
            x=[size_label(s, t) for s, t in zip(rows["size"], rows["n_train"])],
            y=rows["unseen_mean"].astype(float).tolist(), name=init_label(init),
            marker_color=PALETTE[n % len(PALETTE)],
            error_y=dict(type="data", array=spread.tolist(), visible=bool(spread.any())),
            text=[f"n={m:.0f}" if np.isfinite(m) else "n=0"
                  for m in rows["n_unseen_mean"].astype(float)],
            textposition="outside", cliponaxis=False,
            hovertemplate="%{fullData.name}, size %{x}: %{y:.1%} on %{text} documents"
                          "<extra></extra>"))
    fig.update_layout(title="Accuracy on documents whose key words never occur in training",
                      xaxis_title="training texts", yaxis_title="accuracy", barmode="group",
                      yaxis_tickformat=".0%", xaxis_type="category", **LINES)
    return fig


# ---------------------------------------------------------------------------- semantics
SEMANTICS = (("wordsim353_rho", "WordSim353 ρ"), ("simlex999_rho", "SimLex999 ρ"),
             ("jaccard_at_k", "Jaccard@k with GloVe"), ("cka", "CKA with GloVe"))


def semantics_figure(table: pd.DataFrame, labels: Sequence[str]) -> go.Figure:
    """core.runs.semantics.semantics_over_epochs per snapshot: the task (validation accuracy, thick)
    next to the general-semantics measures; GloVe's own benchmark scores dashed."""
    fig = go.Figure()
    x = list(labels)
    for (key, name), colour in zip(SEMANTICS, PALETTE[1:]):
        fig.add_traces(_measure_traces(table, key, name, colour, x))
    for key, name, colour in (("wordsim353", "WordSim353 ρ of GloVe", PALETTE[1]),
                              ("simlex999", "SimLex999 ρ of GloVe", PALETTE[2])):
        fig.add_traces(_reference_rho(x, {"rho": float(table[f"{key}_rho_reference"].iloc[0]),
                                          "n_found": int(table[f"{key}_found"].max())},
                                      name, colour))
    fig.add_trace(go.Scatter(x=x, y=table["val_accuracy"], mode="lines+markers",
                             name="validation accuracy (the task)", connectgaps=True,
                             line=dict(color="black", width=4)))
    fig.update_layout(title="The task vs general word semantics, per epoch", yaxis_title="score",
                      **LINES)
    return fig


def pair_figure(pairs: pd.DataFrame, labels: Sequence[str]) -> go.Figure:
    """Cosine similarity of each word pair per snapshot in the learned space (solid) and in
    GloVe (dashed, constant), one colour per pair."""
    fig = go.Figure()
    steps = sorted(pairs["snapshot"].unique())
    x = [labels[i] if i < len(labels) else str(s) for i, s in enumerate(steps)]
    for n, ((a, b), rows) in enumerate(pairs.groupby(["word_a", "word_b"], sort=False)):
        colour = PALETTE[n % len(PALETTE)]
        fig.add_trace(go.Scatter(x=x, y=rows.sort_values("snapshot")["cosine"],
                                 name=f"{escape_html(a)} / {escape_html(b)}",
                                 mode="lines+markers", line=dict(color=colour)))
        ref = float(rows["cosine_glove"].iloc[0])
        if np.isfinite(ref):
            fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[ref, ref], mode="lines",
                                     name=f"{escape_html(a)} / {escape_html(b)} in GloVe",
                                     line=dict(color=colour, dash="dash", width=1)))
    fig.update_layout(title="Word-pair similarity over training", yaxis_title="cosine",
                      yaxis_range=[-1.05, 1.05], **LINES)
    return fig
