"""Where the run store is when nobody says: ``$EXPLORER_STORE``, else ``./runs``. The CLI,
the Keras callback, the torch tracker and ``open_run`` all take this one default (the
dashboard reads ``$EXPLORER_STORE`` too), so a run written without ``store=`` shows up in a
dashboard started with the same environment."""
from __future__ import annotations

import os
from pathlib import Path

ENV = "EXPLORER_STORE"


def default_store() -> Path:
    """``$EXPLORER_STORE`` if set (and not blank), else ``runs`` in the working directory."""
    return Path(os.environ.get(ENV, "").strip() or "runs")
