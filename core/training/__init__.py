"""Training: the torch-free configs, the model, the trainer that snapshots the embedding layer into the store, and few-shot experiments.

May import: ``core.errors``, ``core.common``, ``core.vectors``, ``core.data.loading``, ``core.analysis``, ``core.store.runstore``."""
