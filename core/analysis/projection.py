"""Projection engine: 2-D pictures of embedding snapshots that stay stable across epochs.

Pure functions over arrays (the only files touched are numba's compile cache). Beside it:
``projection_config`` (settings and result types), ``umap_runtime`` (numba cache, warm-up,
exact kNN, one UMAP fit), ``faithfulness`` (trustworthiness per frame).

Faithful and still (chosen by measurement, see ``bench/README.md`` "Evolution"): every frame is
fitted on its OWN snapshot — the first on its own, each later one starting from the previous
frame's layout (``project_incremental``), then aligned onto it by Procrustes — so a frame never
borrows structure from the end of training, and rows whose vector did not change keep their
exact place. The same chain serves the live preview and the finished run, frame by frame as
snapshots arrive. PCA is chained the same way (a PCA per frame). ``faithfulness`` scores each
frame against its own snapshot, against the final one and against the previous one.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Iterable, Iterator, Sequence

import numpy as np

from core.analysis.faithfulness import faithfulness, trust_previous
from core.analysis.measures import procrustes_align
from core.analysis.projection_config import Projection, ProjectionConfig
from core.analysis.umap_runtime import fit_umap
from core.common.checks import check_choice


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float32)
    a.setflags(write=False)
    return a


def check_frames(frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The frames as float32 arrays of one n x d shape (n >= 3), else ValueError."""
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


def scored_projection(frames, coords, seconds: float, method: str,
                      cfg: ProjectionConfig) -> Projection:
    """The frames' layouts as a read-only ``Projection``, scored by ``faithfulness``."""
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
    frames = check_frames(frames)
    check_choice("fit_on", fit_on, PCA_FITS)
    if fit_on == "each" and len(frames) > 1:
        coords = tuple(_readonly(c) for c in chained_coords(frames, config, method="pca"))
    else:
        xs = [_pca_input(f, config.metric) for f in frames]
        basis = xs[-1] if fit_on != "union" else np.concatenate(xs)
        pca = PCA(n_components=2, random_state=config.random_state).fit(basis)
        coords = tuple(_readonly(pca.transform(x)) for x in xs)
    return scored_projection(frames, coords, time.perf_counter() - t0, f"pca:{fit_on}", config)



def first_layout(x: np.ndarray, cfg: ProjectionConfig) -> np.ndarray:
    """The layout of a sequence's first frame: fitted on that frame alone."""
    if cfg.method == "pca":
        return np.asarray(pca_frames([x], cfg, fit_on="final").coords[0])
    return np.asarray(fit_umap(x, cfg).embedding_, dtype=np.float32)


def chain_layouts(frames: Iterable[np.ndarray], cfg: ProjectionConfig,
                  start: tuple[np.ndarray, np.ndarray] | None = None) -> Iterator[np.ndarray]:
    """The one chain rule, frame by frame as ``frames`` arrive: each layout is fitted on its
    own snapshot (the first alone, each later one from the previous layout,
    ``project_incremental``), so frame t depends only on snapshots 0..t. ``start`` =
    (previous layout, previous snapshot) continues a chain computed earlier (cached)."""
    prev_layout, prev_x = start if start is not None else (None, None)
    for x in frames:
        x = np.asarray(x, dtype=np.float32)
        layout = (first_layout(x, cfg) if prev_layout is None else
                  project_incremental(prev_layout, x, cfg, prev_snapshot=prev_x))
        yield layout
        prev_layout, prev_x = layout, x


def chained_coords(frames: list[np.ndarray], cfg: ProjectionConfig,
                   method: str | None = None) -> list[np.ndarray]:
    """Every frame's layout of an in-memory sequence (``chain_layouts``)."""
    if method is not None:
        cfg = dataclasses.replace(cfg, method=method)
    return list(chain_layouts(frames, cfg))


def project_sequence(frames: Sequence[np.ndarray],
                     config: ProjectionConfig = ProjectionConfig()) -> Projection:
    """Stable 2-D projection of snapshots of the same n rows (a run's evolution).

    ``config.method == "pca"`` gives ``pca_frames`` (a PCA per frame, chained). For UMAP the
    first frame is fitted on its own and each later frame starting from the previous layout
    (see module docstring); the strategies this was chosen over (fit-and-transform, one joint
    fit, AlignedUMAP) are in ``bench/strategies.py``.
    """
    xs = check_frames(frames)
    if config.method == "pca":
        return pca_frames(xs, config)
    t0 = time.perf_counter()
    coords = chained_coords(xs, config)
    return scored_projection(xs, coords, time.perf_counter() - t0, "umap:chained", config)


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
        new = fit_umap(x, config, init=prev, n_epochs=config.live_epochs,
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
                       rows: tuple[np.ndarray, np.ndarray] | np.ndarray | None = None,
                       fit: np.ndarray | None = None) -> Projection:
    """Project a pretrained space (n x d2) and align it onto a learned layout (k x 2).

    ``rows`` names the shared words as ``(reference_rows, vector_rows)`` (default: the same n
    words in the same order). Alignment is orthogonal Procrustes with scaling on the 2-D
    coordinates of those words, so the two pictures can be shown side by side. ``fit``: the
    vectors' own layout (``project_static``) made earlier; only the alignment is then done.
    """
    t0 = time.perf_counter()
    single = (project_static(vectors, config) if fit is None
              else Projection((np.asarray(fit),), (), 0.0, config.method))
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
