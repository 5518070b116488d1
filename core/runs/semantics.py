"""Probes over a stored run's snapshots: general semantics versus what the task taught.

* ``semantics_over_epochs``: per snapshot, WordSim353 / SimLex999 Spearman of the learned space
  (with coverage), mean Jaccard@k of nearest neighbours and linear CKA against a pretrained
  space, next to validation accuracy. The numbers come from ``core.runs.comparison.compare_run``
  (cached per run), so the dashboard and this table never disagree.
* ``pair_similarity_over_epochs``: cosine similarity of chosen word pairs per snapshot, with the
  GloVe cosine as a constant reference. A pair whose word the run has no (non-zero) row for is
  reported in ``missing``, not raised.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from core.analysis.measures import BENCHMARKS, benchmark_path, read_word_pairs
from core.data.text import SPECIALS
from core.store.runstore import RunStore

DEFAULT_PAIRS = (("alps", "himalayas"), ("good", "great"), ("bad", "awful"))


def semantics_over_epochs(store: RunStore, run_id: str, against: str = "glove", *,
                          k: int = 10, result=None) -> pd.DataFrame:
    """One row per snapshot: ``<bench>_rho``, ``<bench>_found``/``_total``/``_coverage`` for
    WordSim353 and SimLex999 in the learned space, the same benchmark on the same words in the
    reference space (``<bench>_rho_reference``, constant), ``jaccard_at_k`` and ``cka`` against
    the reference on the shared words, ``n_words`` and ``val_accuracy``. ``result``: the
    run's comparison already read (with these settings), else it is read (or computed)."""
    from core.runs.comparison import CompareConfig, compare_run

    if result is None:
        result = compare_run(store, run_id, CompareConfig(against=against, k=k))
    table = result.snapshots
    out = table[["snapshot", "epoch", "step", "val_accuracy"]].copy()
    for name in BENCHMARKS:
        found, total = table[f"{name}_found"], table[f"{name}_total"]
        out[f"{name}_rho"] = table[f"{name}_rho"]
        out[f"{name}_low"], out[f"{name}_high"] = table[f"{name}_low"], table[f"{name}_high"]
        out[f"{name}_found"], out[f"{name}_total"] = found, total
        out[f"{name}_coverage"] = np.where(total > 0, found / total.where(total > 0, 1), 0.0)
        out[f"{name}_rho_reference"] = result.reference[name]["rho"]
    out["jaccard_at_k"] = table["mean_jaccard"]
    out["cka"] = table["cka"]
    out["k"] = k
    out["n_words"] = table["n_words"]
    out["against"] = against
    return out.reset_index(drop=True)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(np.dot(a, b) / (na * nb)) if na > 0 and nb > 0 else float("nan")


def _glove_cosines(pairs: list[tuple[str, str]]) -> list[float]:
    from core.vectors import pretrained
    kv = pretrained.glove()
    return [float(kv.similarity(a, b)) if a in kv.key_to_index and b in kv.key_to_index
            else float("nan") for a, b in pairs]


def _check_pairs(pairs: Iterable) -> list[tuple[str, str]]:
    out = []
    for pair in pairs:
        if (not isinstance(pair, (tuple, list)) or len(pair) != 2
                or not all(isinstance(w, str) and w.strip() for w in pair)):
            raise ValueError(f"pairs: each pair must be two non-empty words, got {pair!r}")
        out.append((pair[0].strip().lower(), pair[1].strip().lower()))
    if not out:
        raise ValueError("pairs must name at least one pair of words")
    return out


def suggested_pairs(store: RunStore, run_id: str, n: int = 3) -> list[tuple[str, str]]:
    """Up to ``n`` benchmark pairs (``BENCHMARKS``) whose two words this run's vocabulary
    holds and training saw: the most similar ones by the human ratings, then the least
    similar, so the chart shows both ends. ``DEFAULT_PAIRS`` when none qualifies."""
    vocab = store.load_vocab(run_id)
    seen = {t for t, c in zip(vocab["token"].astype(str), vocab["train_count"])
            if c > 0 and t not in SPECIALS}
    found: dict[tuple[str, str], float] = {}
    for bench in BENCHMARKS:
        for a, b, score in read_word_pairs(benchmark_path(bench)):
            if a != b and a in seen and b in seen and (b, a) not in found:
                found.setdefault((a, b), score / 10.0)  # both rate 0-10
    if not found:
        return list(DEFAULT_PAIRS)
    ranked = sorted(found, key=lambda p: (-found[p], p))
    picks = ranked[: n - 1] + ranked[n - 1:][-1:] if len(ranked) > n else ranked[:n]
    return picks


def pair_similarity_over_epochs(store: RunStore, run_id: str,
                                pairs: Iterable = DEFAULT_PAIRS) -> pd.DataFrame:
    """One row per (snapshot, pair): ``cosine`` in the learned space, ``cosine_glove`` (the
    bundled GloVe, the same on every row), ``missing`` (words the run has no non-zero row for,
    comma-separated; "" when both are present), ``seen`` (both words occur in training)."""
    pairs = _check_pairs(pairs)
    run = store.get_run(run_id)
    vocab = store.load_vocab(run_id)
    index = {t: i for i, t in enumerate(vocab["token"].astype(str)) if t not in SPECIALS}
    train = vocab["train_count"].to_numpy()
    reference = _glove_cosines(pairs)
    rows = []
    for snap in run.snapshots:
        emb = store.load_snapshot(run_id, snap["idx"])
        acc = run.val_accuracy_at(snap)
        for (a, b), ref in zip(pairs, reference):
            missing = [w for w in (a, b) if w not in index or not np.any(emb[index[w]])]
            cos = float("nan") if missing else _cosine(
                np.asarray(emb[index[a]], dtype=np.float64),
                np.asarray(emb[index[b]], dtype=np.float64))
            seen = not missing and bool(train[index[a]] > 0 and train[index[b]] > 0)
            rows.append({"snapshot": snap["idx"], "epoch": snap["epoch"], "step": snap["step"],
                         "val_accuracy": acc, "word_a": a, "word_b": b, "cosine": cos,
                         "cosine_glove": ref, "missing": ",".join(missing), "seen": seen})
    return pd.DataFrame(rows, columns=["snapshot", "epoch", "step", "val_accuracy", "word_a",
                                       "word_b", "cosine", "cosine_glove", "missing", "seen"])
