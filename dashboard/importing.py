"""The import form: saved embedding weights (safetensors, Keras .weights.h5/.keras, projector
vectors.tsv, word2vec/GloVe text) as a run, one snapshot per file, through the same
``core.track.importing.import_files`` as ``python -m core import`` (same caps and messages).
The Runs page calls ``render_import``."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard import services, state
from dashboard.text import escape_markdown

HELP_FILES = ("One file per snapshot, in training order (they are sorted by name): "
              ".safetensors, Keras .weights.h5 / .keras, TensorBoard projector vectors.tsv, "
              "word2vec/GloVe .txt / .vec / .bin. Nothing in them is run.")
HELP_VOCAB = ("One token per line, line i = row i of the table (a projector metadata.tsv "
              "too). Not needed for word2vec/GloVe files, which hold their words.")


def _safe_name(i: int, name: str) -> str:
    """A temp file name keeping the upload's suffixes (the format is told by them)."""
    return f"{i:03d}-" + re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name)[-80:]


def import_uploads(store, uploads: list[Any], vocab: Any | None, tensor: str,
                   name: str) -> dict[str, Any]:
    """Write the uploads to a temporary folder and import them; messages name the uploads."""
    from core.track.importing import import_files

    uploads = sorted(uploads, key=lambda up: up.name)
    with tempfile.TemporaryDirectory(prefix="explorer-import-") as tmp:
        paths = []
        for i, up in enumerate(uploads):
            paths.append(Path(tmp) / _safe_name(i, up.name))
            paths[-1].write_bytes(up.getvalue())
        vocab_path = None
        if vocab is not None:
            vocab_path = Path(tmp) / _safe_name(999, vocab.name)
            vocab_path.write_bytes(vocab.getvalue())
        return import_files(store, paths, vocab=vocab_path, tensor=tensor.strip() or None,
                            name=name.strip(), display_names=[up.name for up in uploads])


def render_import(store) -> str | None:
    """File uploaders, vocabulary, name and an Import button; returns the new run's id once
    imported (errors are shown as text)."""
    st.subheader("Import saved weights")
    st.caption("Explore a model trained elsewhere: each file becomes one snapshot of a run.")
    files = st.file_uploader("Weight files", accept_multiple_files=True,
                             key=state.W_IMPORT_FILES, help=HELP_FILES)
    vocab = st.file_uploader("Vocabulary (optional)", key=state.W_IMPORT_VOCAB, help=HELP_VOCAB)
    left, right = st.columns(2)
    tensor = left.text_input("Tensor name (optional)", key=state.W_IMPORT_TENSOR,
                             help="Default: the only 2-D tensor, else the one whose name "
                                  "contains 'embedding'.")
    name = right.text_input("Run name (optional)", key=state.W_IMPORT_NAME)
    if not st.button("Import", disabled=not files):
        return None
    with st.spinner("Reading the files…"):
        result = services.show_errors(import_uploads, store, list(files), vocab, tensor, name)
    if result is None:
        return None
    shape = " × ".join(str(n) for n in result["shape"])
    st.success(escape_markdown(f"Imported run {result['run_id']}: {result['snapshots']} "
                              f"snapshots of the tensor {result['tensor']} ({shape})."))
    return result["run_id"]
