"""Run-level comparison: every snapshot of a stored run against a pretrained space.

Built only from the measures in ``core.analysis.measures``; this module chooses the words, loads the
run's arrays, computes the pretrained side once and caches the results on disk under the run's
``cache/`` folder, keyed by the settings and the snapshot count.

Choices callers depend on:

* ``against`` is ``"glove"`` (the bundled GloVe 6B 50d), ``"init"`` (the run's own step-0
  vectors, snapshot 0) or a path to a vectors file.
* Words: never ``<pad>``/``<unk>``; only words the pretrained space has (for ``"init"``: rows
  that are not all-zero); the ``n_words`` most frequent training words, then up to
  ``max_unseen`` words that occur only in validation texts, most frequent first.
* Class association (``z_<class>``) is computed on the whole vocabulary's training counts, so
  the prior does not depend on the word cap; the words are then selected.
* Word similarity (WordSim353, SimLex999) is scored over EVERY row of the table, not only the
  compared words (a few hundred dot products a snapshot): on a review corpus the compared
  6,000 words held 31 % of WordSim's pairs where the vocabulary held 68 %. The pretrained
  reference scores the same pairs where the space has both words (its own ``n_found``).
* kNN and silhouette: the reference uses the same documents as the learned side.
* kNN accuracy / silhouette are NaN when the document sample is too small for them.
"""
from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from core.analysis import measures as compare
from core.common.checks import bounded, check_fields
from core.common.files import DiskCache
from core.errors import ExplorerError, StoreError
from core.runs.comparison_words import (  # noqa: F401 - also this module's public names
    PretrainedSpace, class_association, mean_vectors, pretrained_space, select_rows)
from core.store.runstore import RunStore

BUILTIN_AGAINST = ("glove", "init")
LIST_COLUMNS = ("neighbors", "neighbors_pretrained", "gained", "lost")
CACHE_VERSION = 5  # bump when the measures or the table layout change (5: issue 20 + 21)
Progress = Callable[[int, int], None]


class TooFewShared(ExplorerError):
    """The run shares k or fewer words with the pretrained space: nothing to compare."""


@dataclass(frozen=True)
class CompareConfig:
    """Settings of one run comparison (all of them are part of the cache key)."""

    against: str = "glove"  # glove | init | path to a vectors file
    k: int = bounded(10, 1, 100)  # neighbours per word
    n_words: int = bounded(5000, 10, 200_000)  # most frequent training words
    max_unseen: int = bounded(1000, 0, 200_000)  # words never seen in training
    knn_k: int = bounded(5, 1, 100)  # neighbours of the document kNN classifier
    silhouette_sample: int = bounded(2000, 50, 100_000)  # documents sampled for the silhouette
    seed: int = bounded(0, 0, 2**32 - 1)

    def __post_init__(self) -> None:
        if not isinstance(self.against, str) or not self.against.strip():
            raise ValueError(f"against must be one of {BUILTIN_AGAINST} or a vectors file path, "
                             f"got {self.against!r}")
        check_fields(self)


@dataclass(frozen=True, eq=False)
class RunComparison:
    """A run compared with a pretrained space.

    ``snapshots``: one row per snapshot (snapshot, epoch, step, mean_jaccard, cka,
    wordsim353_rho/_found/_total, simlex999_rho/_found/_total, knn_learned, knn_pretrained,
    silhouette_learned, silhouette_pretrained, val_accuracy, n_words, seconds).
    ``words[i]``: snapshot i's per-word table (word, train_count, seen, jaccard, neighbors,
    neighbors_pretrained, gained, lost, drift_from_start, drift_from_prev, norm, z_<class>,
    direction, and with more than two classes d_<class>: each class's one-vs-rest direction). ``reference``: the pretrained space's own scores on the same words/documents.
    """

    run_id: str
    config: CompareConfig
    snapshots: pd.DataFrame
    words: tuple[pd.DataFrame, ...]
    reference: dict[str, Any]
    seconds: float
    cached: bool = field(default=False, compare=False)

    def word_table(self, snapshot: int = -1) -> pd.DataFrame:
        """Per-word table of one snapshot (negative indices count from the last)."""
        n = len(self.words)
        if not -n <= snapshot < n:
            raise ValueError(f"snapshot must be between {-n} and {n - 1}, got {snapshot}")
        return self.words[snapshot]

    def summary(self) -> dict[str, Any]:
        """JSON-ready global values (NaN as None), e.g. for the CLI."""
        rows = [{k: _plain(v) for k, v in row.items()}
                for row in self.snapshots.to_dict(orient="records")]
        return {"run_id": self.run_id, "against": self.config.against, "k": self.config.k,
                "n_words": int(self.reference["n_words"]), "snapshots": rows,
                "pretrained": _plain_tree(self.reference), "seconds": round(self.seconds, 3),
                "cached": self.cached}


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _plain_tree(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain_tree(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain_tree(v) for v in obj]
    return _plain(obj)


# ----------------------------------------------------------------------------- inputs

def _separation(X: np.ndarray, labels: np.ndarray, config: CompareConfig) -> tuple[float, float]:
    """(kNN accuracy, silhouette) of labels in X; NaN where the sample is too small."""
    values = []
    for fn, kwargs in ((compare.knn_accuracy, {"k": config.knn_k, "seed": config.seed}),
                       (compare.silhouette, {"sample_size": config.silhouette_sample,
                                             "seed": config.seed})):
        try:
            values.append(fn(X, labels, **kwargs))
        except ValueError:  # too few documents or classes in the sample
            values.append(float("nan"))
    return values[0], values[1]


@dataclass(frozen=True)
class _Inputs:
    """Everything about the run that does not change between snapshots."""

    rows: np.ndarray
    words: list[str]
    pre: np.ndarray
    nn_pre: np.ndarray
    fixed: pd.DataFrame  # word, train_count, seen, neighbors_pretrained, z_<class>
    labels: np.ndarray | None
    bag: bool
    # each benchmark's pairs among EVERY row of the table, not only the compared words
    pairs: dict[str, compare.BenchmarkPairs] = field(default_factory=dict)


def _prepare(store: RunStore, run_id: str, config: CompareConfig) -> tuple[_Inputs, dict]:
    run = store.get_run(run_id)
    if run.n_snapshots == 0:
        raise StoreError(f"Run {run_id} has no snapshots yet.")
    vocab = store.load_vocab(run_id)
    tokens = vocab["token"].astype(str).tolist()
    space = pretrained_space(store, run_id, config.against, tokens)
    rows = select_rows(vocab, space.shared, config.n_words, config.max_unseen)
    if len(rows) <= config.k:
        raise TooFewShared(f"Only {len(rows)} words of run {run_id} are in the space "
                            f"'{config.against}'; k must be below that (got k={config.k}).")
    words = [tokens[i] for i in rows]
    pre = space.rows_for(words)
    nn_pre = compare.nearest_neighbors(pre, config.k)
    from core.runs.projections import ranking_counts

    train = vocab["train_count"].to_numpy()[rows]
    seen = ranking_counts(vocab)[1][rows] > 0  # a run without counts: its words are all seen
    fixed = pd.DataFrame({"word": words, "train_count": train.astype(np.int64),
                          "seen": seen,
                          "neighbors_pretrained": [[words[j] for j in r] for r in nn_pre]})
    z = class_association(vocab, list(run.info.get("classes", [])))
    fixed = pd.concat([fixed, z.iloc[rows].reset_index(drop=True)], axis=1)
    docs = store.load_docs(run_id) if run.info.get("n_docs", 0) else None
    labels = None if docs is None or docs.empty else docs["label_id"].to_numpy()
    pairs = {name: compare.benchmark_pairs(tokens, name) for name in compare.BENCHMARKS}
    reference = _reference(tokens, pairs, docs, space, config)
    reference.update(n_words=len(words), n_seen=int(seen.sum()), n_unseen=int((~seen).sum()),
                     benchmark_rows=len(tokens))
    inputs = _Inputs(rows, words, pre, nn_pre, fixed, labels, run.config.get("arch") == "bag",
                     pairs)
    return inputs, reference


def _reference(tokens: list[str], pairs: dict[str, compare.BenchmarkPairs],
               docs: pd.DataFrame | None, space: PretrainedSpace,
               config: CompareConfig) -> dict[str, Any]:
    """The compared space's own scores: each benchmark on the words of the pairs the table
    holds (those the space has too), document kNN and silhouette on the sampled texts."""
    ref: dict[str, Any] = {"against": space.label}
    for name, found in pairs.items():
        words = sorted({tokens[i] for i in np.concatenate([found.a, found.b])}
                       & set(space.index))
        ref[name] = (compare.word_similarity(words, space.rows_for(words), name).to_dict()
                     if words else compare.SimilarityScore(math.nan, math.nan, 0,
                                                           found.n_total).to_dict())
    knn = sil = float("nan")
    if docs is not None and not docs.empty:
        X = mean_vectors(docs["text"].astype(str).tolist(), space)
        knn, sil = _separation(X, docs["label_id"].to_numpy(), config)
    ref.update(knn=knn, silhouette=sil, n_docs=0 if docs is None else len(docs))
    return ref


# ----------------------------------------------------------------------------- per snapshot

def _snapshot_measures(inputs: _Inputs, learned: np.ndarray, start: np.ndarray,
                       previous: np.ndarray | None, out_weight: np.ndarray | None,
                       docvecs: np.ndarray | None, config: CompareConfig
                       ) -> tuple[dict[str, Any], pd.DataFrame]:
    """Global values and the per-word table of one snapshot (rows already selected)."""
    words = inputs.words
    nn = compare.nearest_neighbors(learned, config.k)
    gained, lost = compare.neighbor_changes(inputs.nn_pre, nn, words)
    jaccard = compare.jaccard_at_k(nn, inputs.nn_pre)
    z_cols = [c for c in inputs.fixed.columns if c.startswith("z_")]
    direction, per_class = _directions(learned, out_weight if inputs.bag else None, z_cols)
    table = inputs.fixed.assign(
        jaccard=jaccard, neighbors=[[words[j] for j in r] for r in nn], gained=gained, lost=lost,
        drift_from_start=compare.drift(learned, start),
        drift_from_prev=(np.full(len(words), np.nan) if previous is None
                         else compare.drift(learned, previous)),
        norm=np.linalg.norm(learned, axis=1),
        direction=np.full(len(words), np.nan) if direction is None else direction)
    table = table.assign(**per_class)[WORD_COLUMNS[:-1] + z_cols + ["direction"] + list(per_class)]
    row: dict[str, Any] = {"mean_jaccard": float(jaccard.mean()),
                           "cka": compare.linear_cka(learned, inputs.pre)}
    knn = sil = float("nan")
    if docvecs is not None and inputs.labels is not None and len(docvecs) == len(inputs.labels):
        knn, sil = _separation(np.asarray(docvecs, dtype=np.float64), inputs.labels, config)
    row.update(knn_learned=knn, silhouette_learned=sil)
    return row, table


def _directions(learned: np.ndarray, out_weight: np.ndarray | None, z_cols: list[str]
                ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The two-class ``direction`` (towards class 1; NaN otherwise) and, with more than two
    classes, each class's one-vs-rest direction as ``d_<class>`` (NaN where the output layer is
    not in the embedding space, e.g. a CNN/GRU)."""
    none = np.full(len(learned), np.nan)
    if len(z_cols) <= 2:
        found = None if out_weight is None else compare.direction_projection(learned, out_weight)
        return (none if found is None else found), {}
    per_class = {}
    for c, col in enumerate(z_cols):
        found = None if out_weight is None else compare.direction_projection(learned, out_weight, c)
        per_class["d_" + col[2:]] = none if found is None else found
    return none, per_class


def _compute(store: RunStore, run_id: str, config: CompareConfig,
             progress: Progress | None, use_cache: bool = True,
             as_files: bool = False) -> RunComparison:
    """Every snapshot's part (``part``: cached ones are read, the engine computes them as
    snapshots arrive), assembled with what only the whole run knows. ``as_files``: each
    snapshot's table as its cached part's file."""
    t0 = time.perf_counter()
    inputs, reference = prepared(store, run_id, config)
    run = store.get_run(run_id)
    rows, tables = [], []
    for n, snap in enumerate(run.snapshots):
        if as_files:  # the part's table stays in its file: _write_cache copies it
            folder = part_folder(store, run_id, config, n, run.snapshots)
            row, table = _part_row(folder), folder / "words.parquet"
        else:
            row, table = part(store, run_id, config, n, run.snapshots, use_cache)
        row.update(snapshot=snap["idx"], epoch=snap["epoch"], step=snap["step"],
                   knn_pretrained=reference["knn"], silhouette_pretrained=reference["silhouette"],
                   val_accuracy=run.val_accuracy_at(snap), n_words=len(inputs.words))
        rows.append(row)
        tables.append(table)
        if progress is not None:
            progress(n + 1, run.n_snapshots)
    frame = pd.DataFrame(rows)[GLOBAL_COLUMNS]
    return RunComparison(run_id, config, frame, tuple(tables), reference,
                         time.perf_counter() - t0)


def _benchmarks(pairs: dict[str, compare.BenchmarkPairs], table: np.ndarray) -> dict[str, Any]:
    """Each benchmark's rho (with its interval and n) over every row of the snapshot."""
    row: dict[str, Any] = {}
    for name, found in pairs.items():
        score = compare.pair_similarity(table, found)
        row.update({f"{name}_rho": score.rho, f"{name}_low": score.low,
                    f"{name}_high": score.high, f"{name}_found": score.n_found,
                    f"{name}_total": score.n_total})
    return row


WORD_COLUMNS = [
    "word", "train_count", "seen", "jaccard", "neighbors", "neighbors_pretrained", "gained",
    "lost", "drift_from_start", "drift_from_prev", "norm", "direction",
]  # z_<class> columns go before "direction"
GLOBAL_COLUMNS = [
    "snapshot", "epoch", "step", "mean_jaccard", "cka",
    "wordsim353_rho", "wordsim353_low", "wordsim353_high", "wordsim353_found",
    "wordsim353_total",
    "simlex999_rho", "simlex999_low", "simlex999_high", "simlex999_found", "simlex999_total",
    "knn_learned", "knn_pretrained", "silhouette_learned", "silhouette_pretrained",
    "val_accuracy", "n_words", "seconds",
]


def _optional(store: RunStore, run_id: str, name: str) -> np.ndarray | None:
    return store.load_array(run_id, name) if store.has_array(run_id, name) else None


# ----------------------------------------------------------------------------- parts
# A snapshot's part needs only it, step 0, the snapshot before and the run's fixed inputs: the
# engine computes it as the snapshot arrives (core.runs.comparison_parts); ``_compute`` assembles.

PARTS = "compare-parts"
_PREPARED: OrderedDict[tuple, tuple[_Inputs, dict]] = OrderedDict()  # a few MB per run


def prepared(store: RunStore, run_id: str, config: CompareConfig) -> tuple[_Inputs, dict]:
    """The run's fixed inputs and the reference's scores, prepared once per process."""
    key = (str(store.root), run_id, fingerprint(store, run_id, config))
    if key not in _PREPARED:
        _PREPARED[key] = _prepare(store, run_id, config)
        while len(_PREPARED) > 4:
            _PREPARED.popitem(last=False)
    return _PREPARED[key]


def fingerprint(store: RunStore, run_id: str, config: CompareConfig) -> str:
    """Settings and the identity (size, mtime) of the files the fixed inputs come from."""
    files = {}
    for name in ("vocab.parquet", "docs.parquet"):
        path = store.run_dir(run_id) / name
        stat = path.stat() if path.is_file() else None
        files[name] = stat and [stat.st_size, stat.st_mtime_ns]
    settings = {"version": CACHE_VERSION, **asdict(config), "files": files,
                "against": against_identity(config)}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:24]


def part(store: RunStore, run_id: str, config: CompareConfig, position: int,
         snaps: list[dict], use_cache: bool = True) -> tuple[dict[str, Any], pd.DataFrame]:
    """(global row, per-word table) of the snapshot at ``position`` of ``snaps`` (the run's
    snapshots, read once by the caller); the row lacks what only the whole run knows
    (validation accuracy, the reference's scores)."""
    if not use_cache:
        return _part(store, run_id, config, position, snaps)
    folder = part_folder(store, run_id, config, position, snaps)
    return _part_row(folder), _read_words(folder / "words.parquet")


def part_folder(store: RunStore, run_id: str, config: CompareConfig, position: int,
                snaps: list[dict]) -> Path:
    """The part's cache folder, computed and written if missing (not read back)."""
    prev = snaps[position - 1]["idx"] if position else -1
    cache = DiskCache(store.cache_dir(run_id) / PARTS)
    key = f"{fingerprint(store, run_id, config)}-{snaps[position]['idx']:04d}-{prev}"
    if not cache.path(key).is_dir():
        cache.put(key, _part(store, run_id, config, position, snaps), _write_part)
    return cache.path(key)


def _part(store: RunStore, run_id: str, config: CompareConfig, position: int,
          snaps: list[dict]) -> tuple[dict[str, Any], pd.DataFrame]:
    ts = time.perf_counter()
    inputs, _ = prepared(store, run_id, config)

    def learned(idx: int) -> np.ndarray:
        return np.asarray(store.load_snapshot(run_id, idx)[inputs.rows], dtype=np.float64)

    i = snaps[position]["idx"]
    table_now = store.load_snapshot(run_id, i)
    previous = learned(snaps[position - 1]["idx"]) if position else None
    row, table = _snapshot_measures(
        inputs, np.asarray(table_now[inputs.rows], dtype=np.float64), learned(0), previous,
        _optional(store, run_id, f"snapshots/out_{i:04d}"),
        _optional(store, run_id, f"snapshots/doc_{i:04d}"), config)
    row.update(_benchmarks(inputs.pairs, table_now))
    row.update(seconds=time.perf_counter() - ts)
    return row, table


def _write_part(found: tuple[dict[str, Any], pd.DataFrame], folder: Path) -> None:
    pd.DataFrame([found[0]]).to_parquet(folder / "row.parquet", index=False)
    found[1].to_parquet(folder / "words.parquet", index=False)


def _part_row(folder: Path) -> dict[str, Any]:
    return pd.read_parquet(folder / "row.parquet").to_dict(orient="records")[0]


# ----------------------------------------------------------------------------- cache

def cache_key(store: RunStore, run_id: str, config: CompareConfig) -> str:
    """Hash of the settings, the snapshot count and (for a vectors file) its identity."""
    settings: dict[str, Any] = {"version": CACHE_VERSION, **asdict(config),
                                "snapshots": store.get_run(run_id).n_snapshots}
    settings["against"] = against_identity(config)
    text = json.dumps(settings, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def against_identity(config: CompareConfig) -> Any:
    """The compared space as a cache key part: its name, or a vectors file's path, size and
    modification time."""
    if config.against in BUILTIN_AGAINST:
        return config.against
    path = Path(config.against).resolve()
    stat = path.stat() if path.is_file() else None
    return [str(path), stat and stat.st_size, stat and stat.st_mtime_ns]


def _write_cache(result: RunComparison, folder: Path) -> None:
    result.snapshots.to_parquet(folder / "global.parquet", index=False)
    for n, table in enumerate(result.words):
        if isinstance(table, Path):  # a cached part's table, already written
            shutil.copyfile(table, folder / f"words_{n:04d}.parquet")
        else:
            table.to_parquet(folder / f"words_{n:04d}.parquet", index=False)
    meta = {"reference": _plain_tree(result.reference), "seconds": result.seconds,
            "config": asdict(result.config), "n_snapshots": len(result.words),
            "run_id": result.run_id}
    (folder / "meta.json").write_text(json.dumps(meta))


def _read_cache(folder: Path) -> RunComparison:
    meta = json.loads((folder / "meta.json").read_text())
    frame = pd.read_parquet(folder / "global.parquet")
    tables = tuple(_read_words(folder / f"words_{n:04d}.parquet")
                   for n in range(meta["n_snapshots"]))
    reference = _nan_tree(meta["reference"])
    return RunComparison(meta["run_id"], CompareConfig(**meta["config"]), frame, tables,
                         reference, meta["seconds"], cached=True)


def _read_words(path: Path) -> pd.DataFrame:
    """A per-word table with its list columns as lists of str (pyarrow's to_pylist is ~5x
    faster than converting pandas' numpy arrays element by element)."""
    import pyarrow.parquet as pq

    arrow = pq.read_table(path)
    lists = [c for c in LIST_COLUMNS if c in arrow.column_names]
    table = arrow.drop_columns(lists).to_pandas()
    for col in lists:
        table[col] = arrow.column(col).to_pylist()
    return table[arrow.column_names]


def _lists(table: pd.DataFrame) -> pd.DataFrame:
    # parquet hands list columns back as numpy arrays; callers get plain lists of str
    for col in LIST_COLUMNS:
        if col in table.columns:
            table[col] = [[str(w) for w in v] for v in table[col]]
    return table


def _nan_tree(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _nan_tree(v) for k, v in obj.items()}
    return float("nan") if obj is None else obj


def compare_run(store: RunStore, run_id: str, config: CompareConfig = CompareConfig(), *,
                progress: Progress | None = None, use_cache: bool = True,
                cached_only: bool = False) -> RunComparison | None:
    """Compare every snapshot of a run with a pretrained space (see module docstring).

    Results are cached under ``store.cache_dir(run_id)``; a repeated request with the same
    settings and snapshot count is read back without recomputation (``cached=True``). The
    returned object is always what the cache holds, so first and later calls are identical.
    ``progress(done, total)`` is called after each computed snapshot. With ``cached_only``
    nothing is computed: a cache miss returns None (page loads must never compute this).
    """
    cache = DiskCache(store.cache_dir(run_id))
    key = f"compare-{cache_key(store, run_id, config)}"
    if use_cache or cached_only:
        hit = cache.get(key, _read_cache)
        if hit is not None or cached_only:
            return hit
    result = _compute(store, run_id, config, progress, use_cache)
    if not use_cache:
        return replace(result, words=tuple(_lists(t) for t in result.words))
    cache.put(key, result, _write_cache)
    return replace(_read_cache(cache.path(key)), cached=False)


def ensure_cached(store: RunStore, run_id: str, config: CompareConfig = CompareConfig()) -> None:
    """The engine's step at a run's end: the comparison in the cache, not read back (a page
    reads it when it needs it)."""
    cache = DiskCache(store.cache_dir(run_id))
    key = f"compare-{cache_key(store, run_id, config)}"
    if not cache.path(key).is_dir():
        cache.put(key, _compute(store, run_id, config, None, as_files=True), _write_cache)
