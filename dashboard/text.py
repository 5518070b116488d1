"""Formatting shared by the dashboard's figures and pages: user-derived text made safe for
HTML (plotly) and Markdown (Streamlit), durations, byte sizes and short excerpts. Pure
functions of their arguments (no streamlit, no core)."""
from __future__ import annotations

import html
import re
from typing import Sequence

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$&])")


def escape_html(value: object) -> str:
    """A user-derived string (word, class, run or file name, document text) as plain text in
    a figure: plotly renders an HTML subset in names, labels, titles and hover, so markup a
    user typed would run (a <span style="fill:url(...)"> makes the browser fetch a URL)."""
    return html.escape(str(value), quote=False)


def escape_markdown(text: object) -> str:
    """User-controlled text (file names, labels, ids from the URL, messages quoting them) made
    safe for Markdown widgets: every Markdown character is escaped, so a name such as
    ``![x](http://host/x.png)`` shows as text and makes the browser fetch nothing."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def seconds_text(seconds: float) -> str:
    """'4.9 µs', '0.84 ms', '46 ms', '1.2 s'."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{seconds * 1e9:.0f} ns"


def size_text(n_bytes: float) -> str:
    """'160 B', '7.1 kB', '32.0 MB' (powers of 1000)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{int(n_bytes)} B"


def truncate(text: str, n: int = 90) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def join_words(words: Sequence[str], n: int = 6) -> str:
    return ", ".join(list(words)[:n])
