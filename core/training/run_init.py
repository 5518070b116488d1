"""``init="run:<run id>"``: start a run's table from another run's vectors (pretrain with
word2vec on your own texts, then fine-tune a classifier from them).

The words taken are the source run's vocabulary minus ``<pad>``/``<unk>`` and minus the rows
its training never changed (words only in its validation texts keep a random start: copying
those would pass noise off as pretrained). The snapshot is the source's best epoch when it
has one (a classifier run), else its last (a word2vec run has no validation loss).
"""
from __future__ import annotations

import numpy as np

from core.data.text import SPECIALS
from core.errors import StoreError
from core.store.chosen import best_or_last
from core.store.runstore import RunStore

PREFIX = "run:"


def run_id_of(init: str) -> str | None:
    """The run named by an ``init`` value, or None for any other init."""
    return init[len(PREFIX):].strip() if init.startswith(PREFIX) else None


def source_snapshot(store: RunStore, run_id: str) -> int:
    """The snapshot a later run starts from: the best epoch's, else the last."""
    run = store.get_run(run_id)
    if run.status != "done" or not run.n_snapshots:
        raise StoreError(f"init {PREFIX}{run_id}: that run is {run.status}; only a finished "
                         "run can be a starting point")
    return best_or_last(run)


def run_vectors(store: RunStore, init: str):
    """The KeyedVectors an ``init="run:<id>"`` starts from, or None for another init."""
    from core.vectors.pretrained import as_keyed_vectors

    run_id = run_id_of(init)
    if run_id is None:
        return None
    table = store.load_snapshot(run_id, source_snapshot(store, run_id))
    trained = ~np.isclose(table, store.load_snapshot(run_id, 0)).all(axis=1)
    tokens = store.load_vocab(run_id)["token"].astype(str).tolist()
    keep = [i for i, t in enumerate(tokens) if trained[i] and t not in SPECIALS]
    if not keep:
        raise StoreError(f"init {init}: that run changed no word vector")
    return as_keyed_vectors([tokens[i] for i in keep], table[keep])
