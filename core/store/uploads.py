"""Word-vector files a user uploads (the Train and Experiments pages offer them as a start)
kept in the run store, ``<store>/vectors/<sha256 prefix><suffix>``: a queued worker reads the
file when it starts, maybe after a restart, so it cannot live in the system temp folder
(a temp cleanup or a reboot would break the job). Checked by ``core.vectors.pretrained``
(its caps; pickle formats refused) before anyone uses it."""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from core.common.files import atomic_write
from core.store.datasets import safe_suffix

if TYPE_CHECKING:
    from core.store.runstore import RunStore

FOLDER = "vectors"


def keep_vectors_file(store: RunStore, name: str, data: bytes) -> dict[str, Any]:
    """Store an uploaded vector file (once per content) and check it; returns its
    description (name, path, sha, words, dim). Raises ``VectorsError`` naming the upload
    when it is refused, and then keeps nothing."""
    from core.vectors.pretrained import load_vectors_file

    sha = hashlib.sha256(data).hexdigest()
    path = store.root / FOLDER / f"{sha[:24]}{safe_suffix(name)}"
    if not path.is_file():
        with store.disk_guard():
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, data)
    try:
        kv = load_vectors_file(path, display_name=name)  # messages name the upload
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return {"name": name, "path": str(path), "sha": sha, "words": len(kv),
            "dim": int(kv.vector_size)}
