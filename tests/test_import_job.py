"""Imports as jobs (issue 18) and the order of imported files (issue 19, point 8): the
dashboard queues an import, a worker reads the files, the job records progress, a failure's
one-line message or the new run; file names with numbers give the epochs."""
from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import save

from core.jobs import imports
from core.jobs.queue import import_dir
from core.jobs.workers import serve
from core.store.runstore import RunStore
from core.track.importing import import_files
from core.track.ordering import planned_labels
from tests.conftest import TEN_WORDS

WORDS = ["<pad>", "<unk>"] + TEN_WORDS


def _table(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(len(WORDS), 4)).astype(np.float32)


def _vocab() -> tuple[str, bytes]:
    return "vocab.txt", ("\n".join(WORDS) + "\n").encode()


def test_an_import_job_run_by_a_worker_makes_the_run(tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "start_worker", lambda *a, **k: None)  # served in-process
    store = RunStore(tmp_path / "store")
    uploads = [(f"epoch_{e}.safetensors", save({"embedding": _table(e)})) for e in (2, 1)]
    job_id = imports.submit_import(store, uploads, _vocab(), name="mine")
    assert store.get_job(job_id).status == "queued" and store.list_runs() == []
    [(done_id, kind, status)] = serve(store)
    job = store.get_job(job_id)
    assert (done_id, kind, status, job.status) == (job_id, "import", "done", "done")
    assert job.info["done"] == job.info["total"] == 2
    run = store.get_run(job.info["imported_run"])
    assert [s["epoch"] for s in run.snapshots] == [1, 2] and run.info["name"] == "mine"
    np.testing.assert_array_equal(store.load_snapshot(run.run_id, 0), _table(1))
    assert not (import_dir(store, job_id) / "files").exists()  # uploads removed


def test_a_refused_file_fails_the_job_with_its_message_and_stores_nothing(tmp_path,
                                                                         monkeypatch):
    monkeypatch.setattr(imports, "start_worker", lambda *a, **k: None)
    store = RunStore(tmp_path / "store")
    job_id = imports.submit_import(store, [("w.safetensors", b"not safetensors")], _vocab())
    serve(store)
    job = store.get_job(job_id)
    assert job.status == "failed" and job.error.startswith("w.safetensors: not a safetensors")
    assert store.list_runs() == [] and not (import_dir(store, job_id) / "files").exists()


def test_a_cancelled_import_job_leaves_no_run(tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "start_worker", lambda *a, **k: None)
    store = RunStore(tmp_path / "store")
    job_id = imports.submit_import(store, [("a.safetensors", save({"e": _table(0)}))], _vocab())
    with store.writing(job_id):
        assert store.start_job(job_id)
        status = imports.run_import(store, store.get_job(job_id), lambda: True)
    assert status == "cancelled" and store.get_job(job_id).status == "cancelled"
    assert store.list_runs() == []


def test_numbered_files_are_labelled_by_their_numbers(tmp_path):
    paths = []
    for e in (3, 1, 2):
        paths.append(tmp_path / f"epoch_{e}.safetensors")
        paths[-1].write_bytes(save({"embedding": _table(e)}))
    (tmp_path / "vocab.txt").write_text("\n".join(WORDS) + "\n")
    store = RunStore(tmp_path / "store")
    result = import_files(store, paths, vocab=tmp_path / "vocab.txt")
    assert result["labels"] == ["epoch 1", "epoch 2", "epoch 3"]
    assert result["files"] == ["epoch_1.safetensors", "epoch_2.safetensors", "epoch_3.safetensors"]
    run = store.get_run(result["run_id"])
    assert [s["epoch"] for s in run.snapshots] == [1, 2, 3]
    np.testing.assert_array_equal(store.load_snapshot(run.run_id, 2), _table(3))


def test_labels_follow_the_given_order_unless_every_name_has_its_own_number():
    assert planned_labels(["b.h5", "a.h5", "c.h5"]) == [
        ("b.h5", "start"), ("a.h5", "epoch 1"), ("c.h5", "epoch 2")]
    assert planned_labels(["m_10.h5", "m_2.h5", "final.h5"]) == [
        ("m_10.h5", "start"), ("m_2.h5", "epoch 1"), ("final.h5", "epoch 2")]
    assert planned_labels(["m_10.weights.h5", "m_2.weights.h5"]) == [
        ("m_2.weights.h5", "epoch 2"), ("m_10.weights.h5", "epoch 10")]
    assert planned_labels(["e_0.h5", "e_1.h5"]) == [("e_0.h5", "start"), ("e_1.h5", "epoch 1")]


def test_a_projector_tsv_decoding_past_the_budget_is_refused(tmp_path):
    """Text "0\\t" is 2 bytes a value, float32 4: a TSV within the byte cap may still decode
    past it; the rows are counted against the budget as they are read."""
    from core.errors import VectorsError
    from core.track.readers import Limits, read_table

    path = tmp_path / "vectors.tsv"
    path.write_bytes(("\t".join(["0"] * 50) + "\n").encode() * 8)  # 800 bytes, 1,600 decoded
    with pytest.raises(VectorsError, match=r"first 6 rows already decode to more than 1,000"):
        read_table(path, limits=Limits(max_bytes=1000))
    assert read_table(path, limits=Limits(max_bytes=2000)).matrix.shape == (8, 50)
