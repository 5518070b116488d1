"""Pure maths over arrays: neighbourhood and similarity measures, 2-D projections. Arrays in, arrays or frames out; no store, no files but the numba cache.

Projection's rooms: ``projection_config`` (ProjectionConfig, Projection), ``umap_runtime``
(numba cache, warm-up, exact kNN, one UMAP fit), ``faithfulness`` (trustworthiness),
``projection`` (PCA and chained UMAP sequences, alignment, word selection). The strategies
benchmarks compare against live in ``bench/strategies.py``.

May import: ``core.errors``, ``core.common``."""
