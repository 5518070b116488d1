"""Processes: the job queue for training runs and experiments (spawn, cancel, reconcile), the workers and the projection engine.

May import: everything below it (not ``core.cli``)."""
