"""CLI contract of compare / export / project: JSON on the last stdout line, exit 2 on bad input."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.cli import main
from tests.conftest import REPO


def _run(argv, capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_compare_subprocess_contract(vector_run):
    store, run_id, vec = vector_run
    proc = subprocess.run(
        [sys.executable, "-m", "core", "compare", run_id, "--against", str(vec), "--k", "3",
         "--store", str(store.root)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    result = _last_json(proc.stdout)
    assert "snapshot 3/3" in proc.stderr
    first = result["snapshots"][0]
    assert first["mean_jaccard"] == pytest.approx(1.0) and first["cka"] == pytest.approx(1.0)
    assert len(result["snapshots"]) == 3
    for key in ("wordsim353_rho", "wordsim353_found", "simlex999_rho", "simlex999_found",
                "knn_learned", "knn_pretrained", "silhouette_learned",
                "silhouette_pretrained", "seconds"):
        assert key in first
    assert {"wordsim353", "simlex999", "knn", "silhouette"} <= set(result["pretrained"])


def test_compare_against_init(vector_run, capsys):
    store, run_id, _ = vector_run
    code, out, _ = _run(["compare", run_id, "--against", "init", "--k", "2", "--words", "10",
                         "--store", str(store.root)], capsys)
    assert code == 0 and _last_json(out)["snapshots"][0]["mean_jaccard"] == pytest.approx(1.0)
    updates = _last_json(out)["updates"]
    assert [u["snapshot"] for u in updates] == [0, 1, 2]
    assert updates[0]["words_updated"] == 0 and updates[0]["median_updates"] == 0
    assert 0 < updates[1]["words_updated"] <= updates[2]["words_updated"] <= 10


@pytest.mark.parametrize("fmt, names", [
    ("word2vec", ["vectors.w2v.txt"]),
    ("projector", ["vectors.tsv", "metadata.tsv"]),
    ("csv", ["words.csv"]),
], ids=["word2vec", "projector", "csv"])
def test_export_lists_written_files(vector_run, capsys, tmp_path, fmt, names):
    store, run_id, _ = vector_run
    code, out, _ = _run(["export", run_id, "--format", fmt, "--out", str(tmp_path / "x"),
                         "--snapshot", "1", "--store", str(store.root)], capsys)
    files = _last_json(out)["files"]
    assert code == 0 and [os.path.basename(f) for f in files] == names
    assert all(os.path.isfile(f) for f in files)


def test_project_pca_reports_trust_per_snapshot(vector_run, capsys):
    store, run_id, _ = vector_run
    code, out, _ = _run(["project", run_id, "--method", "pca", "--words", "10",
                         "--store", str(store.root)], capsys)
    result = _last_json(out)
    assert code == 0 and result["method"] == "pca:chained" and result["seconds"] >= 0
    assert [s["snapshot"] for s in result["snapshots"]] == [0, 1, 2]
    assert all(0 <= s["trustworthiness"] <= 1 for s in result["snapshots"])
    # the words projected (10 asked; never-seen ones may join) are fewer than the sample cap
    assert result["trust_sample"] == result["n_words"] >= 10
    previous = [s["trustworthiness_previous"] for s in result["snapshots"]]
    assert previous[0] is None and all(0 <= p <= 1 for p in previous[1:])


BAD = [
    (["compare", "20200101-000000-abcdef"], "does not exist"),
    (["compare", "not-a-run"], "not a valid run id"),
    (["compare", "{run}", "--k", "0"], "k must be"),
    (["compare", "{run}", "--k", "many"], "invalid int"),
    (["compare", "{run}", "--words", "3"], "n_words must be"),
    (["compare", "{run}", "--against", "/no/such/vectors.txt"], "no such file"),
    (["export", "{run}", "--format", "pickle", "--out", "{tmp}"], "invalid choice"),
    (["export", "{run}", "--format", "csv"], "--out"),
    (["export", "{run}", "--format", "word2vec", "--out", "{tmp}", "--snapshot", "9"],
     "snapshot must be"),
    (["export", "20200101-000000-abcdef", "--format", "csv", "--out", "{tmp}"],
     "does not exist"),
    (["project", "{run}", "--method", "tsne"], "invalid choice"),
    (["project", "{run}", "--method", "pca", "--words", "5"], "n_words must be"),
    (["project", "20200101-000000-abcdef", "--method", "pca"], "does not exist"),
]


@pytest.mark.parametrize("argv, message", BAD, ids=[
    "compare-unknown-run", "compare-bad-id", "compare-k-zero", "compare-k-not-int",
    "compare-few-words", "compare-missing-vectors", "export-bad-format", "export-no-out",
    "export-snapshot-past-end", "export-unknown-run", "project-bad-method",
    "project-few-words", "project-unknown-run"])
def test_bad_input_exits_2_with_one_line(vector_run, capsys, tmp_path, argv, message):
    store, run_id, _ = vector_run
    argv = [a.format(run=run_id, tmp=tmp_path / "o") for a in argv] + ["--store", str(store.root)]
    code, out, err = _run(argv, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err
    assert out == ""


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def _one_error_line(proc) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_export_over_an_earlier_export_needs_force(vector_run, tmp_path):
    store, run_id, _ = vector_run
    out = tmp_path / "out"
    args = ("export", run_id, "--format", "projector", "--out", out, "--store", store.root)
    assert _cli(*args).returncode == 0
    before = (out / "vectors.tsv").read_bytes()
    (out / "metadata.tsv").write_text("edited by hand")
    line = _one_error_line(_cli(*args))
    assert "--force" in line and "vectors.tsv, metadata.tsv" in line
    assert (out / "metadata.tsv").read_text() == "edited by hand"
    forced = _cli(*args, "--force")
    assert forced.returncode == 0, forced.stderr
    assert (out / "vectors.tsv").read_bytes() == before
    assert (out / "metadata.tsv").read_text().startswith("word\t")


def test_export_out_that_is_a_file_exits_2(vector_run, tmp_path):
    store, run_id, _ = vector_run
    target = tmp_path / "taken.csv"
    target.write_text("mine")
    line = _one_error_line(_cli("export", run_id, "--format", "word2vec", "--out", target,
                                "--store", store.root))
    assert "is a file, not a folder" in line and target.read_text() == "mine"


def test_coords_export_round_trips_the_evolution_layout(vector_run, capsys, tmp_path):
    """coords.csv holds one row per word and snapshot of the run's evolution layout, exactly
    the coordinates the Evolution view draws, and the JSON names the method."""
    import numpy as np
    import pandas as pd

    from core.runs import views

    store, run_id, _ = vector_run
    code, out, _ = _run(["export", run_id, "--format", "coords", "--out", str(tmp_path / "c"),
                         "--store", str(store.root)], capsys)
    result = _last_json(out)
    assert code == 0 and result["method"] == "pca:chained"  # no UMAP layout computed here
    table = pd.read_csv(result["files"][0], keep_default_na=False)
    assert list(table.columns) == ["word", "snapshot", "epoch", "x", "y"]
    evo = views.evolution(store, run_id, "pca")
    run = store.get_run(run_id)
    assert len(table) == len(evo.words) * run.n_snapshots
    last = table[table["snapshot"] == run.n_snapshots - 1]
    assert list(last["word"]) == list(evo.words)
    np.testing.assert_allclose(last[["x", "y"]].to_numpy(), evo.coords[-1], rtol=1e-6)
    assert sorted(set(table["epoch"])) == sorted({s["epoch"] for s in run.snapshots})
