"""The train/validation split, torch-free (the Experiments page sizes its pool with it)."""
from __future__ import annotations

import numpy as np

from core.errors import DataError
from core.training.config import ExperimentConfig, TrainConfig


def split_indices(labels: np.ndarray, config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, seeded train/validation split; the validation set depends only on the
    seed and val_fraction, so runs with different training-set caps share it."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    counts = np.bincount(labels)
    if (counts[counts > 0] < 2).any():
        raise DataError("Every class needs at least 2 examples to split into training and "
                        "validation; some class has only 1.")
    n_val = max(int(round(len(labels) * config.val_fraction)), len(np.flatnonzero(counts)))
    if len(labels) - n_val < len(np.flatnonzero(counts)):
        raise DataError(f"Too few rows ({len(labels)}) to split into training and validation.")
    train, val = train_test_split(idx, test_size=n_val, stratify=labels,
                                  random_state=config.seed)
    if config.train_size is not None and config.train_size < len(train):
        train = _cap_training(train, labels, config)
    return np.sort(train), np.sort(val)


def experiment_split(labels: np.ndarray, config: ExperimentConfig) -> tuple[np.ndarray, np.ndarray]:
    """An experiment's (training pool, validation set): the one validation set all its runs
    share (``split_seed``); its training sizes are drawn from the pool."""
    return split_indices(np.asarray(labels), config.train_config("random", None,
                                                                 config.split_seed))


def experiment_pool_size(labels: np.ndarray, config: ExperimentConfig | None = None) -> int:
    """How many texts an experiment can train on (its pool after the validation split): the
    largest training size the Experiments page offers."""
    return len(experiment_split(labels, config or ExperimentConfig())[0])


def _cap_training(train: np.ndarray, labels: np.ndarray, config: TrainConfig) -> np.ndarray:
    from sklearn.model_selection import train_test_split

    n_classes = len(np.unique(labels[train]))
    if config.train_size < n_classes:
        raise DataError(f"train_size {config.train_size} is smaller than the number of "
                        f"classes ({n_classes}).")
    try:
        kept, _ = train_test_split(train, train_size=config.train_size,
                                   stratify=labels[train], random_state=config.seed)
    except ValueError:  # a class too small to stratify at this size
        rng = np.random.default_rng(config.seed)
        kept = rng.choice(train, size=config.train_size, replace=False)
    return kept
