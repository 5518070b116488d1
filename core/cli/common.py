"""What every subcommand shares: the ``Command`` record, the parent parser with ``--store``,
options generated from a config dataclass, JSON output and the progress bar."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Command:
    """One subcommand: ``configure`` adds its arguments, ``run`` returns the exit code."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    store: bool = True  # takes --store (the shared parent parser)


def default_store() -> str:
    from core.store.location import default_store as where

    return str(where())


def store_parent() -> argparse.ArgumentParser:
    """The parent parser of every subcommand that works on a store: ``--store`` once."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--store", default=default_store(),
                        help="run store folder (default: $EXPLORER_STORE or ./runs)")
    return parent


def add_config_options(parser: argparse.ArgumentParser, cls: type,
                       helps: dict[str, str], defaults: Any = None) -> None:
    """``--field-name`` options for the named fields of a config dataclass, with the type and
    default the dataclass declares (``defaults``: an instance whose values to use instead)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name, help_text in helps.items():
        f = fields[name]
        default = getattr(defaults, name) if defaults is not None else (
            f.default if f.default is not dataclasses.MISSING else None)
        flag = "--" + name.replace("_", "-")
        if isinstance(default, bool):  # --name / --no-name, so a switch that is on can go off
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default,
                                help=f"{help_text} (default: {'on' if default else 'off'})")
            continue
        bounds = f.metadata.get("range")
        kind = type(bounds[0]) if bounds else type(default) if default is not None else str
        notes = ([f"{bounds[0]}..{bounds[1]}"] if bounds else []) + (
            [f"default {default}"] if default is not None else [])
        parser.add_argument(flag, type=kind, default=default,
                            help=f"{help_text} ({', '.join(notes)})" if notes else help_text)


def emit_json(obj: Any) -> None:
    """One JSON object as a line on stdout (the CLI's machine-readable result)."""
    sys.stdout.write(json.dumps(obj, default=_json_default) + "\n")
    sys.stdout.flush()


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def snapshot_progress(label: str) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` that rewrites one line on stderr."""
    def report(done: int, total: int) -> None:
        sys.stderr.write(f"\r{label}: snapshot {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()
    return report


class ProgressBar:
    """Training progress on stderr, driven by TrainEvents: a tqdm bar per epoch (batches and
    the loss), then one line per epoch with its validation scores."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream, self.bar = stream, None

    def __call__(self, event) -> None:
        if event.kind == "batch":
            self._advance(event)
        elif event.kind == "epoch" and "val_accuracy" not in event.data:  # word2vec: no classifier
            self._close()
            self._line(f"epoch {event.epoch} loss {event.data['train_loss']:.4f} "
                       f"WordSim353 {event.data.get('wordsim353', float('nan')):.3f}")
        elif event.kind == "epoch":
            self._close()
            self._line(f"epoch {event.epoch} val_acc {event.data['val_accuracy']:.4f} "
                       f"val_loss {event.data['val_loss']:.4f}")
        elif event.kind == "end":
            self._close()
            if event.data.get("stopped_early"):
                self._line(f"stopped early after epoch {event.epoch}: the validation loss "
                           f"last improved at epoch {event.data['best_epoch']}")
        elif event.kind == "start":
            self._line(f"run {event.run_id}: {event.data['n_train']} train / "
                       f"{event.data['n_val']} val, vocab {event.data['vocab_size']}")

    def _advance(self, event) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=event.data["n_batches"], desc=f"epoch {event.epoch}",
                            unit="batch", file=self.stream, leave=False, mininterval=0.1)
        self.bar.set_postfix(loss=f"{event.data['loss']:.4f}", refresh=False)
        self.bar.update(event.data["batch"] - self.bar.n)

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
