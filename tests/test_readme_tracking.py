"""Every snippet of the README's "Explore your own model" runs, as written, against small
stand-ins for the names it leaves to the reader (a model, its data), into the default store
($EXPLORER_STORE), and leaves the runs it promises."""
from __future__ import annotations

import os
import re

import numpy as np
import pytest
import torch

from core.store.runstore import RunStore
from tests.conftest import REPO, TEN_WORDS

os.environ.setdefault("KERAS_BACKEND", "torch")
WORDS = ["", "[UNK]"] + TEN_WORDS
TAGS = ["<pad>", "<unk>", "NOUN", "VERB", "ADJ"]


def snippets() -> dict[str, str]:
    """The section's python blocks, by their first line (a comment naming the case)."""
    text = REPO.joinpath("README.md").read_text()
    section = text.split("## Explore your own model", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    out = {}
    for block in blocks:
        lines = [ln[3:] if ln.startswith("   ") else ln for ln in block.splitlines()]
        out[lines[0]] = "\n".join(lines)
    return out


def _keras_model(*tables):
    from tests.test_track_keras_states import _model  # one int input per Embedding layer

    return _model(*tables)


def _torch_names() -> dict:
    model = torch.nn.Module()
    model.embedding = torch.nn.EmbeddingBag(len(WORDS), 4, padding_idx=0)
    model.out = torch.nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    batches = [(torch.from_numpy(rng.integers(0, len(WORDS), size=(8, 3))),
                torch.from_numpy(rng.integers(0, 2, size=8))) for _ in range(3)]

    def train_step(ids, y):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model.out(model.embedding(ids)), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    return {"model": model, "itos": ["<pad>"] + WORDS[1:], "batches": batches,
            "train_step": train_step, "acc": 0.5, "val_loss": 0.7}


def _names(case: str) -> dict:
    rng = np.random.default_rng(0)
    x, y = rng.integers(2, len(WORDS), size=(20, 3)), rng.integers(0, 2, size=20)
    if case.startswith("# Keras 3, several"):
        return {"vectorizer": WORDS, "tagger": _keras_model(("words", len(WORDS)),
                                                             ("tags", len(TAGS))),
                "x": x, "x_tags": x % len(TAGS), "y": y, "tag_vocabulary": TAGS}
    if case.startswith("# Keras 3"):
        return {"vectorizer": WORDS, "model": _keras_model(("embedding", len(WORDS))),
                "x": x, "y": y}
    if case.startswith("# PyTorch Lightning"):
        pytest.importorskip("lightning")
        from tests.test_track_lightning import Bag, _loader

        return {"itos": ["<pad>"] + WORDS[1:], "lit_model": Bag(),
                "train_loader": _loader(), "val_loader": _loader()}
    return _torch_names()


EXPECTED = {  # case -> (runs it leaves, a check of them)
    "# Keras 3: the Embedding": (1, lambda runs: runs[0].config["lr"] == 0.01),
    "# Keras 3, several": (2, lambda runs: len({r.config["group"] for r in runs}) == 1),
    "# plain PyTorch": (1, lambda runs: runs[0].config["lr"] == 0.01
                        and len(runs[0].epochs) == 2),
    "# in a notebook": (1, lambda runs: runs[0].status == "done"),
    "# PyTorch Lightning": (1, lambda runs: "val_accuracy" in runs[0].epochs[-1]),
}


def test_the_readme_shows_each_case():
    found = list(snippets())
    assert [next(k for k in EXPECTED if f.startswith(k)) for f in found] == list(EXPECTED)


@pytest.mark.parametrize("case", list(EXPECTED))
def test_readme_snippet_runs(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EXPLORER_STORE", str(tmp_path / "store"))
    code = next(c for first, c in snippets().items() if first.startswith(case))
    exec(compile(code, f"README:{case}", "exec"), _names(case))  # noqa: S102 (our README)
    runs = RunStore(tmp_path / "store").list_runs()
    count, check = EXPECTED[case]
    assert len(runs) == count and all(r.status == "done" for r in runs)
    assert check(runs)
    assert not (tmp_path / "runs").exists()  # the default store is $EXPLORER_STORE
