"""How a run is named and summed up wherever it is listed (the dashboard's pickers and
tables, the command line): its given name or data set · init · arch · training size, its
best accuracy, its snapshots' labels. Reads ``RunInfo`` records only.

May import: ``core.store``."""
from __future__ import annotations

import time
from typing import Any

from core.store.datasets import experiment_of, job_dataset
from core.store.headline import headline

EXTERNAL_SOURCES = {"keras": "own Keras model", "pytorch": "own PyTorch model",
                    "lightning": "own Lightning model",
                    "import": "imported weights", "python": "own model"}


def when(timestamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp)) if timestamp else ""


def init_name(config: dict[str, Any]) -> str:
    """'random', 'glove', 'word2vec (cbow)', the vector file's name, or for a run recorded
    from outside the product (core.track) where it came from."""
    init = str(config.get("init", ""))
    source = config.get("source")
    if source in EXTERNAL_SOURCES:
        told = "" if init in ("", "unknown") else f", init {init.rsplit('/', 1)[-1]}"
        return EXTERNAL_SOURCES[source] + told
    if init == "word2vec":
        return f"word2vec ({config.get('w2v_algorithm', 'skipgram')})"
    if init in ("random", "glove"):
        return init
    if init.startswith("run:"):  # pretrained by another run of the store (run_init)
        return "from run " + init[4:]
    return "file: " + init.rsplit("/", 1)[-1]


def _share(x: float | None) -> str:
    return "" if x is None else f"{x:.1%}"


def best_accuracy(run) -> float | None:
    """The run's headline accuracy: that of its chosen epoch (``headline``, the number the
    Train page shows too); None when that epoch logged none."""
    return headline(run).get("accuracy")


def dataset_name(run, jobs: dict | None = None) -> str:
    """The name of the data set a run trained on (its experiment's for an experiment run);
    runs from before data sets were recorded say so."""
    dataset_id, name = job_dataset(run, jobs)
    return name or (f"data set {dataset_id[:8]}" if dataset_id else "data set not recorded")


def training_size(run) -> str:
    """How many texts the run trains on: measured once it started, else as configured."""
    n = run.info.get("n_train") or run.config.get("train_size")
    return f"{int(n):,}" if n else "all"


def run_name(run, jobs: dict | None = None) -> str:
    """The run's name: the one the user gave (info "name"), else data set · init · arch ·
    training size."""
    given = run.info.get("name")
    return str(given) if given else run_facts(run, jobs)


def run_facts(run, jobs: dict | None = None) -> str:
    """data set · init · arch · training size, leaving out what a run recorded from outside
    the product (core.track) does not know."""
    external = run.config.get("source") in EXTERNAL_SOURCES
    objective = run.config.get("objective", "classify")  # word2vec runs have no classifier
    facts = [dataset_name(run, jobs), init_name(run.config),
             run.config.get("arch") if objective == "classify" else f"word2vec {objective}",
             None if external and not run.info.get("n_train") else f"{training_size(run)} texts"]
    return " · ".join(str(f) for f in facts if f)


def run_summary(run, jobs: dict | None = None) -> str:
    """The run's given name (if any), then data set · init · arch · training size."""
    facts = run_facts(run, jobs)
    return f"{run.info['name']} — {facts}" if run.info.get("name") else facts


def run_label(run, jobs: dict | None = None, active: str | None = None) -> str:
    """One line naming a run in a picker: name, data set, init, arch, size, best accuracy,
    status and id (two runs never read the same)."""
    exp = experiment_of(run)
    return (f"{run_summary(run, jobs)} · best {_share(best_accuracy(run)) or '–'} · "
            f"{run.status} · {run.run_id}" + (f" · of experiment {exp}" if exp else "")
            + (" (active)" if run.run_id == active else ""))


def chosen_epoch(run) -> dict[str, Any]:
    """The Runs table's "best epoch" (the headline's) and the texts it was scored on."""
    said = headline(run)
    return {"best epoch": said.get("epoch"), "scored on": said.get("scored_on", "")}


def run_numbers(run, pretty: bool = False, jobs: dict | None = None) -> dict[str, Any]:
    """Key facts of a stored run (RunInfo) as a flat dict for tables; ``pretty`` gives text
    (percentages, seconds) for a side-by-side table of mixed rows; ``jobs`` (id -> job)
    lets an experiment's run name its experiment's data set."""
    cfg, info = run.config, run.info
    acc = [e["val_accuracy"] for e in run.epochs if e.get("val_accuracy") is not None]
    planned = cfg.get("epochs")  # a tracked run may not say how many it planned
    cov = info.get("pretrained_coverage") or {}
    out = {
        "run": run.run_id, "name": run_name(run, jobs), "data set": dataset_name(run, jobs),
        "status": run.status, "created": when(run.created),
        "init": init_name(cfg), "arch": cfg.get("arch"), "dim": info.get("dim", cfg.get("dim")),
        "objective": cfg.get("objective", "classify"),
        "training size": training_size(run),
        "frozen": bool(cfg.get("freeze")), "epochs": f"{len(run.epochs)}/{planned}" if planned else str(len(run.epochs)),
        "final val accuracy": acc[-1] if acc else None,
        "best val accuracy": best_accuracy(run), **chosen_epoch(run),
        "experiment": experiment_of(run) or "",
        "training texts": info.get("n_train"), "vocabulary": info.get("vocab_size"),
        "GloVe token coverage": cov.get("token_share"),
        "seconds": info.get("train_seconds"), "error": run.error or "",
    }
    if pretty:
        for key in ("final val accuracy", "best val accuracy", "GloVe token coverage"):
            out[key] = _share(out[key])
        if not acc and run.status not in ("queued", "running") and cfg.get("source"):
            out["final val accuracy"] = out["best val accuracy"] = "not recorded"
        out["seconds"] = "" if out["seconds"] is None else f"{out['seconds']:.1f} s"
        out = {k: "" if v is None else str(v) for k, v in out.items()}
    return out


def epoch_labels(run) -> list[str]:
    return ["start" if s["epoch"] == 0 and s["step"] == 0 else f"epoch {s['epoch']}"
            for s in run.snapshots]


def compare_default(runs: list, jobs: dict | None = None, active: str | None = None) -> list[str]:
    """The two runs a side-by-side comparison opens on: the active run (else the first of
    ``runs``, newest first) and the newest other run on the same data set; just the one when
    no other run shares its data (runs from before data sets were recorded pair with each
    other). Runs on different data sets are never paired by default."""
    if not runs:
        return []
    anchor = next((r for r in runs if r.run_id == active), runs[0])
    data = job_dataset(anchor, jobs)[0]
    other = next((r for r in runs if r.run_id != anchor.run_id
                  and job_dataset(r, jobs)[0] == data), None)
    return [anchor.run_id] + ([other.run_id] if other is not None else [])


def distinct_names(runs: list, jobs: dict | None = None) -> list[str]:
    """Each run's name, its id added where two of them would read the same."""
    names = [run_name(r, jobs) for r in runs]
    return [f"{n} ({r.run_id})" if names.count(n) > 1 else n for n, r in zip(names, runs)]
