"""The global patch of ``numba.njit``/``numba.jit`` (``umap_runtime.configure_numba_cache``):
it must still make a function compiled without ``cache=`` land in numba's disk cache. If a
numba release renames the decorators, stops taking ``cache=`` or caches elsewhere, this fails
(and the 30-60 s cold compile of umap in every new process would silently come back)."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

# A module numba can cache (a function from ``python -c`` has no file to key the cache on).
MODULE = '''
import numba

@numba.njit
def bare(x):
    return x + 1

@numba.jit(nopython=True)
def called(x):
    return x * 2
'''


def test_patched_decorators_write_numba_disk_cache(tmp_path):
    (tmp_path / "jitted.py").write_text(MODULE)
    cache = tmp_path / "numba-cache"
    code = (
        "import json, sys, numba; from core.analysis import umap_runtime; "
        f"umap_runtime.configure_numba_cache({str(cache)!r}); "
        f"sys.path.insert(0, {str(tmp_path)!r}); import jitted; "
        "print(json.dumps([jitted.bare(1), jitted.called(2), "
        "getattr(numba.njit, '_cached_by_default', False), "
        "getattr(numba.jit, '_cached_by_default', False)]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True)
    assert json.loads(out.stdout) == [2, 4, True, True]
    written = sorted(p.suffix for p in cache.rglob("*") if p.suffix in (".nbi", ".nbc"))
    assert ".nbi" in written and written.count(".nbc") == 2, (
        f"numba wrote no disk cache for functions decorated without cache=: {written}")
