"""Training: the torch-free configs, the model, the trainer that snapshots the embedding layer into the store, and few-shot experiments.

The trainer's rooms: ``preparation`` (split, vocabulary, initial weights: ``Prepared``),
``bag`` (the bag's written-out step and its lazy Adam), ``stopping`` (early stopping's
``Best``, the snapshot schedule), ``recorder`` (snapshots, update counts, the inputs and
predictions a run writes), ``trainer`` (the loop, ``train_run``).

May import: ``core.errors``, ``core.common``, ``core.vectors``, ``core.data.loading``, ``core.analysis``, ``core.store.runstore``."""
