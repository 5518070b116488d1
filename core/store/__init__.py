"""The run store: one SQLite database (runs, experiments and their job status) plus a folder per run for arrays and tables.

The store's rooms: ``records`` (statuses, ``RunInfo``, run ids, the best-epoch rule),
``migrate`` (the schema and older stores, on an open connection), ``locks`` (writer locks:
``Liveness``), ``disk`` (budget, run sizes, full-disk errors: ``DiskSpace``), ``files`` (a
run's arrays and tables: ``RunFiles``), ``runstore`` (``RunStore``: the rows, with those
three mixed in); ``headline`` (a run's chosen epoch and on which texts it was chosen
and scored, the rule every listing applies).
``names``: the one check of a display name (runs, experiments, data sets);
``location``: the default store (``$EXPLORER_STORE``, else ``./runs``).

``datasets``: the data sets users chose, kept under ``datasets/`` (content-addressed by
fingerprint), read back through ``core.data.loading``, and the rules of choosing one (``adopt``, the
bundled sample); ``uploads``: word-vector files users upload, kept for the workers.

May import: ``core.errors``, ``core.common``, ``core.data`` (to read a stored data set), ``core.vectors`` (to check an upload)."""
