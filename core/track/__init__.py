"""Your own model's embedding layer in the explorer: a run written from outside the product's
trainer (``open_run``: a training loop of yours), a Keras 3 callback (``EmbeddingExplorer``),
a plain PyTorch tracker (``EmbeddingTracker``), a Lightning callback
(``EmbeddingExplorerCallback``, with the optional ``lightning`` extra) and the import of saved weight files
(``import_files``: safetensors, Keras ``.weights.h5``/``.keras``, TensorBoard projector TSV,
word2vec/GloVe text). A tracked run is an ordinary run of the store (config ``"source"``).

Keras, torch and Lightning are imported only by the modules that need them
(``keras_callback``, ``torch_tracker``, ``lightning_callback``), so ``import core.track``
needs none of them.

May import: ``core.errors``, ``core.common``, ``core.vectors``, ``core.data``, ``core.store``,
``core.runs`` (not ``core.jobs`` or ``core.cli``).
"""
from __future__ import annotations

from typing import Any

from core.track.run import TrackedRun, open_run

__all__ = ["EmbeddingExplorer", "EmbeddingExplorerCallback", "EmbeddingTracker", "TrackedRun",
           "import_files", "open_run"]

_LAZY = {"EmbeddingExplorer": "core.track.keras_callback",
         "EmbeddingTracker": "core.track.torch_tracker",
         "EmbeddingExplorerCallback": "core.track.lightning_callback",
         "import_files": "core.track.importing"}


def __getattr__(name: str) -> Any:
    # The Keras callback subclasses keras.callbacks.Callback, so it exists only once keras is
    # imported: resolve it (and the torch tracker, the importer) on first use.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'core.track' has no attribute {name!r}")
