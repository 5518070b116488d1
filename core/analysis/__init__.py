"""Pure maths over arrays: neighbourhood and similarity measures, 2-D projections. Arrays in, arrays or frames out; no store, no files but the numba cache.

May import: ``core.errors``, ``core.common``."""
