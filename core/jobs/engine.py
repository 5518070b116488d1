"""The projection engine: one long-lived process per run store that pays numba's compile cost
once (warm-up in the background at start) and then keeps every run's views computed.

Training workers only train; the engine watches the store. While a run trains it projects
each new snapshot for the live view (PCA until UMAP is warm, then UMAP started from the
previous layout) and computes the snapshot's part of the comparison measures
(core.runs.comparison_parts), and once per run the pretrained side's
fits (core.runs.static_fits); when a run is done it computes the stable evolution, the aligned pretrained
view, the document views and the comparison measures (core.runs.views.finalize). A file lock
makes sure only one engine serves a store; the dashboard starts it with ``ensure_engine``.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from core.jobs.process import spawn
from core.runs import evolution as chain
from core.runs import views as runviews
from core.store.locks import try_lock
from core.store.runstore import RunStore

LOCK_NAME = ".engine.lock"


class _Warm:
    """UMAP warm-up on a background thread; ``ready`` tells when UMAP is compiled."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.error: str | None = None
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        from core.analysis.umap_runtime import warm_up

        try:
            warm_up()
        except Exception as exc:  # UMAP unusable: the engine keeps serving PCA views
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.ready.set()


class Engine:
    """One pass of ``tick`` brings every run's views up to date; ``serve`` loops it."""

    def __init__(self, store: RunStore, warm: bool = True, method: str = "umap",
                 n_words: int = runviews.EVOLUTION_WORDS) -> None:
        self.store, self.method, self.n_words = store, method, n_words
        self.warm = _Warm() if warm else None
        self.live_done: dict[str, int] = {}
        self.fitted: set[str] = set()  # runs whose pretrained fits are made (static_fits)
        self.all_done: dict[str, int] = {}  # frames of each run's all-words chain so far

    @property
    def umap_ready(self) -> bool:
        return self.warm is not None and self.warm.ready.is_set() and self.warm.error is None

    def tick(self) -> int:
        """Update live previews, then finalize at most one finished run; returns the number
        of things computed (0 when idle)."""
        work = 0
        runs = self.store.list_runs()
        for run in runs:
            if run.status in ("running", "done", "cancelled", "failed"):
                work += self._live(run)
        for run in runs:
            if run.status == "done" and run.info.get("views") in (None, "pending", "computing"):
                self._finalize(run.run_id)
                return work + 1
        if work:  # the default pictures first: the all-words chain waits for a quiet tick
            return work
        return self._all_words(runs)

    def _all_words(self, runs) -> int:
        """One more frame of one run's all-words chain (every vocabulary word, when that is
        more than the default picture): a 50,000-word frame takes a while, so one per tick
        lets a new snapshot's default frame and a finished run's views go first. UMAP only
        once warm (PCA if UMAP is unusable); 1 if a frame was computed, else 0."""
        if self.method == "umap" and (self.warm is None or not self.warm.ready.is_set()):
            return 0
        use_umap = self.umap_ready and self.method == "umap"
        for run in runs:
            done = self.all_done.get(run.run_id)
            if run.n_snapshots == 0 or run.status not in ("running", "done") or (
                    done is not None and done >= run.n_snapshots):
                continue
            if done is None and not chain.has_more_words(self.store, run.run_id, self.n_words):
                self.all_done[run.run_id] = 1 << 30  # the default chain holds every word
                continue
            if done is None:
                found = chain.cached_chain(self.store, run.run_id, self.n_words, True)
                done = 0 if found is None else len(found[3])
                if done >= run.n_snapshots:
                    self.all_done[run.run_id] = done
                    continue
            method = chain.extend(self.store, run.run_id, run.snapshots[done]["idx"],
                                  use_umap, self.n_words, all_words=True)
            self.store.update_info(run.run_id, all_words_method=method)
            self.all_done[run.run_id] = done + 1
            return 1
        return 0

    def _live(self, run) -> int:
        done = self.live_done.get(run.run_id, -1)
        if run.n_snapshots == 0 or run.snapshots[-1]["idx"] <= done:
            return 0
        if done < 0 and run.status != "running" and "live_method" in run.info:
            self.live_done[run.run_id] = run.snapshots[-1]["idx"]  # served before a restart
            return 0
        from core.runs import comparison_parts as parts

        method = "pca"
        for snap in run.snapshots:  # catch up in order: each frame starts from the previous
            if snap["idx"] > done:
                method = chain.extend(self.store, run.run_id, snap["idx"], self.umap_ready,
                                      self.n_words)
                parts.extend(self.store, run.run_id, snap["idx"])  # the comparison's share
        self.live_done[run.run_id] = run.snapshots[-1]["idx"]
        self.store.update_info(run.run_id, live_method=method)
        if method == "umap" and run.run_id not in self.fitted:
            self.fitted.add(run.run_id)
            self._fit_static(run.run_id)
        return 1

    def _fit_static(self, run_id: str) -> None:
        """The pretrained side of the finished-run views (the evolution's words in GloVe, the
        documents as mean GloVe vectors), fitted once while the run trains; at the end
        ``views.finalize`` only aligns them (core.runs.static_fits)."""
        from core.errors import ExplorerError
        from core.runs.projections import evolution_rows
        from core.runs.static_fits import fitted

        config = runviews.projection_config("umap")
        try:
            rows, tokens = evolution_rows(self.store, run_id, self.n_words)
            words = [tokens[i] for i in rows]
            vectors, _ = runviews.pretrained_vectors(self.store, run_id, words, "glove")
            if len(vectors) >= 3:
                fitted(self.store, run_id, vectors, config)
            if runviews.documents_missing(self.store, run_id) is None:
                docs = self.store.load_docs(run_id)
                if len(docs) >= 5:
                    fitted(self.store, run_id, runviews.mean_glove(self.store, run_id, docs),
                           config)
        except ExplorerError:  # e.g. no GloVe words: finalize records what is missing
            pass

    def _finalize(self, run_id: str) -> None:
        if self.method == "umap" and self.warm is not None:
            self.warm.ready.wait()  # first finish after start waits for the compile
        method = self.method if self.umap_ready or self.method == "pca" else "pca"
        try:
            runviews.finalize(self.store, run_id, method, n_words=self.n_words)
        except Exception as exc:  # one bad run must not stop the engine
            self.store.update_info(run_id, views="failed",
                                   views_error=f"{type(exc).__name__}: {exc}")

    def serve(self, poll: float = 0.5, should_stop: Callable[[], bool] | None = None) -> None:
        while not (should_stop and should_stop()):
            if self.tick() == 0:
                time.sleep(poll)


def run_engine(store: RunStore, poll: float = 0.5, warm: bool = True,
               should_stop: Callable[[], bool] | None = None,
               n_words: int = runviews.EVOLUTION_WORDS) -> bool:
    """Serve the store if no other engine does; returns False at once if one already does."""
    lock = try_lock(store.root / LOCK_NAME)
    if lock is None:
        return False
    one_blas_thread()
    try:
        Engine(store, warm=warm, n_words=n_words).serve(poll, should_stop)
    finally:
        lock.close()
    return True


def one_blas_thread() -> None:
    """BLAS on one thread in this process. The engine's products are small (5,000 x 50) and
    numba's UMAP threads run beside them: with two BLAS threads on a 2-core machine under
    load, a snapshot's comparison part took ~3x longer (bench/README.md, "Views ready")."""
    import scipy.linalg  # noqa: F401 - load scipy's own BLAS too, so the limit covers it
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


def engine_running(store: RunStore) -> bool:
    lock = try_lock(store.root / LOCK_NAME)
    if lock is None:
        return True
    lock.close()
    return False


def ensure_engine(store: RunStore, parent: int | None = None) -> bool:
    """Start the engine process for this store unless one runs; True if one was started.
    With ``parent`` (the server's pid) the engine stops when that process ends."""
    if engine_running(store):
        return False
    extra = ["--parent", str(parent)] if parent else []
    spawn(["engine", "--store", str(store.root), *extra], store.root / "engine.log")
    return True
