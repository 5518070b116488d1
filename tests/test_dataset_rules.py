"""The rules of choosing a data set and keeping uploads, in core so the CLI and the pages
share them (core.store.datasets.adopt, the bundled sample, core.store.uploads,
core.training.split.experiment_pool_size): tiny CSVs and vector files, temp stores."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.loading import LoadConfig, load_dataset
from core.errors import StoreError, VectorsError
from core.store import datasets
from core.store.runstore import RunStore
from core.store.uploads import keep_vectors_file
from core.training.config import ExperimentConfig
from core.training.split import experiment_pool_size, experiment_split
from tests.conftest import TWENTY_LINES


def csv_bytes() -> bytes:
    rows = [(t, lab, "x" if i % 2 else "y") for i, (t, lab) in enumerate(TWENTY_LINES)]
    return pd.DataFrame(rows, columns=["text", "label", "topic"]).to_csv(index=False).encode()


def read(data: bytes, label: str):
    return load_dataset(data, "mine.csv", LoadConfig(text_column="text", label_column=label))


def test_a_new_column_choice_replaces_an_unused_data_set_and_keeps_its_name(tmp_path):
    store, data = RunStore(tmp_path), csv_bytes()
    first = datasets.adopt(store, read(data, "label"), data, "mine.csv")
    datasets.rename(store, first.dataset_id, "my reviews")
    fixed = datasets.adopt(store, read(data, "topic"), data, "mine.csv", first.dataset_id)
    assert fixed.dataset_id != first.dataset_id and fixed.name == "my reviews"
    assert [r.dataset_id for r in datasets.list_datasets(store)] == [fixed.dataset_id]


def test_a_data_set_a_run_trained_on_is_kept(tmp_path):
    store, data = RunStore(tmp_path), csv_bytes()
    first = datasets.adopt(store, read(data, "label"), data, "mine.csv")
    store.create_run({"arch": "bag"}, info={"dataset_id": first.dataset_id}, status="done")
    fixed = datasets.adopt(store, read(data, "topic"), data, "mine.csv", first.dataset_id)
    assert {r.dataset_id for r in datasets.list_datasets(store)} == {first.dataset_id,
                                                                       fixed.dataset_id}


def test_another_file_never_replaces_the_previous_choice(tmp_path):
    store, data = RunStore(tmp_path), csv_bytes()
    first = datasets.adopt(store, read(data, "label"), data, "mine.csv")
    other = data.replace(b"great", b"grand")  # another file: other texts
    second = datasets.adopt(store, read(other, "label"), other, "other.csv", first.dataset_id)
    assert second.name == "other.csv"
    assert len(datasets.list_datasets(store)) == 2


def test_adopting_the_chosen_data_set_again_registers_it_only_if_it_was_deleted(tmp_path):
    store, data = RunStore(tmp_path), csv_bytes()
    dataset = read(data, "label")
    first = datasets.adopt(store, dataset, data, "mine.csv")
    assert datasets.adopt(store, dataset, data, "mine.csv", first.dataset_id) == first
    datasets.delete(store, first.dataset_id)  # another tab deleted it
    again = datasets.adopt(store, dataset, data, "mine.csv", first.dataset_id)
    assert datasets.get(store, again.dataset_id).dataset_id == first.dataset_id


def test_the_bundled_sample_is_registered_as_such_and_never_deleted_or_replaced(tmp_path):
    store = RunStore(tmp_path)
    dataset, data = datasets.sample()
    record = datasets.adopt(store, dataset, data, "copy-of-sample.csv")  # even as an upload
    assert record.bundled and record.dataset_id == datasets.sample_id()
    with pytest.raises(StoreError, match="cannot be deleted"):
        datasets.delete(store, record.dataset_id)
    other = load_dataset(data, "sample.csv", LoadConfig(text_column="text",
                                                        label_column="label"))
    if other.fingerprint() != record.dataset_id:  # other columns of the same file
        datasets.adopt(store, other, data, "sample.csv", record.dataset_id)
    assert datasets.get(store, record.dataset_id).bundled  # still there


def test_a_sample_registered_without_its_flag_still_cannot_be_deleted(tmp_path):
    store = RunStore(tmp_path)
    dataset, data = datasets.sample()
    record = datasets.register(store, dataset, data, "sample.csv")  # e.g. `core train`
    assert not record.bundled
    with pytest.raises(StoreError, match="cannot be deleted"):
        datasets.delete(store, record.dataset_id)


def test_ensure_sample_registers_it_once(tmp_path):
    store = RunStore(tmp_path)
    datasets.ensure_sample(store)
    datasets.ensure_sample(store)
    [record] = datasets.list_datasets(store)
    assert record.bundled and record.dataset_id == datasets.sample_id()


def test_the_experiment_pool_is_what_an_experiment_trains_from():
    labels = np.array([0, 1] * 30)
    config = ExperimentConfig()
    pool, val = experiment_split(labels, config)
    assert experiment_pool_size(labels) == len(pool) == 60 - len(val)
    assert not set(pool) & set(val) and len(val) > 0


def test_an_uploaded_vector_file_is_kept_in_the_store(tmp_path):
    store = RunStore(tmp_path / "runs")
    data = b"2 3\ngood 0.1 0.2 0.3\nbad -0.1 -0.2 -0.3\n"
    described = keep_vectors_file(store, "mine.vec", data)
    path = tmp_path / "runs" / "vectors" / described["path"].rsplit("/", 1)[-1]
    assert described["path"] == str(path) and path.read_bytes() == data
    assert (described["words"], described["dim"]) == (2, 3)
    assert keep_vectors_file(store, "again.vec", data)["path"] == described["path"]


def test_a_refused_vector_file_is_not_kept(tmp_path):
    store = RunStore(tmp_path / "runs")
    with pytest.raises(VectorsError, match="mine.pkl"):
        keep_vectors_file(store, "mine.pkl", b"\x80\x04pickle")
    assert not list((tmp_path / "runs" / "vectors").iterdir())
