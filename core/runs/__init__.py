"""Store-bound analysis: a store and a run id in, cached results out (comparisons, projected views, semantics over epochs, exports); how a run is named wherever it is listed (``naming``).

May import: ``core.errors``, ``core.common``, ``core.vectors``, ``core.data.loading``, ``core.analysis``, ``core.store``."""
