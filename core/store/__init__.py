"""The run store: one SQLite database (runs, experiments and their job status) plus a folder per run for arrays and tables.

May import: ``core.errors``, ``core.common``."""
