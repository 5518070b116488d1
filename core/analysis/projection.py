"""Projection engine: 2-D pictures of embedding snapshots that stay stable across epochs.

Pure functions over arrays (the only files touched are numba's compile cache). Nothing here
imports ``umap`` at module import time (it costs ~20 s cold): every UMAP use imports it lazily,
and a server calls ``configure_numba_cache`` then ``warm_up`` once, in the background, at start.

Faithful and still (chosen by measurement, see ``bench/README.md`` "Evolution"): every frame is
fitted on its OWN snapshot — the first on its own, each later one starting from the previous
frame's layout (``project_incremental``), then aligned onto it by Procrustes — so a frame never
borrows structure from the end of training, and rows whose vector did not change keep their
exact place. The same chain serves the live preview and the finished run, frame by frame as
snapshots arrive. PCA is chained the same way (a PCA per frame). ``faithfulness`` scores each
frame against its own snapshot and against the final one.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from core.analysis.measures import procrustes_align
from core.common.checks import bounded, check_choice, check_fields

METHODS = ("umap", "pca")
METRICS = ("cosine", "euclidean", "correlation", "manhattan")
# Below 4096 rows umap defaults to exact neighbours, whose transform is very slow for us (16k
# points onto a 2k fit: 77 s vs 1.8 s, fit 24 s vs 2.8 s; bench/README.md). We always force the
# approximate (pynndescent) path: faster, and one compiled code path for every size.
FORCE_APPROXIMATION = True
# Live refits start from the previous layout; umap's default learning rate 1.0 shuffles it
# (cluster centroids moved 13 % of the extent on a 200-point test, 7 % at 0.25, trust equal):
# ProjectionConfig.live_learning_rate defaults to 0.25.
DEFAULT_CACHE_DIR = Path(__file__).resolve().parents[2] / ".cache" / "numba"


@dataclass(frozen=True)
class ProjectionConfig:
    """Settings of one projection."""

    method: str = "umap"  # "umap" | "pca"
    n_neighbors: int = bounded(15, 2, 200)
    min_dist: float = bounded(0.1, 0.0, 1.0)
    metric: str = "cosine"  # one of METRICS
    # fixed so the same input gives the same picture
    random_state: int = bounded(42, 0, 2**31 - 1)
    n_words: int = bounded(2000, 10, 50_000)  # words projected by default (see select_words)
    # epochs of a full fit (a chain's first frame); None lets umap choose: 500 below 10,000
    # points, 2.3x the time of 200 for +0.01 trustworthiness at 5,000 (bench/README.md)
    n_epochs: int | None = bounded(200, 10, 2000, optional=True)
    live_epochs: int = bounded(30, 5, 500)  # epochs of each chained (init-from-previous) refit
    live_learning_rate: float = bounded(0.25, 0.01, 1.0)  # of that refit (see above)
    trust_sample: int = bounded(1000, 50, 20_000)  # points used for the trustworthiness score
    trust_neighbors: int = bounded(10, 1, 100)

    def __post_init__(self) -> None:
        check_choice("method", self.method, METHODS)
        check_choice("metric", self.metric, METRICS)
        check_fields(self)

    def key(self) -> str:
        """Stable text form of the settings, used in cache keys."""
        return json.dumps(self.__dict__, sort_keys=True)


@dataclass(frozen=True)
class Projection:
    """Coordinates per frame (each n x 2 float32), seconds taken, and per frame the
    trustworthiness of the layout against that frame's own vectors (``trust``) and against the
    final frame's vectors (``trust_final``): a frame closer to the final vectors than to its
    own borrows structure it does not have yet; and against the previous frame's vectors
    (``trust_previous``, NaN for the first): a chained frame closer to its predecessor than
    to its own lags behind. Each is computed on a sample of rows (``trust_sample_size``)."""

    coords: tuple[np.ndarray, ...]
    trust: tuple[float, ...]
    seconds: float
    method: str
    trust_final: tuple[float, ...] = ()
    trust_previous: tuple[float, ...] = ()

    def borrowed(self, tolerance: float = 0.0) -> list[int]:
        """Frames whose layout is more faithful to the final vectors than to their own."""
        return [i for i, (own, final) in enumerate(zip(self.trust, self.trust_final))
                if final > own + tolerance]

    @property
    def stacked(self) -> np.ndarray:
        """All frames as one (T, n, 2) array."""
        return np.stack(self.coords)


@dataclass(frozen=True)
class WarmUpReport:
    seconds_import: float
    seconds_fit: float
    numba_cache_dir: str | None = field(default=None)


# --------------------------------------------------------------------------- numba / warm-up


def configure_numba_cache(path: Path | str | None = None) -> Path:
    """Point numba's on-disk cache at ``path`` (default: ``$NUMBA_CACHE_DIR`` if set, else
    ``<repo>/.cache/numba``) and make every function compiled from now on cacheable there.

    umap-learn declares one of its ~130 numba functions with ``cache=True``, so each new
    process compiled the rest again (30-60 s on these machines, the cold-start wait). Before
    ``umap`` is imported, ``numba.njit``/``numba.jit`` are wrapped to default to
    ``cache=True``; functions numba cannot cache (closures, first-class function arguments)
    are compiled as before. Must run before ``umap`` is imported to take full effect; if numba
    is already loaded its configuration is re-read.
    """
    folder = Path(path or os.environ.get("NUMBA_CACHE_DIR") or DEFAULT_CACHE_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    import sys

    import numba

    numba.core.config.reload_config()
    if "umap" not in sys.modules and not getattr(numba.njit, "_cached_by_default", False):
        for name in ("njit", "jit"):
            setattr(numba, name, _cache_by_default(getattr(numba, name)))
    return folder


def _cache_by_default(decorator):
    def wrapped(*args, **kwargs):
        kwargs.setdefault("cache", True)
        return decorator(*args, **kwargs)
    wrapped._cached_by_default = True
    return wrapped


def warm_up(metric: str = "cosine", seed: int = 0) -> WarmUpReport:
    """Import umap and run a tiny fit and an init-from-layout refit (the two fits a chained
    evolution makes), so numba compiles once, up front, into the cache (``make`` runs this
    at install time, so a fresh server only loads it)."""
    t0 = time.perf_counter()
    import umap  # noqa: F401  (the import itself is a large part of the cost)

    t1 = time.perf_counter()
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(128, 8)).astype(np.float32)
    cfg = ProjectionConfig(n_neighbors=10, metric=metric, n_epochs=10, live_epochs=5)
    model = _fit_umap(x, cfg)
    _fit_umap(x, cfg, init=np.asarray(model.embedding_), n_epochs=5,
              learning_rate=cfg.live_learning_rate)
    return WarmUpReport(t1 - t0, time.perf_counter() - t1, os.environ.get("NUMBA_CACHE_DIR"))


# --------------------------------------------------------------------------- small helpers


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float32)
    a.setflags(write=False)
    return a


def _check_frames(frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    if len(frames) == 0:
        raise ValueError("frames must contain at least one snapshot")
    out = [np.asarray(f, dtype=np.float32) for f in frames]
    shape = out[0].shape
    if len(shape) != 2 or shape[0] < 3:
        raise ValueError(f"each frame must be an n x d array with n >= 3, got {shape}")
    for i, f in enumerate(out):
        if f.shape != shape:
            raise ValueError(f"frame {i} has shape {f.shape}, expected {shape}")
    return out


def _umap_kwargs(cfg: ProjectionConfig, n: int) -> dict:
    return dict(
        n_neighbors=min(cfg.n_neighbors, n - 1),
        min_dist=cfg.min_dist,
        metric=cfg.metric,
        random_state=cfg.random_state,
        n_components=2,
        force_approximation_algorithm=FORCE_APPROXIMATION,
    )


def exact_knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` nearest rows by cosine distance, itself first (distance 0), as umap
    expects a precomputed neighbour graph: (indices n x k int64, distances n x k float32)."""
    from core.analysis.measures import nearest_neighbors, normalize_rows

    others = nearest_neighbors(x, k - 1)
    idx = np.concatenate([np.arange(len(x))[:, None], others], axis=1)
    unit = normalize_rows(x)
    dist = 1.0 - np.einsum("nd,nkd->nk", unit, unit[idx])
    dist[:, 0] = 0.0
    return idx, np.clip(dist, 0.0, 2.0).astype(np.float32)


def _fit_umap(x: np.ndarray, cfg: ProjectionConfig, init: np.ndarray | str = "spectral",
              n_epochs: int | None = None, learning_rate: float = 1.0,
              exact: bool = True):
    """One UMAP fit; returns the fitted model (``embedding_`` holds the layout).

    With the cosine metric the neighbour graph is computed exactly here and handed to umap:
    pynndescent's neighbour search is a numba function that takes the metric as an argument,
    which numba cannot cache, so it cost every new process ~30 s of compiling. (Fitted models
    then cannot ``transform``; the chained evolution never needs to.)"""
    import umap

    kwargs = _umap_kwargs(cfg, len(x))
    if exact and cfg.metric == "cosine":
        kwargs["precomputed_knn"] = exact_knn(x, kwargs["n_neighbors"])
    model = umap.UMAP(**kwargs, init=init, n_jobs=1, learning_rate=learning_rate,
                      n_epochs=n_epochs if n_epochs is not None else cfg.n_epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # umap warns about n_jobs/random_state and init noise
        model.fit(x)
    return model


def _transform(model, x: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(model.transform(x), dtype=np.float32)


def align_layout(reference: np.ndarray, coords: np.ndarray,
                 rows: tuple[np.ndarray, np.ndarray] | np.ndarray | None = None) -> np.ndarray:
    """Rotate/reflect, scale and shift a 2-D layout ``coords`` onto ``reference``, fitted on
    ``rows`` (``(reference_rows, coord_rows)``, one array for both, or all) and applied to every
    row of ``coords``: ``measures.procrustes_align`` with scaling and centring, as float32."""
    if isinstance(rows, tuple):
        rows = (rows[1], rows[0])
    out, _ = procrustes_align(coords, reference, scale=True, center=True, rows=rows)
    return out.astype(np.float32)


def layout_extent(coords: np.ndarray) -> float:
    """Largest side of the layout's bounding box (used to express displacements)."""
    c = np.asarray(coords)
    return float(np.ptp(c, axis=0).max()) if len(c) else 0.0


# --------------------------------------------------------------------------- faithfulness


def trustworthiness_score(high: np.ndarray, low: np.ndarray, *, n_sample: int = 1000,
                          n_neighbors: int = 10, metric: str = "euclidean",
                          seed: int = 0) -> float:
    """sklearn trustworthiness in [0, 1] on a random sample of rows (cheap at ~1000 points)."""
    from sklearn.manifold import trustworthiness

    n = len(high)
    idx = np.arange(n)
    if n > n_sample:
        idx = np.sort(np.random.default_rng(seed).choice(n, n_sample, replace=False))
    k = min(n_neighbors, max(1, len(idx) // 2 - 1))
    return float(trustworthiness(np.asarray(high)[idx], np.asarray(low)[idx],
                                 n_neighbors=k, metric=metric))


def trust_sample_size(n_rows: int, cfg: ProjectionConfig | None = None) -> int:
    """How many rows each trustworthiness score is computed on (``trustworthiness_score``
    samples ``cfg.trust_sample`` of them when there are more)."""
    return min(int(n_rows), (cfg or ProjectionConfig()).trust_sample)


def trust_previous(frames: Sequence[np.ndarray], coords: Sequence[np.ndarray],
                   cfg: ProjectionConfig) -> tuple[float, ...]:
    """Trustworthiness of each frame's layout against the PREVIOUS frame's vectors (NaN for
    the first): the chain's real risk is lagging behind, not borrowing from the end."""
    return (math.nan,) + _trust_all(frames[:-1], coords[1:], cfg)


def _trust_all(frames: Sequence[np.ndarray], coords: Sequence[np.ndarray],
               cfg: ProjectionConfig) -> tuple[float, ...]:
    return tuple(trustworthiness_score(f, c, n_sample=cfg.trust_sample,
                                       n_neighbors=cfg.trust_neighbors, metric=cfg.metric,
                                       seed=cfg.random_state)
                 for f, c in zip(frames, coords))


def faithfulness(frames: Sequence[np.ndarray], coords: Sequence[np.ndarray],
                 cfg: ProjectionConfig) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Trustworthiness of every frame's layout against its own vectors and against the final
    frame's vectors (the borrowed-structure check)."""
    own = _trust_all(frames, coords, cfg)
    return own, _trust_all([frames[-1]] * len(coords), coords, cfg)


def _projection(frames, coords, seconds: float, method: str,
                cfg: ProjectionConfig) -> Projection:
    coords = tuple(_readonly(c) for c in coords)
    own, final = faithfulness(frames, coords, cfg)
    return Projection(coords, own, seconds, method, final, trust_previous(frames, coords, cfg))


# --------------------------------------------------------------------------- PCA


def _pca_input(x: np.ndarray, metric: str) -> np.ndarray:
    """For the cosine metric PCA sees unit rows, so PCA and UMAP look at the same geometry."""
    x = np.asarray(x, dtype=np.float32)
    if metric != "cosine":
        return x
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


PCA_FITS = ("each", "final", "union")


def pca_frames(frames: Sequence[np.ndarray], config: ProjectionConfig = ProjectionConfig(),
               fit_on: str = "each") -> Projection:
    """PCA of every frame. ``each``: a PCA per frame, aligned onto the previous frame's layout
    (Procrustes on the rows that did not change) with those rows pinned, so every frame shows
    its own snapshot's main axes. ``final`` / ``union``: one PCA fitted on the final frame or
    on all frames and applied to every frame (earlier frames then borrow those axes)."""
    from sklearn.decomposition import PCA

    t0 = time.perf_counter()
    frames = _check_frames(frames)
    check_choice("fit_on", fit_on, PCA_FITS)
    if fit_on == "each" and len(frames) > 1:
        coords = tuple(_readonly(c) for c in _chained_coords(frames, config, method="pca"))
    else:
        xs = [_pca_input(f, config.metric) for f in frames]
        basis = xs[-1] if fit_on != "union" else np.concatenate(xs)
        pca = PCA(n_components=2, random_state=config.random_state).fit(basis)
        coords = tuple(_readonly(pca.transform(x)) for x in xs)
    return _projection(frames, coords, time.perf_counter() - t0, f"pca:{fit_on}", config)


# --------------------------------------------------------------------------- UMAP sequences


def _row_keys(frame: np.ndarray) -> list[bytes]:
    return [row.tobytes() for row in frame]


def _fit_transform_coords(frames: list[np.ndarray], cfg: ProjectionConfig,
                          pin: bool = True) -> list[np.ndarray]:
    """Fit on the final frame, transform the others.

    With ``pin``: a row equal to the final frame's row takes the fitted coordinates, and each
    distinct (word, vector) pair is transformed once, so unchanged words never move.
    """
    final = frames[-1]
    model = _fit_umap(final, cfg, exact=False)  # transform needs umap's own search index
    ref = np.asarray(model.embedding_, dtype=np.float32)
    if not pin:
        return [_transform(model, f) for f in frames[:-1]] + [ref]
    final_keys = _row_keys(final)
    todo: dict[tuple[int, bytes], int] = {}
    rows: list[np.ndarray] = []
    plan: list[list[tuple[int, int]]] = []  # per frame: (word, index into transformed rows)
    for f in frames[:-1]:
        frame_plan = []
        for i, key in enumerate(_row_keys(f)):
            if key == final_keys[i]:
                continue
            slot = todo.setdefault((i, key), len(rows))
            if slot == len(rows):
                rows.append(f[i])
            frame_plan.append((i, slot))
        plan.append(frame_plan)
    moved = _transform(model, np.stack(rows)) if rows else np.zeros((0, 2), np.float32)
    out = []
    for frame_plan in plan:
        c = ref.copy()
        for i, slot in frame_plan:
            c[i] = moved[slot]
        out.append(c)
    return out + [ref]


def first_layout(x: np.ndarray, cfg: ProjectionConfig) -> np.ndarray:
    """The layout of a sequence's first frame: fitted on that frame alone."""
    if cfg.method == "pca":
        return np.asarray(pca_frames([x], cfg, fit_on="final").coords[0])
    return np.asarray(_fit_umap(x, cfg).embedding_, dtype=np.float32)


def _chained_coords(frames: list[np.ndarray], cfg: ProjectionConfig,
                    method: str | None = None) -> list[np.ndarray]:
    """Per-frame fits, each started from the previous layout (``project_incremental``)."""
    if method is not None:
        cfg = dataclasses.replace(cfg, method=method)
    out = [first_layout(frames[0], cfg)]
    for prev_x, x in zip(frames[:-1], frames[1:]):
        out.append(project_incremental(out[-1], x, cfg, prev_snapshot=prev_x))
    return out


def _joint_coords(frames: list[np.ndarray], cfg: ProjectionConfig) -> list[np.ndarray]:
    """One fit over the distinct (word, vector) rows of all frames; a frame's coordinates are
    those of its rows, so a word whose vector did not change has one position throughout."""
    index: dict[tuple[int, bytes], int] = {}
    rows: list[np.ndarray] = []
    slots = []
    for f in frames:
        frame_slots = []
        for i, key in enumerate(_row_keys(f)):
            slot = index.setdefault((i, key), len(rows))
            if slot == len(rows):
                rows.append(f[i])
            frame_slots.append(slot)
        slots.append(np.array(frame_slots))
    layout = np.asarray(_fit_umap(np.stack(rows), cfg).embedding_, dtype=np.float32)
    return [layout[s] for s in slots]


def _aligned_coords(frames: list[np.ndarray], cfg: ProjectionConfig,
                    regularisation: float = 1.0e-2) -> list[np.ndarray]:
    """umap.AlignedUMAP with identity relations between consecutive frames."""
    import umap

    n = len(frames[0])
    relations = [{i: i for i in range(n)} for _ in frames[:-1]]
    kwargs = _umap_kwargs(cfg, n)
    model = umap.AlignedUMAP(**kwargs, n_epochs=cfg.n_epochs,
                             alignment_regularisation=regularisation)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(list(frames), relations=relations)
    return [np.asarray(e, dtype=np.float32) for e in model.embeddings_]


STRATEGIES: dict[str, Callable[[list[np.ndarray], ProjectionConfig], list[np.ndarray]]] = {
    "fit_transform": _fit_transform_coords,
    "fit_transform_raw": lambda fr, cfg: _fit_transform_coords(fr, cfg, pin=False),
    "chained": _chained_coords,
    "joint": _joint_coords,
    "aligned": _aligned_coords,
    "aligned_strong": lambda fr, cfg: _aligned_coords(fr, cfg, regularisation=0.1),
}


def project_sequence(frames: Sequence[np.ndarray],
                     config: ProjectionConfig = ProjectionConfig(),
                     strategy: str = "chained") -> Projection:
    """Stable 2-D projection of snapshots of the same n rows (a run's evolution).

    ``config.method == "pca"`` gives ``pca_frames`` (a PCA per frame, chained). For UMAP the
    default strategy fits the first frame on its own and each later frame starting from the
    previous layout (see module docstring); the alternatives exist for the benchmark.
    """
    xs = _check_frames(frames)
    if config.method == "pca":
        return pca_frames(xs, config)
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {sorted(STRATEGIES)}, got {strategy!r}")
    t0 = time.perf_counter()
    coords = STRATEGIES[strategy](xs, config)
    return _projection(xs, coords, time.perf_counter() - t0, f"umap:{strategy}", config)


def project_documents(doc_frames: Sequence[np.ndarray],
                      config: ProjectionConfig = ProjectionConfig()) -> Projection:
    """Document vectors (m x h per snapshot) projected the same stable way as words."""
    return project_sequence(doc_frames, config)


def project_static(vectors: np.ndarray, config: ProjectionConfig = ProjectionConfig()) -> Projection:
    """A single projection (e.g. documents as the mean of their pretrained word vectors)."""
    return project_sequence([vectors], config)


def project_incremental(prev_layout: np.ndarray, snapshot: np.ndarray,
                        config: ProjectionConfig = ProjectionConfig(),
                        prev_snapshot: np.ndarray | None = None) -> np.ndarray:
    """Cheap live preview of a newly arrived snapshot.

    Refits UMAP starting from ``prev_layout`` with ``config.live_epochs`` epochs, then aligns
    the result onto ``prev_layout`` (Procrustes with scaling). With ``prev_snapshot``, rows
    whose vector did not change keep their previous coordinates exactly (and if none changed,
    nothing is fitted). PCA configs project the snapshot alone and align it the same way.
    """
    prev = np.asarray(prev_layout, dtype=np.float32)
    x = np.asarray(snapshot, dtype=np.float32)
    if prev.shape != (len(x), 2):
        raise ValueError(f"prev_layout must be {len(x)} x 2, got {prev.shape}")
    same = np.zeros(len(x), dtype=bool)
    if prev_snapshot is not None:
        same = np.all(np.asarray(prev_snapshot, dtype=np.float32) == x, axis=1)
        if same.all():
            return prev.copy()
    if config.method == "pca":
        new = pca_frames([x], config, fit_on="final").coords[0]
    else:
        new = _fit_umap(x, config, init=prev, n_epochs=config.live_epochs,
                        learning_rate=config.live_learning_rate).embedding_
    anchors = np.flatnonzero(same) if same.sum() >= 3 else None
    out = align_layout(prev, np.asarray(new, dtype=np.float32), anchors)
    out[same] = prev[same]
    return out


def place_rows(base_frames: Sequence[np.ndarray], base_coords: Sequence[np.ndarray],
               new_frames: Sequence[np.ndarray], k: int = 10) -> list[np.ndarray]:
    """Positions of extra rows in every frame of an existing layout, without refitting it:
    each goes to the mean position of its ``k`` nearest rows (cosine) in the same frame's
    vectors, and keeps its previous position while its own vector does not change."""
    from core.analysis.measures import normalize_rows

    out: list[np.ndarray] = []
    for t, (xb, cb, xn) in enumerate(zip(base_frames, base_coords, new_frames)):
        sims = normalize_rows(xn) @ normalize_rows(xb).T
        k_ = min(k, len(xb))
        near = np.argpartition(-sims, k_ - 1, axis=1)[:, :k_]
        pos = np.asarray(cb, dtype=np.float32)[near].mean(axis=1)
        if t:
            same = np.all(np.asarray(xn) == np.asarray(new_frames[t - 1]), axis=1)
            pos[same] = out[-1][same]
        out.append(pos.astype(np.float32))
    return out


def project_pretrained(vectors: np.ndarray, reference: np.ndarray,
                       config: ProjectionConfig = ProjectionConfig(),
                       rows: tuple[np.ndarray, np.ndarray] | np.ndarray | None = None
                       ) -> Projection:
    """Project a pretrained space (n x d2) and align it onto a learned layout (k x 2).

    ``rows`` names the shared words as ``(reference_rows, vector_rows)`` (default: the same n
    words in the same order). Alignment is orthogonal Procrustes with scaling on the 2-D
    coordinates of those words, so the two pictures can be shown side by side.
    """
    t0 = time.perf_counter()
    single = project_static(vectors, config)
    aligned = _readonly(align_layout(reference, single.coords[0], rows))
    return Projection((aligned,), single.trust, time.perf_counter() - t0, single.method)


# --------------------------------------------------------------------------- which words


def select_words(counts: np.ndarray, train_counts: np.ndarray, n_top: int = 2000,
                 extra_words: Iterable[int | str] = (), include_unseen: bool = False, *,
                 itos: Sequence[str] | None = None, in_pretrained: np.ndarray | None = None,
                 max_unseen: int = 500, skip: Sequence[int] = (0, 1)) -> np.ndarray:
    """Row indices to project, in order: the ``n_top`` most frequent training words, then the
    requested ``extra_words`` (indices, or words looked up in ``itos``), then — with
    ``include_unseen`` — up to ``max_unseen`` words that occur in the texts and in the
    pretrained vectors (``in_pretrained`` mask) but never in training, most frequent first.
    ``skip`` (padding, unknown) is never selected. Unknown extra words raise ``KeyError``.
    """
    counts = np.asarray(counts)
    train = np.asarray(train_counts)
    allowed = np.ones(len(train), dtype=bool)
    allowed[list(skip)] = False
    seen = np.flatnonzero(allowed & (train > 0))
    top = seen[np.argsort(-train[seen], kind="stable")][:n_top]
    extra = _resolve_words(extra_words, itos, len(train))
    picked = [top, extra]
    if include_unseen:
        if in_pretrained is None:
            raise ValueError("include_unseen needs the in_pretrained mask")
        cand = np.flatnonzero(allowed & (train == 0) & (counts > 0) & np.asarray(in_pretrained))
        picked.append(cand[np.argsort(-counts[cand], kind="stable")][:max_unseen])
    merged = np.concatenate(picked).astype(np.int64)
    _, first = np.unique(merged, return_index=True)
    return merged[np.sort(first)]


def _resolve_words(words: Iterable[int | str], itos: Sequence[str] | None, n: int) -> np.ndarray:
    lookup = {w: i for i, w in enumerate(itos)} if itos is not None else None
    out = []
    for w in words:
        if isinstance(w, str):
            if lookup is None or w not in lookup:
                raise KeyError(f"word {w!r} is not in the vocabulary")
            out.append(lookup[w])
        elif 0 <= int(w) < n:
            out.append(int(w))
        else:
            raise KeyError(f"word index {w} is outside 0..{n - 1}")
    return np.asarray(out, dtype=np.int64)
