"""The Lookup table view: rows of the embedding table as a heatmap, the cost of a lookup
against a one-hot product, one line per token of a text."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.text import escape_html, seconds_text, size_text

def lookup_heatmap(values: np.ndarray, labels: Sequence[str], title: str,
                   pooled: np.ndarray | None = None, pooled_title: str = "") -> go.Figure:
    """Rows of the embedding table (one per label, first on top; columns = dimensions) and,
    under them on the same dimensions and colours, the ``pooled`` vector the next layer
    receives. Diverging scale symmetric around 0. ``labels`` are user text: escaped here."""
    from plotly.subplots import make_subplots

    values = np.asarray(values, dtype=float)
    shown, n = [escape_html(label) for label in labels], len(values)
    extra = pooled is not None
    height = 20 * n + 110 + 80 * extra
    fig = make_subplots(rows=1 + extra, cols=1, shared_xaxes=True,
                        vertical_spacing=50 / height,  # room for the second title, in pixels
                        row_heights=[n, 1.5] if extra else None,
                        subplot_titles=("", pooled_title) if extra else None)
    dims = list(range(values.shape[1]))
    hover = "%{y}<br>dimension %{x}: %{z:.3f}<extra></extra>"
    fig.add_trace(go.Heatmap(z=values, y=shown, x=dims, coloraxis="coloraxis",
                             hovertemplate=hover), row=1, col=1)
    if extra:
        fig.add_trace(go.Heatmap(z=np.asarray(pooled, dtype=float)[None, :], y=["mean"], x=dims,
                                 coloraxis="coloraxis", hovertemplate=hover), row=2, col=1)
    limit = float(np.abs(values).max() or 1.0)
    fig.update_layout(title=title, plot_bgcolor=None, margin=dict(l=10, r=10, t=40, b=10),
                      coloraxis=dict(colorscale="RdBu", reversescale=True, cmin=-limit,
                                     cmax=limit, colorbar=dict(thickness=10)),
                      height=height)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title_text="dimension", row=1 + extra, col=1)
    return fig


def cost_table(costs: Sequence[Any]) -> pd.DataFrame:
    """core.analysis.lookup.Cost per table size as a column (measures as rows, so it fits a
    narrow column): both times, how many times slower the one-hot product is, the input
    each route needs and each route's measured peak memory."""
    return pd.DataFrame({f"{c.n_rows:,} words": {
        "dimensions": f"{c.dim}", "text tokens": f"{c.n_tokens}",
        "lookup: table[ids]": seconds_text(c.lookup_seconds),
        "one-hot × matrix": seconds_text(c.product_seconds),
        "one-hot is slower by": f"{c.ratio:,.0f}×",
        "input: ids": size_text(c.index_bytes), "input: one-hot": size_text(c.one_hot_bytes),
        "peak memory: lookup": size_text(c.lookup_peak_bytes),
        "peak memory: one-hot": size_text(c.product_peak_bytes)} for c in costs})


def token_table(tokens: Sequence[str], ids: np.ndarray, itos: Sequence[str],
                train_counts: np.ndarray | None, updates: np.ndarray | None) -> pd.DataFrame:
    """The Lookup view's table, one line per token: its id (-1: the table has no row for it),
    the row's word, and where known whether training saw it and the updates it received."""
    ids = np.asarray(ids)
    has = ids >= 0
    table = pd.DataFrame({"token": list(tokens), "id": ids,
                          "row": [itos[i] if i >= 0 else "(no row)" for i in ids]})
    for name, values in (("training count", train_counts), ("updates so far", updates)):
        if values is not None:
            table[name] = np.where(has, np.asarray(values)[np.where(has, ids, 0)], 0)
    if train_counts is not None:
        table.insert(3, "seen in training", table["training count"] > 0)
    return table
