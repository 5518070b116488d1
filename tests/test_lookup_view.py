"""The Lookup table view (AppTest, no browser) over runs trained on the bundled sample: the
tokens and ids of the picked or typed text, the updates each row received, the equality with
the one-hot product and its cost table, a never-seen word's 0 updates and its neighbours,
and what the page says when a run recorded no counts or its next layer reads a sequence."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.data.text import UNK_ID, Vocab, tokenize
from tests.conftest import REPO, labelled, open_app


def _train(store, dataset, **kw) -> str:
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    return train_run(dataset, TrainConfig(**kw), store).run_id


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(root, sample run with glove, cnn run on the tiny data, run whose counts are removed,
    frozen glove run)."""
    from core.data.loading import load_dataset
    from core.store.runstore import RunStore

    root = tmp_path_factory.mktemp("lookup") / "runs"
    store = RunStore(root)
    sample = _train(store, load_dataset(REPO / "sample_data" / "sample.csv"), init="glove",
                    epochs=2, batch_size=32)
    cnn = _train(store, labelled(3), arch="cnn", epochs=2, batch_size=8)
    bare = _train(store, labelled(3), epochs=1, batch_size=8)
    for path in (store.run_dir(bare) / "snapshots").glob("updates_*.npy"):
        path.unlink()  # as an old or external run: no record of the rows each step touched
    frozen = _train(store, labelled(3), init="glove", freeze=True, epochs=1, batch_size=8)
    return root, sample, cnn, bare, frozen


def open_lookup(root, monkeypatch, run_id: str, text: str | None = None):
    at = open_app(root, monkeypatch, run_id)
    at.switch_page("screens/lookup.py").run()
    if text is not None:
        at.text_input(key="w_look_text").input(text).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def token_table(at):
    return next(d.value for d in at.dataframe if "token" in d.value.columns)


def figures(at) -> dict[str, dict]:
    specs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    return {s["layout"]["title"]["text"]: s for s in specs}


def z(spec: dict) -> np.ndarray:
    """A heatmap's values from the figure JSON (plotly may write them as base64 arrays)."""
    import base64

    value = spec["data"][0]["z"]
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")  # "11, 50" for a 2-D array
        return flat.reshape([int(n) for n in str(shape).split(",")]) if shape else flat
    return np.asarray(value, dtype=float)


def never_seen_word(store, run_id: str) -> str:
    """A word of the vocabulary (a validation text's) that no training text contains."""
    vocab = store.load_vocab(run_id)
    unseen = vocab[(vocab["train_count"] == 0) & vocab["in_pretrained"]]
    return str(unseen["token"].iloc[0])


def test_default_text_is_a_validation_document_with_its_ids_and_rows(runs, monkeypatch):
    from core.runs.updates import updates_received
    from core.store.runstore import RunStore

    root, sample = runs[0], runs[1]
    store = RunStore(root)
    at = open_lookup(root, monkeypatch, sample)
    first = store.load_docs(sample)["text"].iloc[0]
    table = token_table(at)
    vocab = Vocab.from_frame(store.load_vocab(sample))
    assert table["token"].tolist() == tokenize(first)
    assert table["id"].tolist() == vocab.encode(tokenize(first)).tolist()
    last = store.get_run(sample).snapshots[-1]["idx"]
    assert table["updates so far"].tolist() == \
        updates_received(store, sample, last)[table["id"]].tolist()
    rows = figures(at)
    heat = next(s for title, s in rows.items() if title.startswith("The rows these ids select"))
    assert len(heat["data"][0]["y"]) == len(table)
    rows_shown = z(heat)
    assert np.allclose(rows_shown, store.load_snapshot(sample, last)[table["id"]], atol=1e-6)
    pooled = heat["data"][1]  # a bag: under the rows, their mean on the same dimensions
    assert pooled["y"] == ["mean"]
    assert np.allclose(z({"data": [pooled]})[0], rows_shown.mean(axis=0), atol=1e-6)
    assert any("identical, bit for bit" in s.value for s in at.success)
    cost = next(d.value for d in at.dataframe if "one-hot × matrix" in d.value.index)
    assert cost.columns.tolist() == [f"{len(vocab):,} words", "400,000 words"]
    assert cost.loc["dimensions"].tolist() == ["50", "50"]
    assert cost.loc["text tokens"].tolist() == [str(len(table)), "20"]
    assert cost.loc["input: one-hot", "400,000 words"] == "32.0 MB"  # 20 x 400k x 4 B


def test_a_never_seen_word_shows_zero_updates_and_an_unmoved_row(runs, monkeypatch):
    from core.store.runstore import RunStore

    root, sample = runs[0], runs[1]
    word = never_seen_word(RunStore(root), sample)
    at = open_lookup(root, monkeypatch, sample, f"the hotel was {word} qqzzxx")
    table = token_table(at).set_index("token")
    assert table.loc[word, "updates so far"] == 0 and not table.loc[word, "seen in training"]
    assert table.loc["qqzzxx", "id"] == UNK_ID and table.loc["qqzzxx", "row"] == "<unk>"
    assert table.loc["hotel", "updates so far"] > 0
    said = " ".join(m.value for m in at.markdown)
    assert f"received 0 updates; its row moved by 0 since the start" in said
    near = next(d.value for d in at.dataframe if "nearest at the start" in d.value.columns)
    assert len(near) == 8 and word not in near["nearest at the start"].tolist()


def test_a_run_without_counts_says_so(runs, monkeypatch):
    root, bare = runs[0], runs[3]
    at = open_lookup(root, monkeypatch, bare, "a good film")
    assert "updates so far" not in token_table(at).columns
    assert any("did not record which rows each step touched" in i.value for i in at.info)


def test_a_cnn_run_has_no_pooled_mean_and_names_its_next_layer(runs, monkeypatch):
    root, cnn = runs[0], runs[2]
    at = open_lookup(root, monkeypatch, cnn, "a good film")
    heat = next(s for t, s in figures(at).items() if t.startswith("The rows these ids select"))
    assert len(heat["data"]) == 1  # the sequence of rows goes on: no pooled vector
    assert any("1-D convolution over the sequence of rows" in c.value for c in at.caption)


def test_typed_markup_stays_text_in_the_figure(runs, monkeypatch):
    root, sample = runs[0], runs[1]
    at = open_lookup(root, monkeypatch, sample, "<b>bold</b> hotel")
    heat = next(s for t, s in figures(at).items() if t.startswith("The rows these ids select"))
    labels = heat["data"][0]["y"]
    assert "1 · &lt;" in labels and not any("<" in y for y in labels)


def test_an_imported_table_without_unk_counts_or_documents(runs, monkeypatch):
    """As an imported run (contract D): its own word list (no <pad>/<unk>), no training
    counts, no documents, no architecture, no update counts: the page says what is missing."""
    import pandas as pd

    from core.store.runstore import RunStore

    store = RunStore(runs[0])
    rid = store.create_run({"source": "import"}, status="done")
    words = ["alpha", "beta", "gamma", "delta", "omega"]
    store.save_frame(rid, "vocab", pd.DataFrame({"token": words, "count": [0] * 5,
                                                 "train_count": [0] * 5}))
    store.update_info(rid, counts_known=False)
    table = np.arange(20, dtype=np.float32).reshape(5, 4)
    store.add_snapshot(rid, 0, 0, 0, table)
    at = open_lookup(runs[0], monkeypatch, rid, "gamma zeta alpha")
    shown = token_table(at)
    assert shown["id"].tolist() == [2, -1, 0] and shown["row"].tolist()[1] == "(no row)"
    assert "seen in training" not in shown.columns and "updates so far" not in shown.columns
    assert any("did not record which rows each step touched" in i.value for i in at.info)
    heat = next(s for t, s in figures(at).items() if t.startswith("The rows these ids select"))
    assert len(heat["data"]) == 1 and np.array_equal(z(heat), table[[2, 0]])
    assert any("does not say which layer follows" in c.value for c in at.caption)


def test_a_frozen_table_shows_no_updates(runs, monkeypatch):
    root, frozen = runs[0], runs[4]
    at = open_lookup(root, monkeypatch, frozen, "a good film")
    assert token_table(at)["updates so far"].tolist() == [0, 0, 0]
    assert any("this run's table is frozen" in c.value for c in at.caption)
