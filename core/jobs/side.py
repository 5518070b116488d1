"""The engine's second process: a run's comparison parts and pretrained fits, computed beside
the UMAP frames.

A snapshot's UMAP frame and its comparison part are independent (each reads the stored
snapshot and writes its own cache entry), and numba's UMAP code holds the GIL while it runs,
so a thread would not overlap them; a second process does, on the second core. Measured on
a quiet 2-core machine (bench/README.md, "A finished run's views"): a 6k-word x 11-snapshot
run that ends before the engine has seen it needed 6.2 s of frames, 4.9 s of comparison
parts and 2.0 s of pretrained fits one after the other.

Everything it computes is in the run's disk cache; ``views.finalize`` computes whatever is
not there, so a failed or killed side process costs time, never a view.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import threading
import time
from pathlib import Path


def one_blas_thread() -> None:
    """BLAS on one thread in this process. The engine's products are small (5,000 x 50) and
    numba's UMAP threads run beside them: with two BLAS threads on a 2-core machine under
    load, a snapshot's comparison part took ~3x longer (bench/README.md, "Views ready")."""
    import scipy.linalg  # noqa: F401 - load scipy's own BLAS too, so the limit covers it
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


def fit_pretrained(store, run_id: str, n_words: int) -> None:
    """The pretrained side of the finished-run views (the evolution's words in GloVe, the
    documents as mean GloVe vectors), fitted once while the run trains; at the end
    ``views.finalize`` only aligns them (core.runs.static_fits)."""
    from core.errors import ExplorerError
    from core.runs import views as runviews
    from core.runs.projections import evolution_rows
    from core.runs.static_fits import fitted

    config = runviews.projection_config("umap")
    try:
        rows, tokens = evolution_rows(store, run_id, n_words)
        words = [tokens[i] for i in rows]
        vectors, _ = runviews.pretrained_vectors(store, run_id, words, "glove")
        if len(vectors) >= 3:
            fitted(store, run_id, vectors, config)
        if runviews.documents_missing(store, run_id) is None:
            docs = store.load_docs(run_id)
            if len(docs) >= 5:
                fitted(store, run_id, runviews.mean_glove(store, run_id, docs), config)
    except ExplorerError:  # e.g. no GloVe words: finalize records what is missing
        pass


def _start(engine_pid: int) -> None:
    """In the side process: exit when the engine is gone (a kill -9 or SIGTERM of the engine
    runs no clean-up), one BLAS thread (as the engine), UMAP loaded from numba's cache."""
    from core.analysis.umap_runtime import warm_up

    threading.Thread(target=_follow, args=(engine_pid,), daemon=True).start()
    one_blas_thread()
    try:
        warm_up()
    except Exception:  # noqa: BLE001 - UMAP unusable: the fits fail, finalize records it
        pass


def _follow(engine_pid: int) -> None:
    from core.jobs.process import parent_watch

    gone = parent_watch(engine_pid)
    while not gone():
        time.sleep(1.0)
    os._exit(0)  # nothing of ours is half-written: the disk cache writes atomically


def _part(root: str, run_id: str, idx: int) -> int:
    from core.runs import comparison_parts
    from core.store.runstore import RunStore

    return comparison_parts.extend(RunStore(Path(root)), run_id, idx)


def _fits(root: str, run_id: str, n_words: int) -> None:
    from core.store.runstore import RunStore

    fit_pretrained(RunStore(Path(root)), run_id, n_words)


class Side:
    """One worker process for the engine's per-run work beside the frames; ``wait`` before a
    run's ``finalize`` so nothing is computed twice."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self.pool = cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                           initializer=_start, initargs=(os.getpid(),))
        self.pool.submit(int)  # start the process now: its imports and UMAP load take seconds
        self.pending: dict[str, list[cf.Future]] = {}

    def part(self, run_id: str, idx: int) -> None:
        self._submit(run_id, _part, idx)

    def fits(self, run_id: str, n_words: int) -> None:
        self._submit(run_id, _fits, n_words)

    def _submit(self, run_id: str, fn, *args) -> None:
        try:
            future = self.pool.submit(fn, self.root, run_id, *args)
        except (RuntimeError, cf.BrokenExecutor):  # the process died: finalize does it all
            return
        self.pending.setdefault(run_id, []).append(future)

    def wait(self, run_id: str) -> None:
        """Until the run's submitted work is done (its errors are finalize's to meet)."""
        cf.wait(self.pending.pop(run_id, []))

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
