"""The run comparison one snapshot at a time, so the engine can compute it while a run trains.

A snapshot's part (its global row and per-word table, ``core.runs.comparison``) depends only
on that snapshot, the first one, the one before it and the run's fixed inputs (vocabulary,
documents, the pretrained side), all on disk once the snapshot is. The engine calls
``extend`` as each snapshot arrives; ``compare_run`` then assembles the parts at the end and
computes only what is missing. Parts are cached under the run's ``cache/compare-parts/``,
keyed by the comparison's settings, the identity of the run's fixed inputs and the snapshot
(with the one before it). The fixed inputs are prepared once per process and kept in memory
(the engine is one long-lived process), so each snapshot costs only its own measures.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.common.files import DiskCache
from core.errors import ExplorerError
from core.runs import comparison as rc
from core.store.runstore import RunStore

PARTS = "compare-parts"
_PREPARED: OrderedDict[tuple, tuple[Any, dict]] = OrderedDict()  # (inputs, reference)
_KEEP = 4  # prepared runs kept in memory (a run's is a few MB)


def fingerprint(store: RunStore, run_id: str, config: rc.CompareConfig) -> str:
    """Settings and the identity (size, mtime) of the files the fixed inputs come from."""
    folder = store.run_dir(run_id)
    files = {}
    for name in ("vocab.parquet", "docs.parquet"):
        path = folder / name
        stat = path.stat() if path.is_file() else None
        files[name] = stat and [stat.st_size, stat.st_mtime_ns]
    settings = {"version": rc.CACHE_VERSION, **asdict(config), "files": files,
                "against": rc.against_identity(config)}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:24]


def prepared(store: RunStore, run_id: str, config: rc.CompareConfig) -> tuple[Any, dict]:
    """The run's fixed inputs and the pretrained side's scores, computed once per process."""
    key = (str(store.root), run_id, fingerprint(store, run_id, config))
    if key in _PREPARED:
        _PREPARED.move_to_end(key)
        return _PREPARED[key]
    _PREPARED[key] = rc._prepare(store, run_id, config)
    while len(_PREPARED) > _KEEP:
        _PREPARED.popitem(last=False)
    return _PREPARED[key]


def part(store: RunStore, run_id: str, config: rc.CompareConfig, position: int,
         use_cache: bool = True) -> tuple[dict[str, Any], pd.DataFrame]:
    """(global row, per-word table) of the run's snapshot at ``position``; the row lacks
    what only the whole run knows (validation accuracy, the reference's scores)."""
    if not use_cache:
        return _compute(store, run_id, config, position)
    return _read(_ensure(store, run_id, config, position))


def part_file(store: RunStore, run_id: str, config: rc.CompareConfig, position: int
              ) -> tuple[dict[str, Any], Path]:
    """``part``'s row and the file its table is cached in (made if missing), the table not
    read: the finished comparison copies it."""
    folder = _ensure(store, run_id, config, position)
    return _row(folder), folder / "words.parquet"


def _ensure(store: RunStore, run_id: str, config: rc.CompareConfig, position: int) -> Path:
    """The part's cache folder, computed and written if missing (not read back)."""
    cache, key = _entry(store, run_id, config, position)
    if not cache.path(key).is_dir():
        cache.put(key, _compute(store, run_id, config, position), _write)
    return cache.path(key)


def _entry(store: RunStore, run_id: str, config: rc.CompareConfig, position: int
           ) -> tuple[DiskCache, str]:
    snaps = store.get_run(run_id).snapshots
    prev = snaps[position - 1]["idx"] if position else -1
    key = f"{fingerprint(store, run_id, config)}-{snaps[position]['idx']:04d}-{prev}"
    return DiskCache(store.cache_dir(run_id) / PARTS), key


def _compute(store: RunStore, run_id: str, config: rc.CompareConfig, position: int
             ) -> tuple[dict[str, Any], pd.DataFrame]:
    ts = time.perf_counter()
    inputs, _ = prepared(store, run_id, config)
    snaps = store.get_run(run_id).snapshots
    i = snaps[position]["idx"]

    def learned(idx: int):
        return np.asarray(store.load_snapshot(run_id, idx)[inputs.rows], dtype=np.float64)

    table_now = store.load_snapshot(run_id, i)
    now = np.asarray(table_now[inputs.rows], dtype=np.float64)
    start = learned(0)  # step 0, as the whole-run computation does
    previous = learned(snaps[position - 1]["idx"]) if position else None
    out_w = rc._optional(store, run_id, f"snapshots/out_{i:04d}")
    docs = rc._optional(store, run_id, f"snapshots/doc_{i:04d}")
    row, table = rc._snapshot_measures(inputs, now, start, previous, out_w, docs, config)
    row.update(rc._benchmarks(inputs.pairs, table_now))
    row.update(seconds=time.perf_counter() - ts)
    return row, table


def _write(found: tuple[dict[str, Any], pd.DataFrame], folder: Path) -> None:
    row, table = found
    pd.DataFrame([row]).to_parquet(folder / "row.parquet", index=False)
    table.to_parquet(folder / "words.parquet", index=False)


def _read(folder: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    return _row(folder), rc._read_words(folder / "words.parquet")


def _row(folder: Path) -> dict[str, Any]:
    return pd.read_parquet(folder / "row.parquet").to_dict(orient="records")[0]


def configs(store: RunStore, run_id: str) -> list[rc.CompareConfig]:
    """The comparisons the engine keeps for a run (the ones ``views.finalize`` computes)."""
    from core.runs.views import compares_with_init

    found = [rc.CompareConfig()]
    if compares_with_init(store, run_id):
        found.append(rc.CompareConfig(against="init"))
    return found


def extend(store: RunStore, run_id: str, idx: int) -> int:
    """The engine's step: the parts of every snapshot up to ``idx`` (the new one, and any an
    earlier pass missed); returns how many comparisons have them. A run the comparison
    refuses (e.g. too few words in GloVe) is left to ``finalize``, which records why."""
    positions = [s["idx"] for s in store.get_run(run_id).snapshots]
    done = 0
    for config in configs(store, run_id):
        try:
            for position in range(positions.index(idx) + 1):
                _ensure(store, run_id, config, position)
        except ExplorerError:
            continue
        done += 1
    return done
