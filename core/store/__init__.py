"""The run store: one SQLite database (runs, experiments and their job status) plus a folder per run for arrays and tables.

``datasets``: the data sets users chose, kept under ``datasets/`` (content-addressed by
fingerprint), read back through ``core.data.loading``. ``names``: the one check of a display
name (runs, experiments, data sets). ``location``: the default store (``$EXPLORER_STORE``).

May import: ``core.errors``, ``core.common``, ``core.data`` (to read a stored data set)."""
