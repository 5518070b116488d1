"""Experiments that test the product's claims on the user's own data: few-shot learning curves.

One experiment trains the same model for every (init, training size, seed) and scores every run
on ONE validation set. Choices callers depend on:

* Validation set: ``split_indices`` with ``seed=split_seed`` (and ``val_fraction``) — the very
  set a plain run with that seed validates on. It is fixed for the whole experiment.
* Training rows: the rest (the *pool*). For a train seed ``s`` the pool is put in a seeded,
  class-interleaved random order and a size-``n`` run trains on its first ``n`` rows, so for one
  seed the subsets are nested (100 within 500 within all) and stratified to one row per class.
  The train seed also drives the random init, word2vec and the batch order; it never moves the
  validation set (``split.split_indices`` ties both to one seed, which is why the split is
  built here and handed to ``train_run``).
* Stopping and reporting parts: ``config.report_fraction`` of the validation set (per class,
  drawn with ``split_seed``, fixed for the experiment) is held apart; each run's epoch is chosen
  on the rest and scored on it (``core.training.reporting``). Every accuracy of the results
  (best, last, unseen-key-word) is the reporting part's; ``stop_accuracy`` keeps the chosen
  epoch's accuracy on the texts that chose it.
* Unseen-word documents (see ``unseen_flags``): validation documents containing at least one
  *key word* that occurs in none of THIS run's training texts. A key word is a token whose
  documents in the full data set (all rows, all splits) belong at least ``KEY_PURITY`` to one
  class. The subset therefore shrinks as the training size grows; its size is reported. The
  looser "any token unseen in training" subset is reported next to it.
* Predictions: ``train_run`` stores every run's validation predictions (``val_predictions``);
  an experiment adds its unseen-key-word flags to that table. Plain runs have only the looser
  any-unseen-token flag, which ``unseen_word_accuracy`` then uses.
* Persistence: runs are ordinary store runs labelled ``experiment:<id>``; the experiment (config,
  status, progress, results) lives in ``store.root/experiments/<id>/`` and can be resumed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from core.errors import DataError, StoreError
from core.training.config import ExperimentConfig
from core.common.files import atomic_write
from core.store.runstore import RunStore, check_run_id

KEY_PURITY = 0.9
# A run is scored at its best epoch (lowest validation loss, ``RunInfo.best``; its stored
# predictions are that epoch's too), the last epoch's accuracy kept beside it.
RESULT_COLUMNS = [
    "run_id", "init", "size", "n_train", "seed", "status", "best_epoch_accuracy",
    "last_epoch_accuracy", "best_epoch", "epochs_run", "n_val", "unseen_accuracy", "n_unseen",
    "unseen_any_accuracy", "n_unseen_any", "seen_accuracy", "train_seconds", "n_report",
    "stop_accuracy",
]


# ----------------------------------------------------------------------------- the data plan

def key_words(tokens: list[list[str]], labels: np.ndarray, n_classes: int,
              purity: float = KEY_PURITY) -> frozenset[str]:
    """Tokens whose documents (full data, all splits) are at least ``purity`` one class."""
    from sklearn.feature_extraction.text import CountVectorizer

    if not any(tokens):
        return frozenset()  # CountVectorizer refuses an empty vocabulary
    vectorizer = CountVectorizer(analyzer=list, binary=True)  # the tokens as they are
    has = vectorizer.fit_transform(tokens)  # documents x words, 1 where the word occurs
    onehot = np.eye(n_classes, dtype=np.int64)[np.asarray(labels)]
    per_class = np.asarray((has.T @ onehot))  # words x classes: documents holding the word
    keep = per_class.max(axis=1) >= purity * per_class.sum(axis=1)
    return frozenset(vectorizer.get_feature_names_out()[keep].tolist())


def unseen_flags(tokens: list[list[str]], train_idx: np.ndarray, val_idx: np.ndarray,
                 keys: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per validation document: (has a token unseen in training, has a KEY word unseen)."""
    seen = set().union(*(tokens[i] for i in train_idx)) if len(train_idx) else set()
    any_u, key_u = [], []
    for i in val_idx:
        unseen = set(tokens[i]) - seen
        any_u.append(bool(unseen))
        key_u.append(not unseen.isdisjoint(keys))
    return np.array(any_u, dtype=bool), np.array(key_u, dtype=bool)


@dataclass
class Plan:
    """What every run of an experiment shares: tokens, the fixed split, the key words."""

    tokens: list[list[str]]
    labels: np.ndarray
    n_classes: int
    val_idx: np.ndarray
    pool: np.ndarray
    doc_idx: np.ndarray
    keys: frozenset[str]
    fingerprint: str
    corpus: Any = None  # the TokenisedCorpus the tokens came from, handed to every run
    report_idx: np.ndarray | None = None  # validation rows held apart to score (reporting)

    @classmethod
    def build(cls, dataset, config: ExperimentConfig, store: RunStore | None = None) -> Plan:
        """With a ``store``, the tokens come from its tokenised-corpus cache."""
        from core.data.text import tokenize
        from core.training.corpus import tokenised
        from core.training.reporting import split_reporting
        from core.training.split import experiment_split

        labels = np.asarray(dataset.labels)
        pool, val = experiment_split(labels, config)
        fingerprint = dataset.fingerprint()  # once: it hashes every text
        corpus = tokenised(dataset, store, fingerprint) if store is not None else None
        tokens = (corpus.corpus.token_lists() if corpus is not None
                  else [tokenize(t) for t in dataset.texts])
        rng = np.random.default_rng(config.split_seed)
        docs = np.sort(rng.choice(val, size=min(config.train.doc_sample, len(val)), replace=False))
        report = (split_reporting(labels, val, config.report_fraction, config.split_seed)[1]
                  if config.report_fraction > 0 else None)
        plan = cls(tokens, labels, len(dataset.classes), val, pool, docs,
                   key_words(tokens, labels, len(dataset.classes)), fingerprint, corpus, report)
        for size in config.sizes:
            plan.n_train(size)  # refuse impossible sizes before the first run
        return plan

    def n_train(self, size: int | str) -> int:
        if size == "all":
            return len(self.pool)
        n_classes = len(np.unique(self.labels[self.pool]))
        if size > len(self.pool):
            raise DataError(f"Training size {size} is more than the {len(self.pool)} rows left "
                            f"for training after the validation split; use 'all' or less.")
        if size < n_classes:
            raise DataError(f"Training size {size} is smaller than the number of classes "
                            f"({n_classes}).")
        return int(size)

    def train_rows(self, size: int | str, seed: int) -> np.ndarray:
        """The first ``n`` rows of the pool in the seed's class-interleaved order (sorted)."""
        rng = np.random.default_rng([seed, 0x5EED])
        perm = rng.permutation(self.pool)
        rank = np.empty(len(perm))
        labels = self.labels[perm]
        for c in np.unique(labels):
            where = np.flatnonzero(labels == c)
            rank[where] = np.arange(len(where)) / len(where)
        order = perm[np.lexsort((rng.random(len(perm)), rank))]
        return np.sort(order[: self.n_train(size)])


# ----------------------------------------------------------------------------- one run

def _save_unseen_flags(store: RunStore, run_id: str, plan: Plan, train_idx: np.ndarray) -> None:
    """Add this run's unseen-key-word flags to the validation predictions train_run stored."""
    frame = store.load_frame(run_id, "val_predictions")
    any_u, key_u = unseen_flags(plan.tokens, train_idx, plan.val_idx, plan.keys)
    frame["unseen_any"], frame["unseen_key"] = any_u, key_u
    store.save_frame(run_id, "val_predictions", frame)


def train_cell(dataset, plan: Plan, config: ExperimentConfig, store: RunStore, init: str,
               size: int | str, seed: int, *, label: str = "", callback=None,
               should_stop=None) -> dict[str, Any]:
    """Train one (init, size, seed) run on the plan's fixed split; returns its results row.
    A cancelled run is kept with status ``cancelled`` (no predictions)."""
    train_idx = plan.train_rows(size, seed)
    tconf = config.train_config(init, len(train_idx), seed)
    run_id = store.create_run(tconf.to_dict(), plan.fingerprint, label=label, status="running",
                              info={"classes": list(dataset.classes), "experiment_init": init,
                                    "split": f"experiment split_seed={config.split_seed}",
                                    "unseen_key_purity": KEY_PURITY})
    from core.training import trainer as train
    started = time.perf_counter()
    summary = train.train_run(dataset, tconf, store, run_id=run_id, callback=callback,
                              should_stop=should_stop, split=(train_idx, plan.val_idx),
                              tokens=None if plan.corpus is not None else plan.tokens,
                              corpus=plan.corpus, doc_idx=plan.doc_idx,
                              report_idx=plan.report_idx)
    if summary.status == "done":
        _save_unseen_flags(store, run_id, plan, train_idx)
    return _result_row(store, run_id, init, size, seed, time.perf_counter() - started)


def _result_row(store: RunStore, run_id: str, init: str, size: int | str, seed: int,
                seconds: float) -> dict[str, Any]:
    run = store.get_run(run_id)
    row: dict[str, Any] = {
        "run_id": run_id, "init": init, "size": str(size), "n_train": run.info.get("n_train", 0),
        "seed": seed, "status": run.status, **_epoch_scores(run),
        "n_val": run.info.get("n_val", 0), "n_report": run.info.get("n_report", np.nan),
        "train_seconds": round(seconds, 3)}
    if run.status == "done":
        u = unseen_word_accuracy(store, run_id)
        row.update(unseen_accuracy=u["unseen_accuracy"], n_unseen=u["n_unseen"],
                   unseen_any_accuracy=u["unseen_any_accuracy"], n_unseen_any=u["n_unseen_any"],
                   seen_accuracy=u["seen_accuracy"])
    return {c: row.get(c, np.nan) for c in RESULT_COLUMNS}


def _epoch_scores(run) -> dict[str, Any]:
    """A run's accuracy (its reporting part's, when held apart) at its best epoch and at its
    last, the best epoch's on the texts that chose it, which epoch was best, how many ran."""
    from core.store.headline import epoch_score

    best = run.best()
    row = {e["epoch"]: e for e in run.epochs}.get(best["epoch"]) if best else None
    return {"best_epoch_accuracy": epoch_score(row),
            "stop_accuracy": best["val_accuracy"] if best else np.nan,
            "last_epoch_accuracy": epoch_score(run.epochs[-1] if run.epochs else None),
            "best_epoch": best["epoch"] if best else 0, "epochs_run": len(run.epochs)}


def _migrate_results(store: RunStore, results: pd.DataFrame) -> pd.DataFrame:
    """Results stored before runs were scored at their best epoch (``val_accuracy`` was the
    last epoch's, ``best_val_accuracy`` the highest of any): rescored from the runs still in
    the store, else the last epoch's number stands in for the best."""
    if "best_epoch_accuracy" in results or "val_accuracy" not in results:
        return results
    rows = []
    for row in results.to_dict("records"):
        row["last_epoch_accuracy"] = row.get("val_accuracy", np.nan)
        row.update(best_epoch_accuracy=row["last_epoch_accuracy"], epochs_run=np.nan)
        try:
            row.update(_epoch_scores(store.get_run(row["run_id"])))
        except StoreError:
            pass  # the run was deleted
        rows.append(row)
    return pd.DataFrame(rows).reindex(columns=RESULT_COLUMNS)


def _accuracy(hit: np.ndarray) -> float:
    return float(hit.mean()) if len(hit) else float("nan")


def unseen_word_accuracy(store: RunStore, run_id: str) -> dict[str, Any]:
    """Validation accuracy of one run on all documents, on the unseen-key-word documents (see
    the module docstring), on the looser any-unseen-token subset and on the rest.
    Runs not made by an experiment have no key-word flags: their unseen subset is the
    any-unseen-token one (``key_purity`` None). With a reporting part, only its rows count."""
    if not store.get_run(run_id).status == "done":
        raise StoreError(f"Run {run_id} has not finished; its predictions are not final.")
    try:
        frame = store.load_frame(run_id, "val_predictions")
    except StoreError:
        raise StoreError(f"Run {run_id} has no stored validation predictions (it was made "
                         f"by an older version).") from None
    from core.training.reporting import scored_rows

    frame = scored_rows(frame)
    hit = (frame["pred"] == frame["label_id"]).to_numpy()
    anyu = frame["unseen_any"].to_numpy()
    key = frame["unseen_key"].to_numpy() if "unseen_key" in frame else anyu
    return {"run_id": run_id, "n_val": len(frame), "accuracy": _accuracy(hit),
            "n_unseen": int(key.sum()), "unseen_accuracy": _accuracy(hit[key]),
            "n_unseen_any": int(anyu.sum()), "unseen_any_accuracy": _accuracy(hit[anyu]),
            "n_seen": int((~key).sum()), "seen_accuracy": _accuracy(hit[~key]),
            "key_purity": KEY_PURITY if "unseen_key" in frame else None}


# ----------------------------------------------------------------------------- experiments

@dataclass(frozen=True)
class ExperimentEvent:
    """Progress of an experiment. kind: start | run_start | train | run_end | end.
    ``index`` is the 1-based number of the run among ``total``; ``train`` events carry the
    trainer's ``TrainEvent`` as ``data["event"]``."""

    kind: str
    experiment_id: str
    index: int
    total: int
    init: str = ""
    size: str = ""
    seed: int = -1
    run_id: str = ""
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    """An experiment as stored: its config, status, progress and results table."""

    experiment_id: str
    config: ExperimentConfig
    status: str
    done: int
    total: int
    fingerprint: str
    created: float
    updated: float
    error: str | None
    results: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        return summarize(self.results)


def experiment_dir(store: RunStore, experiment_id: str) -> Path:
    """``store.root/experiments/<id>``; ids look like run ids, so no path can escape."""
    try:
        check_run_id(experiment_id)
    except StoreError:
        raise StoreError(f"'{experiment_id}' is not a valid experiment id "
                         f"(expected e.g. 20260101-120000-a1b2c3).") from None
    root = (store.root / "experiments").resolve()
    folder = (root / experiment_id).resolve()
    if folder.parent != root:
        raise StoreError(f"Experiment {experiment_id} is outside the store.")
    return folder


def _save_results(store: RunStore, experiment_id: str, results: pd.DataFrame) -> None:
    """Results first, then the count in the jobs table: a reader never sees a count ahead
    of its rows."""
    folder = experiment_dir(store, experiment_id)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "results.parquet", lambda p: results.to_parquet(p, index=False))
    store.update_info(experiment_id, done=int((results["status"] == "done").sum()))


def load_experiment(store: RunStore, experiment_id: str) -> Experiment:
    """Read a stored experiment (queued, running, complete, cancelled or failed)."""
    folder = experiment_dir(store, experiment_id)
    job = store.get_job(experiment_id, "experiment")
    results = (_migrate_results(store, pd.read_parquet(folder / "results.parquet"))
               if (folder / "results.parquet").is_file() else _empty_results())
    return Experiment(experiment_id, ExperimentConfig.from_dict(job.config), job.status,
                      int(job.info.get("done", 0)), int(job.info.get("total", 0)),
                      job.fingerprint, job.created, job.updated, job.error, results)


def list_experiments(store: RunStore) -> list[Experiment]:
    """Every stored experiment, newest first."""
    return [load_experiment(store, job.run_id) for job in store.list_jobs("experiment")]


def experiment_label(experiment_id: str) -> str:
    return f"experiment:{experiment_id}"


def _empty_results() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in RESULT_COLUMNS})


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and (sample) standard deviation over seeds per (init, size), finished runs only:
    ``acc_*`` of the accuracy at each run's best epoch, ``last_*`` at its last epoch,
    with the 95 % interval of each mean (``*_low`` / ``*_high``, Student t over the seeds);
    one row per (init, size) in the order they were run."""
    done = results[results["status"] == "done"]
    if done.empty:
        return pd.DataFrame(columns=["init", "size", "n_train", "runs", "acc_mean", "acc_std"])
    numeric = done.astype({c: float for c in RESULT_COLUMNS[6:] if c in done})
    g = numeric.groupby(["init", "size"], sort=False)
    summary = g.agg(n_train=("n_train", "first"), runs=("run_id", "size"),
                    acc_mean=("best_epoch_accuracy", "mean"),
                    acc_std=("best_epoch_accuracy", "std"),
                    last_mean=("last_epoch_accuracy", "mean"),
                    last_std=("last_epoch_accuracy", "std"),
                    unseen_mean=("unseen_accuracy", "mean"), unseen_std=("unseen_accuracy", "std"),
                    n_unseen_mean=("n_unseen", "mean"),
                    unseen_any_mean=("unseen_any_accuracy", "mean"),
                    seen_mean=("seen_accuracy", "mean"),
                    seconds_mean=("train_seconds", "mean")).reset_index()
    return _with_intervals(summary, ("acc", "last", "unseen"))


def _with_intervals(summary: pd.DataFrame, prefixes) -> pd.DataFrame:
    from core.analysis.measures import mean_interval

    for prefix in prefixes:
        bounds = [mean_interval(m, s, int(n)) for m, s, n in
                  zip(summary[f"{prefix}_mean"], summary[f"{prefix}_std"], summary["runs"])]
        summary[f"{prefix}_low"] = [b[0] for b in bounds]
        summary[f"{prefix}_high"] = [b[1] for b in bounds]
    return summary


def _open(store: RunStore, dataset, config: ExperimentConfig, plan: Plan,
          experiment_id: str | None, extra: dict[str, Any]) -> tuple[str, pd.DataFrame]:
    """A new experiment in the jobs table, or the stored one to resume (same config and data
    only); returns its id and the results of the runs it already finished."""
    info = {**extra, "total": len(config.cells()), "classes": list(dataset.classes),
            "n_val": int(len(plan.val_idx)), "n_pool": int(len(plan.pool)),
            "n_report": 0 if plan.report_idx is None else int(len(plan.report_idx))}
    info["n_stop"] = info["n_val"] - info["n_report"]
    try:
        old = load_experiment(store, experiment_id) if experiment_id else None
    except StoreError:
        old = None  # a new experiment under the id the caller chose
    if old is None:
        experiment_id = store.create_job("experiment", config.to_dict(), plan.fingerprint,
                                         {**info, "done": 0}, job_id=experiment_id)
        return experiment_id, _empty_results()
    if old.config != config or old.fingerprint != plan.fingerprint:
        raise StoreError(f"Experiment {experiment_id} was made with other settings or data; "
                         f"start a new experiment instead.")
    store.update_info(experiment_id, **info)
    return experiment_id, old.results[old.results["status"] == "done"]


def _ordered(results: pd.DataFrame, config: ExperimentConfig) -> pd.DataFrame:
    order = {(i, str(s), k): n for n, (i, s, k) in enumerate(config.cells())}
    keys = [order.get((i, s, k), len(order)) for i, s, k in
            zip(results["init"], results["size"], results["seed"])]
    return results.iloc[np.argsort(keys, kind="stable")].reset_index(drop=True)


def run_learning_curve(dataset, config: ExperimentConfig, store: RunStore, *,
                       callback: Callable[[ExperimentEvent], None] | None = None,
                       should_stop: Callable[[], bool] | None = None,
                       experiment_id: str | None = None,
                       info: dict[str, Any] | None = None) -> pd.DataFrame:
    """Train every (init, size, seed) of ``config`` on one fixed validation set and return the
    results table (one row per run; ``summarize`` gives mean/std per (init, size)).
    ``info`` goes into the experiment's job info (e.g. the data set it names).

    Each run is a store run labelled ``experiment:<id>``; the experiment's record and results
    are rewritten after every run under ``store.root/experiments/<id>``. Passing the id of a
    stored experiment resumes it: finished runs are kept, the others are trained. ``should_stop``
    is polled between runs and between batches; a cancelled experiment keeps what it finished
    and ends with status ``cancelled``. The id is in ``frame.attrs["experiment_id"]``.
    """
    if experiment_id is not None:
        experiment_dir(store, experiment_id)  # refuse a bad id before any work
    plan = Plan.build(dataset, config, store)
    experiment_id, results = _open(store, dataset, config, plan, experiment_id, info or {})
    cells, label = config.cells(), experiment_label(experiment_id)
    finished = {(i, s, int(k)) for i, s, k in zip(results["init"], results["size"],
                                                   results["seed"])}
    rows = results.to_dict("records")
    status = "running"

    def save(error: str | None = None) -> pd.DataFrame:
        frame = _ordered(pd.DataFrame(rows, columns=RESULT_COLUMNS), config)
        _save_results(store, experiment_id, frame)
        store.set_status(experiment_id, status, error=error)
        frame.attrs["experiment_id"] = experiment_id
        return frame

    def emit(kind: str, index: int, *cell, run_id: str = "", **data: Any) -> None:
        if callback is not None:
            init, size, seed = cell or ("", "", -1)
            callback(ExperimentEvent(kind, experiment_id, index, len(cells), init, str(size),
                                     seed, run_id, data))

    save()
    emit("start", 0, done=len(finished))
    try:
        for n, (init, size, seed) in enumerate(cells, start=1):
            if (init, str(size), seed) in finished:
                continue
            if should_stop is not None and should_stop():
                status = "cancelled"
                break
            emit("run_start", n, init, size, seed)
            train_cb = None if callback is None else (
                lambda ev, n=n, c=(init, size, seed): emit("train", n, *c, run_id=ev.run_id,
                                                           event=ev))
            row = train_cell(dataset, plan, config, store, init, size, seed, label=label,
                             callback=train_cb, should_stop=should_stop)
            rows.append(row)
            if row["status"] == "cancelled":
                status = "cancelled"
                break
            save()
            emit("run_end", n, init, size, seed, run_id=row["run_id"], row=row)
        else:
            status = "done"
    except BaseException as exc:
        status = "failed"
        save(error=f"{type(exc).__name__}: {exc}")
        raise
    frame = save()
    emit("end", len(cells), status=status)
    return frame
