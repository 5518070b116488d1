"""Watch a Keras 3 model's Embedding layer learn, in Embedding Explorer.

A tiny sentiment classifier (Embedding -> average -> Dense) on the bundled sample; the
``EmbeddingExplorer`` callback writes a snapshot of the embedding table before training and
after every epoch into the run store, where the dashboard shows it live (Train page) and,
once done, its evolution (Evolution page).

    KERAS_BACKEND=torch python examples/keras_sentiment.py --store runs --epochs 8
    make run        # then open the Evolution page

``--pause 5`` waits five seconds after each epoch; ``--step-file step`` waits after epoch N
until the file ``step`` holds N or more, so a class can watch one epoch at a time.

Keras runs on the torch backend here (no TensorFlow needed).
"""
from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import _sample  # noqa: E402  (the bundled sample as token ids; puts the repo on sys.path)
import keras  # noqa: E402

from core.track import EmbeddingExplorer  # noqa: E402


class Pause(keras.callbacks.Callback):
    """Wait after each epoch, so the run can be watched while it trains: ``seconds`` (``--pause``),
    or, with ``step_file`` (``--step-file``), until that file holds a number at least the epoch
    just finished (a class steps through the epochs: ``echo 2 > step``)."""

    def __init__(self, seconds: float = 0.0, step_file: str | None = None) -> None:
        super().__init__()
        self.seconds, self.step_file = seconds, step_file

    def on_epoch_end(self, epoch, logs=None) -> None:
        time.sleep(self.seconds)
        while self.step_file and _step(self.step_file) < epoch + 1:
            time.sleep(0.2)


def _step(path: str) -> int:
    """The epoch the step file allows (0 while it is missing or not yet a number)."""
    try:
        return int(open(path).read().strip() or 0)
    except (OSError, ValueError):
        return 0


def model_for(vocab_size: int, n_classes: int, dim: int) -> keras.Model:
    return keras.Sequential([
        keras.layers.Input((None,), dtype="int32"),
        keras.layers.Embedding(vocab_size, dim, mask_zero=True, name="embedding"),
        keras.layers.GlobalAveragePooling1D(name="pool"),  # the document vector
        keras.layers.Dense(n_classes, name="out"),
    ])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--store", default=os.environ.get("EXPLORER_STORE", "runs"))
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--dim", type=int, default=16)
    p.add_argument("--pause", type=float, default=0.0, help="seconds to wait after each epoch")
    p.add_argument("--step-file", help="after epoch N, wait until this file holds N or more")
    args = p.parse_args()
    keras.utils.set_random_seed(0)
    data = _sample.load()
    model = model_for(len(data.vocabulary), len(data.classes), args.dim)
    model.compile(optimizer=keras.optimizers.Adam(0.01), metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    explorer = EmbeddingExplorer(
        vocabulary=data.vocabulary, store=args.store, layer="embedding", every="epoch",
        name="keras sentiment (sample)",
        # optional: how often each word occurred in training, per class...
        counts=data.counts, class_counts=data.class_counts, classes=data.classes,
        # ...and labelled documents, seen through the layer after the embedding
        documents=[data.texts[i] for i in data.val],
        labels=[data.classes[data.labels[i]] for i in data.val],
        doc_inputs=data.ids[data.val], doc_layer="pool")
    paced = args.pause or args.step_file
    callbacks = [explorer] + ([Pause(args.pause, args.step_file)] if paced else [])
    model.fit(data.ids[data.train], data.labels[data.train], batch_size=32, epochs=args.epochs,
              validation_data=(data.ids[data.val], data.labels[data.val]),
              callbacks=callbacks, verbose=0)
    run = explorer.run
    print(json.dumps({"run_id": run.run_id, "snapshots": run.n_snapshots, "store": args.store}))


if __name__ == "__main__":
    main()
