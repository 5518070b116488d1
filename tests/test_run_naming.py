"""How runs are named wherever they are listed (core.runs.naming): tiny runs in a temp store."""
from __future__ import annotations

from core.runs import naming
from core.store.runstore import RunStore


def test_a_run_is_named_by_its_data_set_init_arch_and_size_until_given_a_name(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run({"arch": "bag", "init": "word2vec", "w2v_algorithm": "cbow",
                               "train_size": 50},
                              info={"dataset_id": "a" * 64, "dataset_name": "reviews"})
    run = store.get_run(run_id)
    assert naming.run_name(run) == "reviews · word2vec (cbow) · bag · 50 texts"
    store.update_info(run_id, name="baseline")
    run = store.get_run(run_id)
    assert naming.run_name(run) == "baseline"
    assert naming.run_summary(run) == "baseline — reviews · word2vec (cbow) · bag · 50 texts"
    label = naming.run_label(run, active=run_id)
    assert run_id in label and label.endswith("(active)") and "best –" in label


def test_a_tracked_run_says_where_it_came_from_and_leaves_out_what_it_does_not_know(tmp_path):
    store = RunStore(tmp_path)
    run = store.get_run(store.create_run({"source": "keras", "init": "/x/glove.txt"}))
    assert naming.init_name(run.config) == "own Keras model, init glove.txt"
    assert naming.run_facts(run) == "data set not recorded · own Keras model, init glove.txt"


def test_the_best_accuracy_is_at_the_best_epoch_and_numbers_read_as_text(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run({"arch": "cnn", "init": "random", "epochs": 3})
    for epoch, (loss, acc) in enumerate([(0.9, 0.6), (0.5, 0.7), (0.6, 0.8)], start=1):
        store.add_epoch(run_id, epoch, {"val_loss": loss, "val_accuracy": acc})
    run = store.get_run(run_id)
    assert naming.best_accuracy(run) == 0.7  # epoch 2: the lowest validation loss
    row = naming.run_numbers(run, pretty=True)
    assert (row["best val accuracy"], row["final val accuracy"]) == ("70.0%", "80.0%")
    assert row["epochs"] == "3/3" and row["init"] == "random"


def test_snapshots_are_labelled_by_their_epoch():
    class Run:
        snapshots = [{"epoch": 0, "step": 0}, {"epoch": 1, "step": 9}, {"epoch": 2, "step": 18}]
    assert naming.epoch_labels(Run()) == ["start", "epoch 1", "epoch 2"]
