"""Imports of saved weights as jobs: the dashboard never reads a user's weight file in its
own process. ``submit_import`` keeps the uploaded files in ``store.root/imports/<job id>/``
and queues a job of kind ``import``; a worker (``core.jobs.workers``) runs ``run_import``,
which calls ``core.track.importing.import_files`` with the job's cancel flag and records its
progress (files read of files given) and, when done, the new run's id in the job's info. A
refused file ends the job failed with the reader's one-line message and nothing else in the
store; the uploaded files are removed when the job ends, however it ends.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Callable, Sequence

from core.errors import CancelledError, ExplorerError
from core.jobs.queue import DEFAULT_MAX_JOBS, import_dir, start_worker
from core.store.runstore import RunInfo, RunStore, new_run_id

Upload = tuple[str, bytes]  # (the user's file name, its bytes)


def _safe_name(i: int, name: str) -> str:
    """An on-disk name keeping the upload's suffixes (the format is told by them)."""
    return f"{i:03d}-" + re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name)[-80:]


def submit_import(store: RunStore, uploads: Sequence[Upload], vocab: Upload | None = None,
                  tensor: str = "", name: str = "", max_jobs: int = DEFAULT_MAX_JOBS) -> str:
    """Keep the uploads in the store and queue their import; returns the job's id at once."""
    if not uploads:
        raise ExplorerError("no files to import")
    job_id = new_run_id()
    folder = import_dir(store, job_id) / "files"
    paths = [_safe_name(i, n) for i, (n, _) in enumerate(uploads)]
    vocab_path = _safe_name(len(uploads), vocab[0]) if vocab is not None else None
    with store.disk_guard():
        folder.mkdir(parents=True, exist_ok=True)
        for path, (_, data) in zip(paths, uploads):
            (folder / path).write_bytes(data)
        if vocab is not None:
            (folder / vocab_path).write_bytes(vocab[1])
    config = {"files": [n for n, _ in uploads], "paths": paths, "vocab": vocab_path,
              "tensor": tensor.strip(), "name": name.strip()}
    store.create_job("import", config, status="queued", label="import",
                     info={"worker": True, "done": 0, "total": len(uploads)}, job_id=job_id)
    start_worker(store, max_jobs)
    return job_id


def run_import(store: RunStore, job: RunInfo, should_stop: Callable[[], bool],
               callback=None) -> str:
    """The worker's body for an ``import`` job; returns its final status."""
    from core.track.importing import import_files

    cfg, folder = job.config, import_dir(store, job.run_id) / "files"
    try:
        result = import_files(
            store, [folder / p for p in cfg["paths"]],
            vocab=folder / cfg["vocab"] if cfg.get("vocab") else None,
            tensor=cfg.get("tensor") or None, name=cfg.get("name", ""),
            display_names=cfg["files"], should_stop=should_stop,
            on_file=lambda done, total: store.update_info(job.run_id, done=done, total=total))
    except CancelledError:
        store.set_status(job.run_id, "cancelled")
        return "cancelled"
    except ExplorerError as exc:  # the file's fault: its one-line message is the error
        store.set_status(job.run_id, "failed", error=str(exc))
        return "failed"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    store.update_info(job.run_id, result=result, imported_run=result["run_id"])
    store.set_status(job.run_id, "done")
    return "done"
