"""Watch a Keras 3 model's Embedding layer learn, in Embedding Explorer.

A tiny sentiment classifier (Embedding -> average -> Dense) on the bundled sample; the
``EmbeddingExplorer`` callback writes a snapshot of the embedding table before training and
after every epoch into the run store, where the dashboard shows it live (Train page) and,
once done, its evolution (Evolution page).

    KERAS_BACKEND=torch python examples/keras_sentiment.py --store runs --epochs 8
    make run        # then open the Evolution page

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
    """Wait after each epoch, so the run can be watched while it trains (``--pause``)."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def on_epoch_end(self, epoch, logs=None) -> None:
        time.sleep(self.seconds)


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
    callbacks = [explorer] + ([Pause(args.pause)] if args.pause else [])
    model.fit(data.ids[data.train], data.labels[data.train], batch_size=32, epochs=args.epochs,
              validation_data=(data.ids[data.val], data.labels[data.val]),
              callbacks=callbacks, verbose=0)
    run = explorer.run
    print(json.dumps({"run_id": run.run_id, "snapshots": run.n_snapshots, "store": args.store}))


if __name__ == "__main__":
    main()
