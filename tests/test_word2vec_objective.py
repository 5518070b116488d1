"""The word2vec objective: the run's own table trained by gensim skip-gram/CBOW and
snapshotted into an ordinary run (core/training/word2vec.py)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import labelled
from core.store.runstore import RunStore
from core.training.config import TrainConfig


def test_objective_is_validated():
    assert TrainConfig().objective == "classify"
    with pytest.raises(ValueError, match="objective"):
        TrainConfig(objective="glove")
    with pytest.raises(ValueError, match="freeze"):
        TrainConfig(objective="cbow", init="glove", freeze=True)


@pytest.fixture(scope="module")
def skipgram_run(tmp_path_factory):
    from core.training.trainer import train_run

    store = RunStore(tmp_path_factory.mktemp("w2v"))
    events = []
    summary = train_run(labelled(3), TrainConfig(objective="skipgram", epochs=3, dim=8,
                                                 batch_size=16, snapshot_every=2),
                        store, callback=events.append)
    return store, summary, events


def test_skipgram_run_snapshots_step0_steps_and_epochs(skipgram_run):
    store, summary, events = skipgram_run
    run = store.get_run(summary.run_id)
    assert run.status == "done" and run.config["objective"] == "skipgram"
    # 48 training texts / 16 = 3 steps an epoch, 9 in all: step 0, steps 2,4,6,8 and the
    # ends of epochs 1..3 (steps 3, 6 is a step snapshot already, 9)
    steps = [s["step"] for s in run.snapshots]
    assert steps == [0, 2, 3, 4, 6, 8, 9]
    assert [e.kind for e in events].count("snapshot") == len(steps)
    assert events[-1].kind == "end"
    assert "wordsim353" in run.epochs[-1] and "val_accuracy" not in run.epochs[-1]


def test_rows_follow_the_vocabulary_and_untouched_rows_keep_their_start(skipgram_run):
    store, summary, _ = skipgram_run
    itos = store.load_vocab(summary.run_id)["token"].tolist()
    first = store.load_snapshot(summary.run_id, 0)
    last = store.load_snapshot(summary.run_id, store.get_run(summary.run_id).n_snapshots - 1)
    moved = ~np.isclose(first, last).all(axis=1)
    assert not moved[itos.index("<pad>")] and not moved[itos.index("<unk>")]
    assert moved[itos.index("good")] and moved[itos.index("bad")]
    info = store.get_run(summary.run_id).info
    assert info["word2vec_untouched_rows"] >= 2  # <pad>, <unk> and validation-only words
    assert info["n_docs"] == 0 and info["word2vec_quality"]["n_tokens"] > 0
    # no classifier: no document vectors
    assert not (store.run_dir(summary.run_id) / "snapshots" / "doc_0000.npy").exists()


def test_row_i_is_gensims_vector_of_itos_i(tmp_path):
    """Same texts, same seed: the run's last table is plain gensim's, row by row."""
    from core.training.trainer import prepare, train_run
    from core.training.word2vec import _sentences
    from core.vectors.pretrained import new_word2vec

    store = RunStore(tmp_path)
    config = TrainConfig(objective="cbow", epochs=2, dim=8, lr=0.025)
    summary = train_run(labelled(3), config, store)
    sentences, _ = _sentences(prepare(labelled(3), config))
    model = new_word2vec(dim=8, algorithm="cbow", seed=0, epochs=2, alpha=0.025)
    model.build_vocab(sentences)
    model.train(sentences, total_examples=len(sentences), epochs=2)
    itos = store.load_vocab(summary.run_id)["token"].tolist()
    last = store.load_snapshot(summary.run_id, summary.snapshots - 1)
    for word in ("good", "awful", "river"):
        np.testing.assert_allclose(last[itos.index(word)], model.wv[word], atol=1e-4)


def test_glove_init_is_the_start_word2vec_trains_from(tmp_path):
    from core.training.trainer import train_run
    from core.vectors.pretrained import glove

    store = RunStore(tmp_path)
    summary = train_run(labelled(3), TrainConfig(objective="cbow", init="glove", epochs=1),
                        store)
    itos = store.load_vocab(summary.run_id)["token"].tolist()
    first = store.load_snapshot(summary.run_id, 0)
    np.testing.assert_allclose(first[itos.index("river")], glove()["river"], atol=1e-6)


def test_cli_reads_objective():
    from core.cli import build_parser
    from core.cli.training import train_config_from_args

    args = build_parser().parse_args(["train", "x.csv", "--objective", "cbow"])
    assert train_config_from_args(args).objective == "cbow"


def test_a_text_only_file_trains_word2vec_but_not_a_classifier(tmp_path, capsys):
    from core.cli import main

    data = tmp_path / "texts.csv"
    data.write_text("text\n" + "".join(f"{a} and {b} went to the lake\n"
                                       for a in ("cats", "dogs", "birds", "fish")
                                       for b in ("mice", "owls", "frogs")), encoding="utf-8")
    store = str(tmp_path / "store")
    assert main(["train", str(data), "--store", store, "--objective", "skipgram",
                 "--epochs", "1", "--quiet"]) == 0
    assert main(["train", str(data), "--store", store, "--epochs", "1", "--quiet"]) == 2
    assert "label" in capsys.readouterr().err
    run = RunStore(store).list_runs()[0]
    assert run.status == "done" and run.info["classes"] == ["(no label)"]


def test_init_from_a_word2vec_run_starts_from_its_trained_rows(skipgram_run):
    """Pretrain, then fine-tune: snapshot 0 of the classifier is the word2vec run's table for
    every word it trained; <pad>/<unk> and rows it never changed are not taken."""
    from core.training.trainer import train_run

    store, w2v, _ = skipgram_run
    summary = train_run(labelled(3), TrainConfig(init=f"run:{w2v.run_id}", epochs=1), store)
    source = store.load_snapshot(w2v.run_id, w2v.snapshots - 1)
    start = store.load_snapshot(summary.run_id, 0)
    src_words = store.load_vocab(w2v.run_id)["token"].tolist()
    words = store.load_vocab(summary.run_id)["token"].tolist()
    np.testing.assert_allclose(start[words.index("lake")], source[src_words.index("lake")])
    assert start.shape[1] == source.shape[1] == 8
    found = store.load_vocab(summary.run_id)["in_pretrained"].to_numpy()
    assert not found[words.index("<unk>")]


def test_init_from_an_unfinished_or_missing_run_is_refused(skipgram_run):
    from core.errors import StoreError
    from core.training.trainer import train_run

    store, _, _ = skipgram_run
    with pytest.raises(StoreError):
        train_run(labelled(3), TrainConfig(init="run:20200101-000000-abcdef", epochs=1), store)


def test_scores_on_benchmark_rows_equal_the_whole_table():
    from core.analysis.measures import word_similarity
    from core.training.word2vec import _scores
    from core.vectors.pretrained import glove

    kv = glove()
    words = kv.index_to_key[:3000]
    table = np.asarray(kv.vectors[:3000])
    full = word_similarity(words, table, "wordsim353")
    assert full.n_found > 30
    assert _scores(words, table)["wordsim353"] == pytest.approx(full.rho)


def test_an_experiment_needs_the_classifier():
    import dataclasses

    from core.training.config import EXPERIMENT_TRAIN, ExperimentConfig

    with pytest.raises(ValueError, match="objective"):
        ExperimentConfig(train=dataclasses.replace(EXPERIMENT_TRAIN, objective="cbow"))


def test_how_much_of_the_word2vec_start_the_task_keeps(skipgram_run):
    """Learned vs pretrained against the init: Jaccard@10 with the word2vec table is 1 at
    step 0 and below 1 once the classifier has trained."""
    from core.runs.views import comparison
    from core.training.trainer import train_run

    store, w2v, _ = skipgram_run
    run = train_run(labelled(3), TrainConfig(init=f"run:{w2v.run_id}", epochs=2), store)
    table = comparison(store, run.run_id, cached_only=False, against="init").snapshots
    assert table["mean_jaccard"].iloc[0] == pytest.approx(1.0)
    assert table["mean_jaccard"].iloc[-1] < 1.0


def test_plain_text_lines_train_word2vec_and_are_refused_for_a_classifier(tmp_path, capsys):
    """A .txt of one text per line (commas inside some lines) is a word2vec corpus; the
    classifier still needs labels and says so."""
    from core.cli import main

    data = tmp_path / "corpus.txt"
    data.write_text("".join(f"the {a} saw {b}, then went to the lake\n" if a == "cats" else
                            f"the {a} and the {b} went to the lake\n"
                            for a in ("cats", "dogs", "birds", "fish")
                            for b in ("mice", "owls", "frogs")), encoding="utf-8")
    store = str(tmp_path / "store")
    assert main(["train", str(data), "--store", store, "--objective", "cbow",
                 "--epochs", "1", "--quiet"]) == 0
    run = RunStore(store).list_runs()[0]
    assert run.status == "done" and run.info["classes"] == ["(no label)"]
    assert run.info["n_train"] + run.info["n_val"] == 12  # every line one text
    assert main(["train", str(data), "--store", store, "--epochs", "1", "--quiet"]) == 2
    assert "word2vec" in capsys.readouterr().err
