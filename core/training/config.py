"""The training configs, importable without torch (the Train page and the CLI parser read their
defaults and ranges from here before any model exists).

``TrainConfig`` defines one run; ``ExperimentConfig`` is a learning curve whose every run uses
its ``train`` config with the init, training size and seed of that cell; ``ModelConfig`` is the
classifier's shape. Each field's default and range is declared once, with ``bounded``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.common.checks import bounded, check_choice, check_fields

ARCHS = ("bag", "cnn", "gru")
INITS = ("random", "glove", "word2vec")
W2V_ALGORITHMS = ("skipgram", "cbow")
# What trains the table: the classifier's loss, or word2vec's (core/training/word2vec.py)
OBJECTIVES = ("classify", "skipgram", "cbow")
# word2vec's starting rates (gensim's skip-gram default; the original word2vec's CBOW rate):
# on clickbait CBOW at 0.025 ended with WordSim353 0.15, at 0.05 0.23 (bench/README.md).
WORD2VEC_LR = {"skipgram": 0.025, "cbow": 0.05}
SNAPSHOT_MODES = ("all", "ends")  # all: step 0 and every epoch; ends: step 0 and the last epoch
BUILTIN_INITS = ("random", "glove", "glove-frozen", "word2vec", "word2vec-cbow")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run. ``init`` is random|glove|word2vec or a vector file path.
    With pretrained init, the embedding dim follows the vectors and ``dim`` is ignored."""

    arch: str = "bag"
    # classify: the classifier's loss trains the table; skipgram|cbow: word2vec's (negative
    # sampling, gensim) trains the same table on the texts, no classifier (labels optional).
    objective: str = "classify"
    dim: int = bounded(50, 2, 1000)
    init: str = "random"
    w2v_algorithm: str = "skipgram"
    freeze: bool = False
    # 10 with early stopping (patience 2): on clickbait the GloVe bag's validation loss is
    # lowest at epoch 3 and training ends at 5; lr 0.02 rather than 0.05 (best at epoch 1-2)
    # closed the gap to fastText from 0.12 to 0.05 points (bench/README.md, "Accuracy vs
    # fastText"; medians of 5 seeds).
    epochs: int = bounded(10, 1, 1000)
    # None = automatic (see effective_batch_size): 1024 on clickbait-size data, measured in
    # bench/README.md (~4x faster per token than 64 at the same accuracy), but small enough on
    # a few hundred texts that an epoch is still ~20 updates rather than one.
    batch_size: int | None = bounded(None, 1, 65536, optional=True)
    lr: float = bounded(0.02, 0.0, 10.0, open_low=True)
    train_size: int | None = bounded(None, 2, 100_000_000, optional=True)
    val_fraction: float = bounded(0.2, 0.05, 0.5)
    snapshot_every: int = bounded(0, 0, 10_000_000)
    seed: int = bounded(0, 0, 2**32 - 1)
    min_count: int = bounded(1, 1, 1_000_000)
    max_vocab: int = bounded(50_000, 10, 2_000_000)
    doc_sample: int = bounded(500, 0, 100_000)
    max_len: int = bounded(200, 1, 100_000)
    hidden: int = bounded(64, 2, 4096)
    snapshots: str = "all"
    # Early stopping on the validation loss: training ends once it has not improved by more
    # than min_delta for `patience` epochs in a row. The best epoch (lowest validation loss)
    # is recorded whether or not the switch is on.
    early_stopping: bool = True
    patience: int = bounded(2, 1, 1000)
    min_delta: float = bounded(0.0, 0.0, 100.0)

    def __post_init__(self) -> None:
        check_choice("arch", self.arch, ARCHS)
        check_choice("objective", self.objective, OBJECTIVES)
        if self.objective != "classify" and self.freeze:
            raise ValueError(f"freeze=True with objective={self.objective!r}: word2vec trains "
                             "only the table, a frozen one cannot learn")
        if not isinstance(self.early_stopping, bool):
            raise ValueError(f"early_stopping must be true or false, got {self.early_stopping!r}")
        if not isinstance(self.init, str) or not self.init.strip():
            raise ValueError(f"init must be one of {INITS} or a vector file path, got {self.init!r}")
        check_choice("w2v_algorithm", self.w2v_algorithm, W2V_ALGORITHMS)
        check_choice("snapshots", self.snapshots, SNAPSHOT_MODES)
        check_fields(self)
        if self.freeze and self.init == "random":
            raise ValueError("freeze=True needs a pretrained init (glove, word2vec or a file): "
                             "a frozen random table cannot learn anything")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Read a stored config. Configs stored before early stopping existed ran every
        epoch: they read back with it off, so a stored config still says what was done."""
        if "early_stopping" not in data:
            data = {**data, "early_stopping": False}
        return cls(**data)


DEVICES = ("auto", "cpu", "cuda")  # auto: CUDA when torch sees one, else the CPU


@dataclass(frozen=True)
class DistributedConfig:
    """How many processes train one run (``core.training.distributed``) and on which device.
    ``timeout``: seconds a process waits for the others at a collective (a rank that dies
    is noticed at once by its peers; this bounds a rank that hangs)."""

    processes: int = bounded(1, 1, 64)
    device: str = "auto"
    timeout: float = bounded(1800.0, 1.0, 86400.0)

    def __post_init__(self) -> None:
        check_choice("device", self.device, DEVICES)
        check_fields(self)


def effective_batch_size(config: TrainConfig, n_train: int) -> int:
    """The configured batch size, or by default about 20 updates per epoch, between 16 and
    1024 rows per batch."""
    if config.batch_size is not None:
        return config.batch_size
    return int(min(1024, max(16, n_train // 20)))


def planned_snapshot_count(config: TrainConfig, n_train: int) -> int:
    """At most how many snapshots a run of ``config`` on ``n_train`` training texts writes,
    its best epoch's table included (``store.disk.planned_snapshots``): the one count the
    trainer's disk check and the Train page's estimate share."""
    from core.store.disk import planned_snapshots

    batches = -(-n_train // effective_batch_size(config, n_train))
    return planned_snapshots(config.epochs, batches, config.snapshots == "all",
                             config.snapshot_every, keeps_best=True)


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the classifier. ``hidden`` is used by ``cnn`` and ``gru`` only."""

    arch: str
    vocab_size: int = bounded(dataclasses.MISSING, 3, 5_000_000)
    dim: int = bounded(dataclasses.MISSING, 2, 1000)
    n_classes: int = bounded(dataclasses.MISSING, 2, 1000)
    hidden: int = bounded(64, 2, 4096)
    kernel_size: int = bounded(3, 1, 15)

    def __post_init__(self) -> None:
        check_choice("arch", self.arch, ARCHS)
        check_fields(self)


# Few-shot runs are short and small: smaller batches and a lower rate than a full run.
EXPERIMENT_TRAIN = TrainConfig(epochs=10, batch_size=32, lr=0.01, doc_sample=200)
# Fields experiments stored flat before they composed a TrainConfig (migrated on read).
_FLAT_TRAIN_FIELDS = ("arch", "dim", "epochs", "batch_size", "lr", "val_fraction", "doc_sample",
                      "snapshots")


@dataclass(frozen=True)
class ExperimentConfig:
    """A learning-curve experiment. ``sizes``: training-set sizes (ints >= 2) or ``"all"``;
    ``inits``: names from ``BUILTIN_INITS`` or paths to vector files; ``seeds``: how many train
    seeds (0..seeds-1) per (init, size); ``train``: every run's settings, of which the init,
    training size and seed are set per run; ``report_fraction``: the share of the fixed
    validation set held apart to score each run's chosen epoch (the rest chooses it; 0: the
    same texts do both, as experiments stored before it did)."""

    sizes: tuple = (100, 500, "all")
    inits: tuple = ("random", "glove")
    seeds: int = bounded(3, 1, 100)
    split_seed: int = bounded(0, 0, 2**32 - 1)
    train: TrainConfig = EXPERIMENT_TRAIN
    report_fraction: float = bounded(0.5, 0.0, 0.9)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", tuple(_size(s) for s in _seq("sizes", self.sizes)))
        object.__setattr__(self, "inits", tuple(_init(i) for i in _seq("inits", self.inits)))
        check_fields(self)
        if not isinstance(self.train, TrainConfig):
            raise ValueError(f"train must be a TrainConfig, got {type(self.train).__name__}")
        if self.train.objective != "classify":  # a learning curve measures accuracy
            raise ValueError(f"train.objective must be 'classify' in an experiment, got "
                             f"{self.train.objective!r}")
        for init in self.inits:  # TrainConfig names the offending field and its range
            self.train_config(init, None, self.seeds - 1)

    def train_config(self, init: str, n_train: int | None, seed: int) -> TrainConfig:
        """The ``TrainConfig`` of one run."""
        name, freeze, algorithm = init, False, "skipgram"
        if init == "glove-frozen":
            name, freeze = "glove", True
        elif init.startswith("word2vec"):
            name, algorithm = "word2vec", "cbow" if init == "word2vec-cbow" else "skipgram"
        return dataclasses.replace(self.train, init=name, w2v_algorithm=algorithm,
                                   freeze=freeze, train_size=n_train, seed=seed)

    def cells(self) -> list[tuple[str, int | str, int]]:
        """Every (init, size, seed), in run order: sizes ascending within each seed."""
        return [(i, s, k) for i in self.inits for k in range(self.seeds) for s in self.sizes]

    def to_dict(self) -> dict[str, Any]:
        return {"sizes": list(self.sizes), "inits": list(self.inits), "seeds": self.seeds,
                "split_seed": self.split_seed, "train": self.train.to_dict(),
                "report_fraction": self.report_fraction}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExperimentConfig:
        """Read a stored config; older stores kept eight training fields flat."""
        known = {k: data[k] for k in ("sizes", "inits", "seeds", "split_seed") if k in data}
        # stored before the reporting part existed: those runs were scored on every row
        known["report_fraction"] = data.get("report_fraction", 0.0)
        if "train" in data:
            train = TrainConfig.from_dict(data["train"])
        else:  # older still: no early stopping either
            flat = {k: data[k] for k in _FLAT_TRAIN_FIELDS if k in data}
            train = dataclasses.replace(EXPERIMENT_TRAIN, early_stopping=False, **flat)
        return cls(**known, train=train)


def _seq(name: str, value: Any) -> tuple:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{name} must be a non-empty list, got {value!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"{name} must not repeat a value, got {list(value)!r}")
    return tuple(value)


def _size(value: Any) -> int | str:
    if value == "all":
        return "all"
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 100_000_000:
        raise ValueError(f"sizes: each size must be an integer in [2, 100000000] or 'all', "
                         f"got {value!r}")
    return value


def _init(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"inits: each init must be one of {BUILTIN_INITS} or a vector file "
                         f"path, got {value!r}")
    if value not in BUILTIN_INITS and not Path(value).is_file():
        raise ValueError(f"inits: {value!r} is neither one of {BUILTIN_INITS} nor an existing "
                         f"vector file")
    return value
