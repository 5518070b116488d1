"""The engine's share of the run comparison: each snapshot's part (``core.runs.comparison``,
"parts") computed as the snapshot arrives, so a finished run's comparison is only assembled.
"""
from __future__ import annotations

from core.errors import ExplorerError
from core.runs import comparison as rc
from core.store.runstore import RunStore


def configs(store: RunStore, run_id: str) -> list[rc.CompareConfig]:
    """The comparisons the engine keeps for a run (the ones ``views.finalize`` computes)."""
    from core.runs.views import compares_with_init

    found = [rc.CompareConfig()]
    if compares_with_init(store, run_id):
        found.append(rc.CompareConfig(against="init"))
    return found


def extend(store: RunStore, run_id: str, idx: int) -> int:
    """The engine's step: the parts of every snapshot up to ``idx`` (the new one, and any an
    earlier pass missed); returns how many comparisons have them. A run the comparison
    refuses (e.g. too few words in GloVe) is left to ``finalize``, which records why."""
    snaps = store.get_run(run_id).snapshots  # once: each part_folder would read it again
    upto = [s["idx"] for s in snaps].index(idx) + 1
    done = 0
    for config in configs(store, run_id):
        try:
            for position in range(upto):
                rc.part_folder(store, run_id, config, position, snaps)
        except ExplorerError:
            continue
        done += 1
    return done
